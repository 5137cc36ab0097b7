"""``LOG_FORMAT=json``: one JSON object per line, with the request id."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from pathlib import Path

import environ
import orjson
from environ.fileaware_mapping import FileAwareMapping

_DEFAULT_DOTENV = Path(__file__).resolve().parent.parent / ".env"  # as settings.py's


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
            "process": record.process,
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class ClientErrorTracebackFilter(logging.Filter):
    """Keep the line, drop the traceback, of a request Django answered 4xx.

    Django logs a refused request with the exception that refused it (``PermissionDenied`` for
    a 403 of the admin, ``DisallowedHost`` for a foreign ``Host``), so every operator without a
    permission and every probe with another name wrote a full traceback: a log where a
    traceback should mean a fault. The status, path and reason stay; a 5xx keeps its traceback.

    A foreign ``Host`` is also logged one level lower, WARNING: Django's security logger writes
    it at ERROR, so any client, with no credential, could write ERROR lines.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and 400 <= status < 500 and record.exc_info:
            record.exc_info = None
            record.exc_text = None
        if record.name == "django.security.DisallowedHost" and record.levelno > logging.WARNING:
            record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
        return True


def configured_log_format() -> str:
    """``LOG_FORMAT`` as ``settings.py`` reads it, without loading the settings: the environment
    (``LOG_FORMAT_FILE`` included), else the dotenv file (``SEQUENCER_DOTENV``, by default the
    checkout's ``.env``), else ``plain``. For gunicorn's master, which formats its own lines
    (``docker/gunicorn.conf.py``) before any worker has read the settings; ``os.environ`` is
    left as it is."""

    class _Peek(environ.FileAwareEnv):  # type: ignore[misc]  # django-environ has no type hints
        ENVIRON = FileAwareMapping(env=dict(os.environ))

    dotenv = os.environ.get("SEQUENCER_DOTENV", str(_DEFAULT_DOTENV))
    if dotenv:
        _Peek.read_env(dotenv, overwrite=False)
    # Without the white space around it, as the settings read it (a secret file ends in a newline).
    return str(_Peek().str("LOG_FORMAT", default="plain")).strip()
