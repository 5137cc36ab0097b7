"""The web worker gunicorn runs (``docker/gunicorn.conf.py``): gthread that bounds the requests and
the age of one keep-alive connection, so connections opened together spread over the workers again."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sequencer_project.gunicorn_worker import (
    DEFAULT_KEEPALIVE_MAX_AGE_SECONDS,
    DEFAULT_KEEPALIVE_REQUESTS,
    keepalive_max_age,
    keepalive_requests,
)
from tests.sequencer_project.ops_helpers import ROOT, serving_gunicorn

WORKER = "sequencer_project.gunicorn_worker.RebalancingThreadWorker"


def _conf_worker_class(env: dict[str, str]) -> str:
    script = "import runpy; print(runpy.run_path('docker/gunicorn.conf.py')['worker_class'])"
    out = subprocess.run(  # noqa: S603  (our interpreter, our script)
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return out.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("threads", "named", "expected"),
    [("8", None, WORKER), ("2", "", WORKER), ("1", None, "sync"), ("8", "gthread", "gthread")],
)
def test_the_configuration_runs_the_rebalancing_worker_whenever_there_are_threads(
    threads: str, named: str | None, expected: str
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "WEB_WORKER_CLASS"}
    env["WEB_THREADS"] = threads
    if named is not None:
        env["WEB_WORKER_CLASS"] = named

    assert _conf_worker_class(env) == expected


@pytest.mark.parametrize(("raw", "value"), [(None, DEFAULT_KEEPALIVE_REQUESTS), ("1", 1), ("250", 250)])
def test_keepalive_requests_reads_the_environment(raw: str | None, value: int) -> None:
    environ = {} if raw is None else {"WEB_KEEPALIVE_REQUESTS": raw}

    assert keepalive_requests(environ) == value


@pytest.mark.parametrize("raw", ["0", "-3", "ten", "1.5", ""])
def test_keepalive_requests_refuses_what_is_not_a_positive_whole_number(raw: str) -> None:
    with pytest.raises(ValueError, match="WEB_KEEPALIVE_REQUESTS"):
        keepalive_requests({"WEB_KEEPALIVE_REQUESTS": raw})


@pytest.mark.parametrize(("raw", "value"), [(None, DEFAULT_KEEPALIVE_MAX_AGE_SECONDS), ("0.25", 0.25), ("30", 30.0)])
def test_keepalive_max_age_reads_the_environment(raw: str | None, value: float) -> None:
    environ = {} if raw is None else {"WEB_KEEPALIVE_MAX_AGE_SECONDS": raw}

    assert keepalive_max_age(environ) == value


@pytest.mark.parametrize("raw", ["0", "-1", "nan", "inf", "soon", ""])
def test_keepalive_max_age_refuses_what_is_not_a_positive_finite_number(raw: str) -> None:
    with pytest.raises(ValueError, match="WEB_KEEPALIVE_MAX_AGE_SECONDS"):
        keepalive_max_age({"WEB_KEEPALIVE_MAX_AGE_SECONDS": raw})


def _read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response read from ``sock``: a Content-Length body, or a chunked one (raw)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before a response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}

    def complete() -> bool:
        if headers.get("transfer-encoding") == "chunked":
            return body.endswith(b"0\r\n\r\n")
        return len(body) >= int(headers["content-length"])

    while not complete():
        chunk = sock.recv(65536)
        assert chunk, "connection closed inside a body"
        body += chunk
    return int(status_line.split()[1]), headers, body


@contextlib.contextmanager
def _serving(tmp_path: Path, **settings: str) -> Iterator[tuple[socket.socket, bytes, Path]]:
    """gunicorn as deployed, one worker, ``settings`` in its environment: a connected socket, a
    ``GET /health`` request to send on it, and the server's log."""
    with serving_gunicorn(tmp_path, WEB_WORKERS="1", WEB_THREADS="2", DB_POOL_MAX_SIZE="3", **settings) as (port, log):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        with sock:
            yield sock, f"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode(), log


def _connection_headers(sock: socket.socket, request: bytes, count: int) -> list[str]:
    """The ``Connection`` header of ``count`` answers on ``sock``, one after the other (each a 200)."""
    seen = []
    for _ in range(count):
        sock.sendall(request)
        status, headers, _ = _read_response(sock)
        assert status == 200
        seen.append(headers.get("connection", "").lower())
    return seen


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_a_connection_is_closed_after_its_last_allowed_request(tmp_path: Path) -> None:
    """Under the real server: with WEB_KEEPALIVE_REQUESTS=3, requests 1 and 2 of a connection
    keep it open, request 3 is answered in full with ``Connection: close`` and the server then
    closes the socket; a new connection is served again."""
    with _serving(tmp_path, WEB_KEEPALIVE_REQUESTS="3", WEB_KEEPALIVE_MAX_AGE_SECONDS="60") as (sock, request, log):
        assert _connection_headers(sock, request, 3) == ["keep-alive", "keep-alive", "close"]
        assert sock.recv(1) == b""  # the server closed the connection after the third answer
        with socket.create_connection(sock.getpeername(), timeout=10) as again:
            assert _connection_headers(again, request, 1) == ["keep-alive"]
        assert f"Using worker: {WORKER}" in log.read_text()


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_a_connection_is_closed_at_its_first_request_past_its_age(tmp_path: Path) -> None:
    """A connection of few requests ends too: with WEB_KEEPALIVE_MAX_AGE_SECONDS=0.5, a request
    0.7 s after the first is answered with ``Connection: close``, far below the request count."""
    settings = {"WEB_KEEPALIVE_REQUESTS": "1000", "WEB_KEEPALIVE_MAX_AGE_SECONDS": "0.5"}
    with _serving(tmp_path, **settings) as (sock, request, _):
        assert _connection_headers(sock, request, 2) == ["keep-alive", "keep-alive"]  # at once
        time.sleep(0.7)
        assert _connection_headers(sock, request, 1) == ["close"]
        assert sock.recv(1) == b""
