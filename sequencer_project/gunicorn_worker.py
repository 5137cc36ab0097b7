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
"""

from __future__ import annotations

import functools
import os
import select
import time
from collections.abc import Mapping
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

DEFAULT_KEEPALIVE_REQUESTS = 100
DEFAULT_KEEPALIVE_MAX_AGE_SECONDS = 1.0
DEFAULT_CONNECTION_LINGER_SECONDS = 0.002


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


def _next_request_waiting(conn: Any, linger: float) -> bool:
    """Whether ``conn``'s next request arrives within ``linger`` seconds (or is read already)."""
    if conn.parser.unreader.buf.getvalue():  # read ahead with the last body
        return True
    pending = getattr(conn.sock, "pending", None)  # TLS: bytes decrypted already
    if pending is not None and pending():
        return True
    poller = select.poll()  # not select.select: descriptors above 1023 are fine
    poller.register(conn.sock, select.POLLIN)
    return bool(poller.poll(linger * 1000))


class RebalancingThreadWorker(ThreadWorker):  # type: ignore[misc]  # gunicorn is untyped
    """gthread, ending each keep-alive connection at its last allowed request."""

    max_requests_per_connection = DEFAULT_KEEPALIVE_REQUESTS
    max_connection_age = DEFAULT_KEEPALIVE_MAX_AGE_SECONDS
    linger = DEFAULT_CONNECTION_LINGER_SECONDS

    def init_process(self) -> None:
        self.max_requests_per_connection = keepalive_requests()
        self.max_connection_age = keepalive_max_age()
        self.linger = connection_linger()
        # Here, in the worker: the master loads this class before it makes the metrics directory.
        from sequencer_project.metrics import TALLY, WEB_REQUESTS_KEPT

        self._count_kept = functools.partial(TALLY.inc, WEB_REQUESTS_KEPT)
        super().init_process()

    def handle(self, conn: Any) -> Any:
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
        if req.req_number == 1:
            conn.first_request_at = now
        age = now - getattr(conn, "first_request_at", now)
        if req.req_number >= self.max_requests_per_connection or age >= self.max_connection_age:
            req.must_close = True
        return super().handle_request(req, conn)
