"""Slow clients under the real server (``docker/gunicorn.conf.py``, ``RebalancingThreadWorker``):
a thread waits a bounded time for a request's bytes, and a closed connection's client is awaited
on the poller, not by the worker's main thread.

Before the bounds, 16 sockets each sending half a header block (or a body shorter than its
``Content-Length``) held all 16 threads of a 2 x 8 deployment for minutes; each client that kept
its socket open after a ``Connection: close`` answer stopped its worker for 2 s. The server here
runs one worker of two threads with a 1 s read timeout and a 2 s header deadline.
"""

from __future__ import annotations

import contextlib
import re
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from sequencer_project.gunicorn_worker import (
    DEFAULT_QUEUE_TIMEOUT_SECONDS,
    DEFAULT_REQUEST_HEADERS_TIMEOUT_SECONDS,
    DEFAULT_REQUEST_READ_TIMEOUT_SECONDS,
    queue_timeout,
    request_headers_timeout,
    request_read_timeout,
)
from tests.sequencer_project.ops_helpers import serving_gunicorn

ADMIN = b"Authorization: ApiKey test-bootstrap-admin\r\n"
BOUNDS = {"WEB_REQUEST_READ_TIMEOUT_SECONDS": "1", "WEB_REQUEST_HEADERS_TIMEOUT_SECONDS": "2"}
HALF_A_HEADER_BLOCK = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n"  # no empty line after it


@pytest.mark.parametrize(
    ("reader", "name", "raw", "value"),
    [
        (request_read_timeout, "WEB_REQUEST_READ_TIMEOUT_SECONDS", None, DEFAULT_REQUEST_READ_TIMEOUT_SECONDS),
        (request_read_timeout, "WEB_REQUEST_READ_TIMEOUT_SECONDS", "0.5", 0.5),
        (request_headers_timeout, "WEB_REQUEST_HEADERS_TIMEOUT_SECONDS", None, DEFAULT_REQUEST_HEADERS_TIMEOUT_SECONDS),
        (request_headers_timeout, "WEB_REQUEST_HEADERS_TIMEOUT_SECONDS", "30", 30.0),
    ],
)
def test_the_bounds_read_the_environment(reader: object, name: str, raw: str | None, value: float) -> None:
    assert callable(reader)
    assert reader({} if raw is None else {name: raw}) == value


@pytest.mark.parametrize(("raw", "value"), [(None, DEFAULT_QUEUE_TIMEOUT_SECONDS), ("0", 0.0), ("2.5", 2.5)])
def test_the_queue_timeout_reads_the_environment_and_zero_turns_it_off(raw: str | None, value: float) -> None:
    assert queue_timeout({} if raw is None else {"WEB_QUEUE_TIMEOUT_SECONDS": raw}) == value


@pytest.mark.parametrize("raw", ["-1", "nan", "inf", "soon", ""])
def test_the_queue_timeout_refuses_what_is_not_a_finite_number_of_seconds(raw: str) -> None:
    with pytest.raises(ValueError, match="WEB_QUEUE_TIMEOUT_SECONDS"):
        queue_timeout({"WEB_QUEUE_TIMEOUT_SECONDS": raw})


@pytest.mark.parametrize("raw", ["0", "-1", "nan", "inf", "soon", ""])
@pytest.mark.parametrize("name", ["WEB_REQUEST_READ_TIMEOUT_SECONDS", "WEB_REQUEST_HEADERS_TIMEOUT_SECONDS"])
def test_the_bounds_refuse_what_is_not_a_positive_finite_number(name: str, raw: str) -> None:
    reader = request_read_timeout if name == "WEB_REQUEST_READ_TIMEOUT_SECONDS" else request_headers_timeout
    with pytest.raises(ValueError, match=name):
        reader({name: raw})


@contextlib.contextmanager
def _server(tmp_path: Path, **settings: str) -> Iterator[tuple[int, Path]]:
    with serving_gunicorn(tmp_path, WEB_WORKERS="1", WEB_THREADS="2", DB_POOL_MAX_SIZE="3", **BOUNDS, **settings) as (
        port,
        log,
    ):
        yield port, log


def _connect(port: int, first: bytes = b"") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=15)
    if first:
        sock.sendall(first)
    return sock


def _until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends on ``sock`` until it closes the connection (15 s at most)."""
    received = b""
    with contextlib.suppress(TimeoutError, ConnectionResetError):
        while chunk := sock.recv(65536):
            received += chunk
    return received


def _probe(port: int, path: str = "/health") -> tuple[float, bytes]:
    """Seconds a new connection's ``GET`` took to be answered in full, and the answer."""
    started = time.monotonic()
    with _connect(port, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()) as sock:
        answer = _until_closed(sock)
    return time.monotonic() - started, answer


