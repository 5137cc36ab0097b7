"""The web worker gunicorn runs (``docker/gunicorn.conf.py``): gthread that bounds the requests and
the age of one keep-alive connection, so connections opened together spread over the workers again."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import httpx
import pytest

from sequencer_project.gunicorn_worker import (
    DEFAULT_CONNECTION_LINGER_SECONDS,
    DEFAULT_KEEPALIVE_MAX_AGE_SECONDS,
    DEFAULT_KEEPALIVE_REQUESTS,
    connection_linger,
    keepalive_max_age,
    keepalive_requests,
)
from tests.sequencer_project.ops_helpers import ROOT, serving_gunicorn

WORKER = "sequencer_project.gunicorn_worker.RebalancingThreadWorker"
ADMIN = {"Authorization": "ApiKey test-bootstrap-admin"}


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


_SETTINGS: dict[str, Callable[[Mapping[str, str]], float]] = {
    "WEB_KEEPALIVE_REQUESTS": keepalive_requests,
    "WEB_KEEPALIVE_MAX_AGE_SECONDS": keepalive_max_age,
    "WEB_CONNECTION_LINGER_SECONDS": connection_linger,
}


@pytest.mark.parametrize(
    ("name", "raw", "value"),
    [
        ("WEB_KEEPALIVE_REQUESTS", None, DEFAULT_KEEPALIVE_REQUESTS),
        ("WEB_KEEPALIVE_REQUESTS", "1", 1),
        ("WEB_KEEPALIVE_REQUESTS", "250", 250),
        ("WEB_KEEPALIVE_MAX_AGE_SECONDS", None, DEFAULT_KEEPALIVE_MAX_AGE_SECONDS),
        ("WEB_KEEPALIVE_MAX_AGE_SECONDS", "0.25", 0.25),
        ("WEB_KEEPALIVE_MAX_AGE_SECONDS", "30", 30.0),
        ("WEB_CONNECTION_LINGER_SECONDS", None, DEFAULT_CONNECTION_LINGER_SECONDS),
        ("WEB_CONNECTION_LINGER_SECONDS", "0", 0.0),
        ("WEB_CONNECTION_LINGER_SECONDS", "0.01", 0.01),
    ],
)
def test_the_worker_settings_read_the_environment(name: str, raw: str | None, value: float) -> None:
    environ = {} if raw is None else {name: raw}

    assert _SETTINGS[name](environ) == value


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        *(("WEB_KEEPALIVE_REQUESTS", raw) for raw in ["0", "-3", "ten", "1.5", ""]),  # positive whole numbers
        *(("WEB_KEEPALIVE_MAX_AGE_SECONDS", raw) for raw in ["0", "-1", "nan", "inf", "soon", ""]),  # positive
        *(("WEB_CONNECTION_LINGER_SECONDS", raw) for raw in ["-0.001", "nan", "inf", "soon", ""]),  # from zero
    ],
)
def test_the_worker_settings_refuse_what_is_out_of_range(name: str, raw: str) -> None:
    with pytest.raises(ValueError, match=name):
        _SETTINGS[name]({name: raw})


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


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
@pytest.mark.parametrize(
    ("linger", "pause_before", "kept"),
    [("0.5", None, 9), ("0", None, 0), ("0.05", 6, 8)],
    ids=["next-request-at-once", "linger-off", "idle-gap-goes-to-the-poller"],
)
def test_a_thread_serves_the_next_request_of_its_connection_when_it_comes_at_once(
    tmp_path: Path, linger: str, pause_before: int | None, kept: int
) -> None:
    """Ten requests on one connection, each sent as soon as the last is answered: the thread that
    answered one reads the next itself (``web_requests_kept_total``: all but the first). With the
    linger off every request goes through the main thread's poller, as in gthread; a pause longer
    than the linger hands the connection back, and the request after it is served all the same."""
    settings = {"WEB_CONNECTION_LINGER_SECONDS": linger, "WEB_KEEPALIVE_MAX_AGE_SECONDS": "60"}
    with _serving(tmp_path, **settings) as (sock, request, _):
        answers = []
        for number in range(1, 11):
            if number == pause_before:
                time.sleep(0.3)
            answers += _connection_headers(sock, request, 1)
        port = sock.getpeername()[1]
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", headers=ADMIN, timeout=30).text

    assert answers == ["keep-alive"] * 10
    assert re.findall(r"^web_requests_kept_total (\S+)$", metrics, re.MULTILINE) == [f"{kept:.1f}"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_threads_waiting_on_their_connections_leave_a_third_connection_served(tmp_path: Path) -> None:
    """Two threads, three connections taking turns: while both threads wait on the connections
    they answered, the third connection's request waits in the poller and is served when a
    linger ends, every time."""
    settings = {"WEB_CONNECTION_LINGER_SECONDS": "0.2", "WEB_KEEPALIVE_MAX_AGE_SECONDS": "60"}
    with _serving(tmp_path, **settings) as (first, request, _):
        address = first.getpeername()
        with (
            socket.create_connection(address, timeout=10) as second,
            socket.create_connection(address, timeout=10) as third,
        ):
            answers = [_connection_headers(sock, request, 1)[0] for _ in range(4) for sock in (first, second, third)]

    assert answers == ["keep-alive"] * 12


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_a_busy_connection_gives_its_thread_up_while_another_request_waits(tmp_path: Path) -> None:
    """Two threads kept busy by two connections that send request after request: a third
    connection's request is served at their next request boundary, not after they are done."""
    settings = {
        "WEB_CONNECTION_LINGER_SECONDS": "0.5",
        "WEB_KEEPALIVE_MAX_AGE_SECONDS": "60",
        "WEB_KEEPALIVE_REQUESTS": "10000",
    }
    with _serving(tmp_path, **settings) as (first, request, _):
        address = first.getpeername()
        answered = {"first": 0, "second": 0}

        def busy(name: str, sock: socket.socket) -> None:
            for _ in range(500):
                _connection_headers(sock, request, 1)
                answered[name] += 1

        with socket.create_connection(address, timeout=10) as second:
            workers = [threading.Thread(target=busy, args=item) for item in (("first", first), ("second", second))]
            for worker in workers:
                worker.start()
            while min(answered.values()) < 5:
                time.sleep(0.001)
            with socket.create_connection(address, timeout=10) as third:
                assert _connection_headers(third, request, 1) == ["keep-alive"]
                seen_then = dict(answered)
            for worker in workers:
                worker.join()

    assert max(seen_then.values()) < 500, seen_then
    assert answered == {"first": 500, "second": 500}
