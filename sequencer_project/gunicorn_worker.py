"""gunicorn's thread worker, closing a keep-alive connection after a bounded number of requests
or a bounded age.

A keep-alive connection stays with the worker process that accepted it. Clients that open their
connections together (an SDK's pool, a load balancer, a load generator) can land all of them on
one worker while another idles: measured on two workers, all 16 of wrk's connections on one of
them, and half the throughput for as long as they lived (docs/performance.md, "Connections that
stay on one worker"). Like nginx's ``keepalive_requests`` and ``keepalive_time`` and Apache's
``MaxKeepAliveRequests``, this worker answers a connection's last request with
``Connection: close``; the client opens a new one, which the first worker to accept takes (the
one whose main thread is free, so the less busy one), and the connections spread again.

A connection's last request is its ``WEB_KEEPALIVE_REQUESTS``-th (default 100) or the first
that starts ``WEB_KEEPALIVE_MAX_AGE_SECONDS`` (default 1) after its first one: the count alone
never ends a connection that carries a few slow requests a second (100-event batches), the
age alone would close busy connections more often than needed. ``docker/gunicorn.conf.py``
selects this worker whenever ``WEB_THREADS`` > 1 (ADR 0037).

A thread that has answered a kept-alive connection waits up to ``WEB_CONNECTION_LINGER_SECONDS``
(default 0.002) for the connection's next request and serves it itself. gthread hands every
answered connection back to its main thread instead (a pipe write and a wake-up, an epoll
registration, a wake-up again when the next request comes, a hand-off to the pool): measured
at ~180 µs of web CPU per single-event request and ~450 per 100-event request (ADR 0039). A
client that sends its next request at once (a pool under load) keeps its thread; an idle one
goes back to the main thread's poller as before, so idle connections hold no thread, and so
does every connection while another's request waits for a thread (no connection starves).
``web_requests_kept_total`` counts the requests served this way.

A thread waits a bounded time for a client's request bytes (slowloris: 16 sockets sending half a
header block, or a body shorter than its ``Content-Length``, held every thread of a 2 x 8
deployment for minutes and the service stopped answering). Each read of a request's bytes,
header block or body, waits at most ``WEB_REQUEST_READ_TIMEOUT_SECONDS`` (default 5), and the
whole header block must arrive within ``WEB_REQUEST_HEADERS_TIMEOUT_SECONDS`` (default 10) of the
thread starting to read it (a client trickling one byte at a time meets that). A header block
that does not arrive in time is answered 408 ``request_timeout`` (problem+json); a body that stops
arriving fails the application's read with the same error, which the API answers as 408; either
way the connection is then closed. The reads cost nothing where the bytes are already there:
each first asks the socket without waiting (``MSG_DONTWAIT``), and only a read that would block
waits on a poll. Idle keep-alive connections wait on the main thread's poller, as before
(``WEB_KEEPALIVE``); a new connection whose first bytes have not come within
``NEW_CONNECTION_WAIT_SECONDS`` goes there too (gthread waits 5 s for them in the thread).

A connection the worker closes is closed on the main thread's poller: gthread half-closes it and
then waits in its main thread, up to 2 s, for the client to close its side (RFC 9112 section
9.6), during which that worker accepts and dispatches nothing. Ten clients that read a
``Connection: close`` answer and keep their sockets open stopped a worker for 20 s; every closed
connection cost the main thread a round trip. Here the client's end is awaited by the poller.

The bounds hold for gunicorn's HTTP/1 connections (``WEB_THREADS`` > 1); they are no substitute
for a buffering proxy in front of the service (``docs/configuration.md``, "Slow clients").
"""

from __future__ import annotations

import errno
import functools
import io
import os
import select
import selectors
import socket
import ssl
import time
import uuid
from collections.abc import Mapping
from typing import Any

from gunicorn import util
from gunicorn.http.unreader import SocketUnreader
from gunicorn.workers.gthread import _DEFER, TConn, ThreadWorker

from sequencer_project.api.errors import RequestTimeoutError, SequencerError, ServerOverloadedError

