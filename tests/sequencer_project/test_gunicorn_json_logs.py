"""``LOG_FORMAT=json`` covers gunicorn's own lines too (docs/operations.md, "HTTP hardening and
logs": one JSON object per line): boot, a request gunicorn refuses, a worker timeout, shutdown,
and the access log. They stayed gunicorn's plain text while the application's lines were JSON
(``docker/gunicorn.conf.py``'s ``JsonLogger`` now formats them with the application's formatter).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from sequencer_project.logs import configured_log_format
from tests.sequencer_project.ops_helpers import ROOT, free_port, server_env, wait_until_serving


def _json_lines(path: Path) -> list[dict[str, Any]]:
    """Every line of ``path`` as a JSON object; fails naming the first line that is not one."""
    entries = []
    for line in path.read_text().splitlines():
        try:
            entry = orjson.loads(line)
        except orjson.JSONDecodeError:
            pytest.fail(f"not a JSON line in {path.name}: {line!r}\n{path.read_text()[-3000:]}")
        assert isinstance(entry, dict), line
        assert {"ts", "level", "logger", "message", "request_id", "process"} <= entry.keys(), line
        entries.append(entry)
    return entries


def _wait_for(path: Path, found: Callable[[list[str]], bool], timeout: float = 30) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = path.read_text()
        # Only whole lines: one still being written is read again next time round. Every line is
        # checked at the end.
        lines = text[: text.rfind("\n") + 1].splitlines()
        if found(lines):
            return lines
        time.sleep(0.1)
    raise AssertionError(f"not logged in time:\n{path.read_text()[-3000:]}")


def _json_line(line: str) -> dict[str, Any]:
    try:
        entry = orjson.loads(line)
    except orjson.JSONDecodeError:
        pytest.fail(f"not a JSON line: {line!r}")
    assert isinstance(entry, dict), line
    return entry


def _booted_workers(lines: list[str]) -> list[int]:
    return [
        int(entry["message"].rsplit(" ", 1)[1])
        for entry in map(_json_line, lines)
        if entry["message"].startswith("Booting worker with pid: ")
    ]


def _send_raw(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        return sock.recv(4096)


@pytest.mark.django_db(transaction=True)
def test_every_line_gunicorn_writes_is_json_under_log_format_json(tmp_path: Path) -> None:
    port = free_port()
    stderr, stdout = tmp_path / "stderr.log", tmp_path / "stdout.log"
    env = server_env(
        port,
        LOG_FORMAT="json",
        WEB_WORKERS="1",
        # The stopped worker below times out after this; a booting worker must fit in it, under a
        # CI run's load too.
        WEB_TIMEOUT="8",
        WEB_ACCESS_LOG="-",  # the access log, on stdout
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
    )
    env.pop("WEB_WORKER_CLASS", None)
    with stderr.open("wb") as err, stdout.open("wb") as out:
        server = subprocess.Popen(  # this interpreter's gunicorn, the deployed configuration
            [sys.executable, "-m", "gunicorn", "-c", "docker/gunicorn.conf.py", "sequencer_project.wsgi"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, server, stderr)
        # A request line gunicorn itself refuses ("Invalid request from ip=...").
        assert _send_raw(port, b"GARBAGE\r\n\r\n").startswith(b"HTTP/1.1 400")
        # Lines of the application, with the request's id.
        assert httpx.get(f"{base}/api/v1/no-such-endpoint", headers={"X-Request-ID": "req-json-404"}).status_code == 404
        refused = httpx.get(f"{base}/nope", headers={"Host": "evil.example", "X-Request-ID": "req-json-host"})
        assert refused.status_code == 400
        # A worker that stops answering its heartbeat: gunicorn's timeout, abort and kill lines.
        [worker] = _booted_workers(_wait_for(stderr, lambda lines: len(_booted_workers(lines)) == 1))
        os.kill(worker, signal.SIGSTOP)
        _wait_for(stderr, lambda lines: len(_booted_workers(lines)) == 2)
        wait_until_serving(base, server, stderr)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=40)

    errors = _json_lines(stderr)
    messages = [entry["message"] for entry in errors]
    for expected in (
        "Starting gunicorn",
        "Listening at: ",
        "Booting worker with pid: ",
        "Invalid request from ip=127.0.0.1",
        "WORKER TIMEOUT (pid:",
        "Handling signal: term",
        "Shutting down: Master",
    ):
        assert any(message.startswith(expected) for message in messages), (expected, messages)
    loggers = {entry["logger"] for entry in errors}
    assert loggers >= {"gunicorn.error", "django.request", "django.security.DisallowedHost"}
    by_id = {entry["request_id"]: entry for entry in errors if entry["logger"].startswith("django.")}
    assert by_id["req-json-404"]["message"] == "Not Found: /api/v1/no-such-endpoint"
    assert by_id["req-json-host"]["logger"] == "django.security.DisallowedHost"
    access = _json_lines(stdout)
    assert access, "no access line"
    assert {entry["logger"] for entry in access} == {"gunicorn.access"}
    assert any('"GET /api/v1/no-such-endpoint HTTP/1.1" 404' in entry["message"] for entry in access)


def _configured_logger(tmp_path: Path, **env: str) -> str:
    """The ``logger_class`` ``docker/gunicorn.conf.py`` sets in a fresh interpreter with ``env``."""
    inherited = {name: value for name, value in os.environ.items() if name != "LOG_FORMAT"}
    child_env = {**inherited, "SEQUENCER_DOTENV": "", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"), **env}
    code = (
        "import runpy; c = runpy.run_path('docker/gunicorn.conf.py');"
        " print(getattr(c.get('logger_class'), '__name__', 'gunicorn default'))"
    )
    done = subprocess.run(  # noqa: S603  (this interpreter, fixed code)
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=child_env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


def test_gunicorn_keeps_its_own_format_under_log_format_plain(tmp_path: Path) -> None:
    assert _configured_logger(tmp_path) == "gunicorn default"
    assert _configured_logger(tmp_path, LOG_FORMAT="plain") == "gunicorn default"
    assert _configured_logger(tmp_path, LOG_FORMAT="json") == "JsonLogger"


def test_log_format_json_in_the_dotenv_file_reaches_gunicorn_as_it_reaches_the_settings(tmp_path: Path) -> None:
    """``make run`` keeps its settings in ``.env``, which the settings read and gunicorn's
    master did not: there the application's lines were JSON and gunicorn's plain."""
    dotenv = tmp_path / ".env"
    dotenv.write_text("LOG_FORMAT=json\n")

    assert _configured_logger(tmp_path, SEQUENCER_DOTENV=str(dotenv)) == "JsonLogger"
    # The environment wins over the file, as in the settings.
    assert _configured_logger(tmp_path, SEQUENCER_DOTENV=str(dotenv), LOG_FORMAT="plain") == "gunicorn default"


def test_log_format_from_a_file_with_its_newline_reads_as_the_settings_read_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The master's format and the workers' must agree: "json\n" from a secret file was not "json".
    written = tmp_path / "log_format"
    written.write_text("json\n")
    monkeypatch.delenv("LOG_FORMAT", raising=False)
    monkeypatch.setenv("LOG_FORMAT_FILE", str(written))
    monkeypatch.setenv("SEQUENCER_DOTENV", "")
    assert configured_log_format() == "json"
