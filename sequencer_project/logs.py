"""``LOG_FORMAT=json``: one JSON object per line, with the request id."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import orjson


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
    """

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and 400 <= status < 500 and record.exc_info:
            record.exc_info = None
            record.exc_text = None
        return True