DEFAULT_KEEPALIVE_REQUESTS = 100
DEFAULT_KEEPALIVE_MAX_AGE_SECONDS = 1.0
DEFAULT_CONNECTION_LINGER_SECONDS = 0.002
DEFAULT_REQUEST_READ_TIMEOUT_SECONDS = 5.0
DEFAULT_REQUEST_HEADERS_TIMEOUT_SECONDS = 10.0
DEFAULT_QUEUE_TIMEOUT_SECONDS = 10.0
# How long a thread waits for a new connection's first bytes before the main thread's poller
# waits for them instead (up to WEB_KEEPALIVE); gthread waits 5 s in the thread.
NEW_CONNECTION_WAIT_SECONDS = 0.5
# A closed connection's lingering (RFC 9112 section 9.6), as gunicorn's close_graceful.
CLOSE_LINGER_SECONDS = 2.0
CLOSE_LINGER_MAX_BYTES = 65536


def _finite_setting(
    environ: Mapping[str, str], name: str, default: float, kind: type[int] | type[float], *, zero_allowed: bool = False
) -> float:
    """``environ[name]`` (or ``default``) read as ``kind``, refused unless positive (or, with
    ``zero_allowed``, zero) and finite."""
    raw = environ.get(name, str(default))
    try:
        value = kind(raw)
    except ValueError:
        raise ValueError(f"{name} must be a {'whole ' if kind is int else ''}number, not {raw!r}") from None
    above_floor = value >= 0 if zero_allowed else value > 0  # False for NaN
    if not above_floor or value == float("inf"):
        raise ValueError(f"{name} must be {'zero or ' if zero_allowed else ''}positive and finite, not {raw!r}")
    return value


def keepalive_requests(environ: Mapping[str, str] = os.environ) -> int:
    """Requests one connection may carry (``WEB_KEEPALIVE_REQUESTS``)."""
    return int(_finite_setting(environ, "WEB_KEEPALIVE_REQUESTS", DEFAULT_KEEPALIVE_REQUESTS, int))


def keepalive_max_age(environ: Mapping[str, str] = os.environ) -> float:
    """Seconds after its first request a connection ends (``WEB_KEEPALIVE_MAX_AGE_SECONDS``)."""
    return _finite_setting(environ, "WEB_KEEPALIVE_MAX_AGE_SECONDS", DEFAULT_KEEPALIVE_MAX_AGE_SECONDS, float)


def connection_linger(environ: Mapping[str, str] = os.environ) -> float:
    """Seconds a thread waits for the next request of the connection it answered
    (``WEB_CONNECTION_LINGER_SECONDS``; 0: back to the main thread at once, as gthread does)."""
    return _finite_setting(
        environ, "WEB_CONNECTION_LINGER_SECONDS", DEFAULT_CONNECTION_LINGER_SECONDS, float, zero_allowed=True
    )


def request_read_timeout(environ: Mapping[str, str] = os.environ) -> float:
    """Seconds one read of a request's bytes may wait (``WEB_REQUEST_READ_TIMEOUT_SECONDS``)."""
    return _finite_setting(environ, "WEB_REQUEST_READ_TIMEOUT_SECONDS", DEFAULT_REQUEST_READ_TIMEOUT_SECONDS, float)


def request_headers_timeout(environ: Mapping[str, str] = os.environ) -> float:
    """Seconds a request's whole header block may take (``WEB_REQUEST_HEADERS_TIMEOUT_SECONDS``)."""
    return _finite_setting(
        environ, "WEB_REQUEST_HEADERS_TIMEOUT_SECONDS", DEFAULT_REQUEST_HEADERS_TIMEOUT_SECONDS, float
    )


def _readable(sock: Any, timeout: float) -> bool:
    """Whether ``sock`` has bytes (or its end) to read within ``timeout`` seconds."""
    poller = select.poll()  # not select.select: descriptors above 1023 are fine
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(timeout * 1000))


