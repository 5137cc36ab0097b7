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
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

DEFAULT_KEEPALIVE_REQUESTS = 100
DEFAULT_KEEPALIVE_MAX_AGE_SECONDS = 1.0


def _positive(environ: Mapping[str, str], name: str, default: float, kind: type[int] | type[float]) -> float:
    """``environ[name]`` (or ``default``) read as ``kind``, refused unless positive and finite."""
    raw = environ.get(name, str(default))
    try:
        value = kind(raw)
    except ValueError:
        raise ValueError(f"{name} must be a {'whole ' if kind is int else ''}number, not {raw!r}") from None
    if not 0 < value < float("inf"):
        raise ValueError(f"{name} must be positive and finite, not {raw!r}")
    return value


def keepalive_requests(environ: Mapping[str, str] = os.environ) -> int:
    """Requests one connection may carry (``WEB_KEEPALIVE_REQUESTS``)."""
    return int(_positive(environ, "WEB_KEEPALIVE_REQUESTS", DEFAULT_KEEPALIVE_REQUESTS, int))


def keepalive_max_age(environ: Mapping[str, str] = os.environ) -> float:
    """Seconds after its first request a connection ends (``WEB_KEEPALIVE_MAX_AGE_SECONDS``)."""
    return _positive(environ, "WEB_KEEPALIVE_MAX_AGE_SECONDS", DEFAULT_KEEPALIVE_MAX_AGE_SECONDS, float)


class RebalancingThreadWorker(ThreadWorker):  # type: ignore[misc]  # gunicorn is untyped
    """gthread, ending each keep-alive connection at its last allowed request."""

    max_requests_per_connection = DEFAULT_KEEPALIVE_REQUESTS
    max_connection_age = DEFAULT_KEEPALIVE_MAX_AGE_SECONDS

    def init_process(self) -> None:
        self.max_requests_per_connection = keepalive_requests()
        self.max_connection_age = keepalive_max_age()
        super().init_process()

    def handle_request(self, req: Any, conn: Any) -> Any:
        # req_number counts the requests of this connection (its parser's); must_close makes the
        # response carry "Connection: close" and the worker close the socket after it.
        now = time.monotonic()
        if req.req_number == 1:
            conn.first_request_at = now
        age = now - getattr(conn, "first_request_at", now)
        if req.req_number >= self.max_requests_per_connection or age >= self.max_connection_age:
            req.must_close = True
        return super().handle_request(req, conn)