def _read_answer(sock: socket.socket) -> bytes:
    """One whole answer read from ``sock`` (a ``Content-Length`` body or a chunked one)."""
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += sock.recv(65536) or pytest.fail(f"closed before an answer: {answer!r}")
    head = answer.partition(b"\r\n\r\n")[0].lower()
    length = re.search(rb"\r\ncontent-length: (\d+)", head)
    while not (
        len(answer.partition(b"\r\n\r\n")[2]) >= int(length.group(1)) if length else answer.endswith(b"\r\n0\r\n\r\n")
    ):
        answer += sock.recv(65536) or pytest.fail(f"closed inside an answer: {answer!r}")
    return answer


def _problem(answer: bytes) -> dict[str, object]:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"\r\nContent-Type: application/problem+json" in head, head
    if b"\r\nTransfer-Encoding: chunked" in head:
        body = body.split(b"\r\n", 1)[1].rsplit(b"\r\n0\r\n\r\n", 1)[0]  # one chunk
    document: dict[str, object] = orjson.loads(body)
    return document


def _timed_out(answer: bytes) -> None:
    """``answer`` is the whole of what came: one 408 ``request_timeout`` saying ``Connection: close``."""
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), answer[:300]
    assert answer.count(b"HTTP/1.1 ") == 1, answer
    assert re.search(rb"\r\nConnection: close\r\n", answer), answer[:300]
    for header in (  # the headers every API answer carries, as the API middleware sets them
        b"Cache-Control: no-store",
        b"X-Content-Type-Options: nosniff",
        b"X-Frame-Options: DENY",
        b"Referrer-Policy: same-origin",
        b"Cross-Origin-Opener-Policy: same-origin",
    ):
        assert header in answer.partition(b"\r\n\r\n")[0].split(b"\r\n"), (header, answer[:400])
    document = _problem(answer)
    assert (document["status"], document["code"]) == (408, "request_timeout")
    request_id = re.search(rb"\r\nX-Request-ID: ([^\r]+)\r\n", answer)
    assert request_id is not None, answer[:300]
    assert document["instance"] == request_id.group(1).decode()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_half_header_blocks_on_more_sockets_than_threads_leave_the_service_answering(tmp_path: Path) -> None:
    """Four sockets each send half a header block to two threads: each is answered 408 and
    closed once its read waits out, and a request behind them is served within a few seconds
    (without the bounds, never: the test's probe would wait out its 15 s)."""
    with _server(tmp_path) as (port, log):
        slow = [_connect(port, HALF_A_HEADER_BLOCK) for _ in range(4)]
        time.sleep(0.2)  # both threads are reading one each
        took, answer = _probe(port)
        answers = [_until_closed(sock) for sock in slow]
        for sock in slow:
            sock.close()
        log_text = log.read_text()

    assert answer.startswith(b"HTTP/1.1 200 OK\r\n"), answer[:300]
    assert took < 5, took
    for timed_out in answers:
        _timed_out(timed_out)
    assert log_text.count("Request timeout from ip=127.0.0.1") == 4
    assert "Traceback" not in log_text


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_header_block_trickled_in_under_the_read_timeout_meets_its_deadline(tmp_path: Path) -> None:
    """One byte every 0.3 s never waits out the 1 s read timeout, but the block as a whole must
    be in within 2 s: the answer is a 408 at about 2 s, not a thread held for as long as the
    client cares to trickle."""
    request = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"a" * 100
    with _server(tmp_path) as (port, _), _connect(port) as sock:
        started = time.monotonic()
        sent = 0
        for byte in request:  # a byte, then 0.3 s unless the answer comes
            sock.sendall(bytes([byte]))
            sent += 1
            if select.select([sock], [], [], 0.3)[0]:
                break
        took = time.monotonic() - started
        answer = _until_closed(sock)

    _timed_out(answer)
    assert sent < len(request)
    assert 1.8 < took < 4, took


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "path",
    ["/api/v1/events/ingest", "/api/v1/ves/events/ingest", "/api/v1/schemas/validate"],
    ids=["wsgi-endpoint", "drf-view", "drf-view-chunked"],
)
def test_a_body_shorter_than_its_length_is_a_408_and_the_connection_closes(tmp_path: Path, path: str) -> None:
    """The body stops arriving: the application's read fails after 1 s, the API answers 408
    ``request_timeout`` with ``Connection: close`` and the server closes the connection, on the
    WSGI endpoint and on a DRF view, with a declared length or chunked."""
    framing = (
        b'Transfer-Encoding: chunked\r\n\r\n10\r\n{"tenantId":'
        if path.endswith("validate")
        else b'Content-Length: 100\r\n\r\n{"events'
    )
    request = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n".encode() + ADMIN + framing
    )
    with _server(tmp_path) as (port, _), _connect(port, request) as sock:
        started = time.monotonic()
        answer = _until_closed(sock)
        took = time.monotonic() - started
        after, _ = _probe(port)

    _timed_out(answer)
    assert 0.9 < took < 4, took
    assert after < 1, after


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_body_the_application_left_unread_is_drained_within_the_bound_then_the_connection_closes(
    tmp_path: Path,
) -> None:
    """``/health`` answers a POST without reading its body; the server's drain of the body (so
    the next request can be read) waits out the read timeout and closes the connection: one
    answer on the socket, the application's, never a 408 written after it."""
    request = (
        b"POST /health HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
    )
    with _server(tmp_path) as (port, log), _connect(port, request) as sock:
        answer = _until_closed(sock)
        log_text = log.read_text()

    assert answer.startswith(b"HTTP/1.1 405 "), answer[:300]
    assert answer.count(b"HTTP/1.1 ") == 1, answer
    assert "Traceback" not in log_text


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_kept_alive_connection_may_stay_idle_longer_than_the_read_timeout(tmp_path: Path) -> None:
    """Idle keep-alive connections wait on the main thread's poller up to ``WEB_KEEPALIVE`` (5 s),
    as before: a request 1.5 s after the last, past the 1 s read timeout, is served."""
    request = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    settings = {"WEB_KEEPALIVE_MAX_AGE_SECONDS": "60", "WEB_CONNECTION_LINGER_SECONDS": "0"}
    with _server(tmp_path, **settings) as (port, _), _connect(port) as sock:
        answers = []
        for pause in (0, 1.5, 0.1):
            time.sleep(pause)
            sock.sendall(request)
            answers.append(_read_answer(sock))

    for answer in answers:
        assert answer.startswith(b"HTTP/1.1 200 OK\r\n"), answer[:300]
        assert b"\r\nConnection: keep-alive\r\n" in answer


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_connections_that_send_nothing_do_not_hold_the_threads(tmp_path: Path) -> None:
    """Four new connections that send nothing: a thread waits 0.5 s at most for a new
    connection's first bytes, then the poller does, so a request behind them is served in about
    a second (gthread waits 5 s in the thread)."""
    with _server(tmp_path) as (port, _):
        idle = [_connect(port) for _ in range(4)]
        time.sleep(0.1)
        took, answer = _probe(port)
        for sock in idle:
            sock.close()

    assert answer.startswith(b"HTTP/1.1 200 OK\r\n"), answer[:300]
    assert took < 2.5, took


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_clients_that_keep_their_socket_after_connection_close_do_not_stop_the_worker(tmp_path: Path) -> None:
    """Five clients read a ``Connection: close`` answer and keep their sockets open. gthread's
    main thread waited up to 2 s for each to close, accepting nothing meanwhile (a request
    behind them took ~10 s); on the poller, that request is served at once."""
    request = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    with _server(tmp_path) as (port, _):
        keeping = [_connect(port, request) for _ in range(5)]
        time.sleep(0.2)
        took = [_probe(port)[0] for _ in range(3)]
        for sock in keeping:
            assert sock.recv(65536).startswith(b"HTTP/1.1 200 OK\r\n")
            sock.close()

    assert max(took) < 1, took