class BoundedSocketReader(SocketUnreader):  # type: ignore[misc]  # gunicorn is untyped
    """gunicorn's socket reader, each read waiting at most ``read_timeout`` and, while
    ``headers_deadline`` (a ``time.monotonic()``) is set, not past it.

    A read asks the socket without waiting first, so bytes already there cost no more than
    gunicorn's blocking ``recv``; only a read that would block waits, on a poll. When the wait
    runs out the read raises :class:`RequestTimeoutError` (408), and so does every later one.
    """

    def __init__(self, sock: Any, read_timeout: float, buffered: io.BytesIO) -> None:
        super().__init__(sock)
        self.buf = buffered  # bytes read ahead (an HTTP/2 preface sniff gave back)
        self.read_timeout = read_timeout
        self.headers_timeout = 0.0  # set with headers_deadline, for the 408's detail
        self.headers_deadline: float | None = None
        self.request: Any = None  # the request whose body is being read: told to close on a timeout
        self.timed_out = False
        self._ask_first = not isinstance(sock, ssl.SSLSocket)  # TLS takes no recv flags

    def chunk(self, size_hint: int | None = None) -> bytes:
        size = self.mxchunk
        if size_hint and size_hint > size:
            size = min(size_hint, self.max_body_chunk)
        if self.timed_out:
            raise self._timeout()
        if self._ask_first:
            try:
                return self.sock.recv(size, socket.MSG_DONTWAIT)  # type: ignore[no-any-return]
            except BlockingIOError:
                pass
        elif self.sock.pending():
            return self.sock.recv(size)  # type: ignore[no-any-return]
        wait = self.read_timeout
        if self.headers_deadline is not None:
            wait = min(wait, self.headers_deadline - time.monotonic())
        if wait <= 0 or not _readable(self.sock, wait):
            self.timed_out = True
            if self.request is not None:
                self.request.must_close = True  # the answer says "Connection: close"
            raise self._timeout()
        # Bytes (or the client's end) are there. Under TLS a record only begun may still wait.
        return self.sock.recv(size)  # type: ignore[no-any-return]

    def _timeout(self) -> RequestTimeoutError:
        if self.headers_deadline is not None:
            return RequestTimeoutError(
                f"The request's header block did not arrive in time ({self.read_timeout:g} s for each "
                f"read, {self.headers_timeout:g} s in all)."
            )
        return RequestTimeoutError(f"The request body stopped arriving for {self.read_timeout:g} s.")


def queue_timeout(environ: Mapping[str, str] = os.environ) -> float:
    """Seconds a request may wait for a thread before it is refused unserved, 503
    ``server_overloaded`` (``WEB_QUEUE_TIMEOUT_SECONDS``; 0: it waits however long)."""
    return _finite_setting(
        environ, "WEB_QUEUE_TIMEOUT_SECONDS", DEFAULT_QUEUE_TIMEOUT_SECONDS, float, zero_allowed=True
    )


class BoundedConnection(TConn):  # type: ignore[misc]  # gunicorn is untyped
    """gthread's connection, its HTTP/1 requests read through a :class:`BoundedSocketReader`."""

    def __init__(self, cfg: Any, sock: Any, client: Any, server: Any, read_timeout: float, headers_timeout: float):
        super().__init__(cfg, sock, client, server)
        self.read_timeout = read_timeout
        self.headers_timeout = headers_timeout

    def init(self) -> None:
        # gthread calls this before each request it reads, once the socket is blocking again.
        super().init()
        parser = self.parser
        if self.is_http2 or parser is None:
            return
        reader = parser.unreader
        if not isinstance(reader, BoundedSocketReader):  # the connection's first request
            reader = BoundedSocketReader(self.sock, self.read_timeout, reader.buf)
            reader.headers_timeout = self.headers_timeout
            parser.unreader = reader
        reader.headers_deadline = time.monotonic() + self.headers_timeout


@functools.cache
def _answer_head(status_line: bytes) -> bytes:
    """An answer's status line and headers: those every API answer carries (``Cache-Control``,
    ``X-Content-Type-Options``, ``Referrer-Policy``, ``Cross-Origin-Opener-Policy``,
    ``X-Frame-Options``, as settings say), read once."""
    from sequencer_project.api.wsgi_endpoint import fixed_headers

    lines = [status_line, b"Connection: close", b"Content-Type: application/problem+json"]
    lines.extend(f"{name}: {value}".encode("latin-1") for name, value in fixed_headers())
    return b"\r\n".join(lines) + b"\r\n"


def server_answer(error: SequencerError, status_line: bytes, *, retry_after: int | None = None) -> bytes:
    """The whole answer the server gives itself, the application never called: a problem with a
    request id of its own, as the API would answer, and the connection closed after it."""
    import orjson  # the worker's application has loaded Django by now; the master never gets here

    from sequencer_project.api.problems import problem_body

    request_id = str(uuid.uuid4())
    body = orjson.dumps(problem_body(error, request_id))
    retry = b"" if retry_after is None else b"Retry-After: %d\r\n" % retry_after
    return b"%s%sX-Request-ID: %s\r\nContent-Length: %d\r\n\r\n%s" % (
        _answer_head(status_line),
        retry,
        request_id.encode(),
        len(body),
        body,
    )