@pytest.mark.parametrize(("queue_timeout", "refused"), [("0.5", True), ("0", False)])
def test_a_request_that_waited_past_the_queue_timeout_is_refused_unserved(
    tmp_path: Path, queue_timeout: str, refused: bool
) -> None:
    """Both threads held by half header blocks (2 s each, the header deadline): a request behind
    them waits ~2 s for a thread. Past ``WEB_QUEUE_TIMEOUT_SECONDS`` it is answered 503
    ``server_overloaded`` with ``Retry-After`` and not served; with 0 it waits and is served.
    An overloaded service used to serve every queued request, including those whose clients had
    given up, and none of the others in time (docs/operations.md, "Overload")."""
    bounds = {"WEB_REQUEST_READ_TIMEOUT_SECONDS": "3", "WEB_REQUEST_HEADERS_TIMEOUT_SECONDS": "2"}
    with serving_gunicorn(
        tmp_path,
        WEB_WORKERS="1",
        WEB_THREADS="2",
        DB_POOL_MAX_SIZE="3",
        WEB_QUEUE_TIMEOUT_SECONDS=queue_timeout,
        **bounds,
    ) as (port, log):
        assert _probe(port)[1].startswith(b"HTTP/1.1 200")  # a request that did not wait is served
        holders = [_connect(port, HALF_A_HEADER_BLOCK) for _ in range(2)]
        try:
            time.sleep(0.3)  # both threads read their half block and wait for the rest
            waited, answer = _probe(port)
        finally:
            for sock in holders:
                sock.close()

    assert waited > 1.0  # it did wait behind the two (a thread frees at their 2 s deadline)
    if not refused:
        assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
        return
    assert answer.startswith(b"HTTP/1.1 503 Service Unavailable"), answer[:200]
    assert b"\r\nRetry-After: 1\r\n" in answer
    problem = _problem(answer)
    assert (problem["code"], problem["status"]) == ("server_overloaded", 503)
    assert "Refused unserved after" in log.read_text()