def request_timeout_answer(error: RequestTimeoutError) -> bytes:
    """The whole 408 answer to a header block that did not arrive in time."""
    return server_answer(error, b"HTTP/1.1 408 Request Timeout")


def _next_request_waiting(conn: Any, linger: float) -> bool:
    """Whether ``conn``'s next request arrives within ``linger`` seconds (or is read already)."""
    if conn.parser.unreader.buf.getvalue():  # read ahead with the last body
        return True
    pending = getattr(conn.sock, "pending", None)  # TLS: bytes decrypted already
    if pending is not None and pending():
        return True
    return _readable(conn.sock, linger)


class RebalancingThreadWorker(ThreadWorker):  # type: ignore[misc]  # gunicorn is untyped
    """gthread, ending each keep-alive connection at its last allowed request."""

    max_requests_per_connection = DEFAULT_KEEPALIVE_REQUESTS
    max_connection_age = DEFAULT_KEEPALIVE_MAX_AGE_SECONDS
    linger = DEFAULT_CONNECTION_LINGER_SECONDS
    read_timeout = DEFAULT_REQUEST_READ_TIMEOUT_SECONDS
    headers_timeout = DEFAULT_REQUEST_HEADERS_TIMEOUT_SECONDS
    queue_timeout = DEFAULT_QUEUE_TIMEOUT_SECONDS

    def init_process(self) -> None:
        self.max_requests_per_connection = keepalive_requests()
        self.max_connection_age = keepalive_max_age()
        self.linger = connection_linger()
        self.read_timeout = request_read_timeout()
        self.headers_timeout = request_headers_timeout()
        self.queue_timeout = queue_timeout()
        # Here, in the worker: the master loads this class before it makes the metrics directory.
        from sequencer_project.metrics import TALLY, WEB_REQUESTS_KEPT, WEB_REQUESTS_SHED

        self._count_kept = functools.partial(TALLY.inc, WEB_REQUESTS_KEPT)
        self._count_shed = functools.partial(TALLY.inc, WEB_REQUESTS_SHED)
        super().init_process()

    def accept(self, listener: Any) -> None:
        # gthread's accept, making a BoundedConnection.
        try:
            client_sock, client_addr = listener.accept()
            self.nr_conns += 1
            client_sock.setblocking(True)
            conn = BoundedConnection(
                self.cfg, client_sock, client_addr, listener.getsockname(), self.read_timeout, self.headers_timeout
            )
            self.enqueue_req(conn)
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise

    def enqueue_req(self, conn: Any) -> None:
        # When a connection's request starts to wait for a thread (a new connection, or one the
        # poller found readable again): its wait is judged when its header block is in.
        conn.enqueued_at = time.monotonic()
        super().enqueue_req(conn)

    def handle(self, conn: Any) -> Any:
        # A new connection's first bytes: the main thread's poller waits for them past a short
        # wait here (gthread's handle would wait 5 s, holding the thread).
        if not conn.initialized and not conn.data_ready and not conn.wait_for_data(NEW_CONNECTION_WAIT_SECONDS):
            return _DEFER
        # gthread's handle serves one request; True means the connection stays open (the main
        # thread would put it back on its poller). Serve the next one here while it comes at once.
        keep = super().handle(conn)
        while (
            keep is True
            and self.linger > 0
            and self.alive
            and not conn.is_http2
            and not self._requests_wait_for_a_thread()
            and _next_request_waiting(conn, self.linger)
        ):
            conn.kept_by_thread = True  # counted once a request is read (not at an end of stream)
            keep = super().handle(conn)
        return keep

    def _requests_wait_for_a_thread(self) -> bool:
        # The main thread queues a readable connection for the pool; while one waits, a thread
        # that keeps its own connection would make it wait up to that connection's age bound.
        return bool(self.tpool._work_queue.qsize())  # ThreadPoolExecutor's queue (CPython)

    def handle_request(self, req: Any, conn: Any) -> Any:
        # req_number counts the requests of this connection (its parser's); must_close makes the
        # response carry "Connection: close" and the worker close the socket after it.
        if getattr(conn, "kept_by_thread", False):
            conn.kept_by_thread = False
            self._count_kept()
        now = time.monotonic()
        enqueued_at = getattr(conn, "enqueued_at", None)
        conn.enqueued_at = None  # a next request this thread reads itself did not wait in the queue
        if enqueued_at is not None and self.queue_timeout and now - enqueued_at > self.queue_timeout:
            return self._refuse_overloaded(req, conn, now - enqueued_at)
        if req.req_number == 1:
            conn.first_request_at = now
        age = now - getattr(conn, "first_request_at", now)
        if req.req_number >= self.max_requests_per_connection or age >= self.max_connection_age:
            req.must_close = True
        # The header block is in; the body's reads are bounded one by one.
        reader = conn.parser.unreader
        reader.headers_deadline = None
        reader.request = req
        try:
            return super().handle_request(req, conn)
        finally:
            reader.request = None  # no cycle left between the reader and the request

    def _refuse_overloaded(self, req: Any, conn: Any, waited: float) -> bool:
        """503 ``server_overloaded`` with ``Retry-After: 1`` for a request that waited ``waited``
        seconds for a thread: not served (its client has likely given up; a resend is safe), so
        the threads go to requests that still have someone waiting. The connection then closes."""
        self._count_shed()
        self.log.warning(
            "Refused unserved after %.1f s waiting for a thread (WEB_QUEUE_TIMEOUT_SECONDS): %s %s",
            waited,
            req.method,
            req.path,
        )
        error = ServerOverloadedError(
            f"The request waited {waited:.1f} s for the server, longer than it keeps requests"
            " (WEB_QUEUE_TIMEOUT_SECONDS); nothing of it was done. Send it again after Retry-After."
        )
        try:
            util.write(conn.sock, server_answer(error, b"HTTP/1.1 503 Service Unavailable", retry_after=1))
        except OSError:
            self.log.debug("Failed to send the overloaded answer.")
        return False

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        # A header block that did not arrive in time: 408 problem+json (gthread's handle then
        # hands the connection back to be closed). Any other error: gunicorn's answer.
        if not isinstance(exc, RequestTimeoutError) or req is not None:
            super().handle_error(req, client, addr, exc)
            return
        self.log.warning("Request timeout from ip=%s: %s", (addr or ("",))[0], exc.detail)
        try:
            util.write_nonblock(client, request_timeout_answer(exc))
        except OSError:
            self.log.debug("Failed to send the request timeout answer.")

    def _keepalive_after(self, conn: Any, keepalive: Any) -> bool:
        # gthread drains a body the application left unread before it reads the next request;
        # a drain whose reads time out closes the connection (gthread's own drain deadline
        # does the same).
        try:
            return bool(super()._keepalive_after(conn, keepalive))
        except RequestTimeoutError:
            return False

    def finish_request(self, conn: Any, fs: Any) -> None:
        # On the main thread, once a thread is done with a connection. One to close (False) is
        # half-closed here and its client's end awaited on the poller (see the module's doc);
        # everything else as gthread does. While stopping, gthread's own close.
        if (
            not self.alive
            or fs.cancelled()
            or fs.exception() is not None
            or fs.result() is not False
            or self.cfg.is_ssl
        ):
            super().finish_request(conn, fs)
            return
        sock = conn.sock
        try:
            sock.shutdown(socket.SHUT_WR)
            sock.setblocking(False)
        except OSError:  # closed already, or the client is gone
            self.nr_conns -= 1
            conn.close()
            return
        conn.timeout = time.monotonic() + CLOSE_LINGER_SECONDS
        conn.lingered = 0
        # Among the connections waiting for data, whose timeouts the main loop enforces (murder_pending).
        self.pending_conns.append(conn)
        self.poller.register(sock, selectors.EVENT_READ, functools.partial(self._on_lingering_readable, conn))

    def _on_lingering_readable(self, conn: Any, sock: Any) -> None:
        """Read what a closed connection's client still sends, until it closes its side."""
        try:
            data = sock.recv(CLOSE_LINGER_MAX_BYTES)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        conn.lingered += len(data)
        if data and conn.lingered < CLOSE_LINGER_MAX_BYTES:
            return
        self.poller.unregister(sock)
        self.pending_conns.remove(conn)
        self.nr_conns -= 1
        conn.close()
