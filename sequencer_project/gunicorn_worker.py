"""gunicorn's thread worker, closing a keep-alive connection after a bounded number of requests.

A keep-alive connection stays with the worker process that accepted it. Clients that open their
connections together (an SDK's pool, a load balancer, a load generator) can land all of them on
one worker while another idles: measured on two workers, all 16 of wrk's connections on one of
them in one start out of ten, and half the throughput for as long as they lived
(docs/performance.md, "Connections that stay on one worker"). Like nginx's ``keepalive_requests``
and Apache's ``MaxKeepAliveRequests``, this worker answers a connection's Nth request with
``Connection: close``; the client opens a new one, which the first worker to accept takes (the
one whose main thread is free, so the less busy one), and the connections spread again.

``WEB_KEEPALIVE_REQUESTS`` (default 100, at least 1) is N; ``docker/gunicorn.conf.py`` selects
this worker whenever ``WEB_THREADS`` > 1.
"""

from __future__ import annotations

import os
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

DEFAULT_KEEPALIVE_REQUESTS = 100


def keepalive_requests(environ: dict[str, str] | os._Environ[str] = os.environ) -> int:
    """Requests one connection may carry (``WEB_KEEPALIVE_REQUESTS``), refusing nonsense."""
    raw = environ.get("WEB_KEEPALIVE_REQUESTS", str(DEFAULT_KEEPALIVE_REQUESTS))
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"WEB_KEEPALIVE_REQUESTS must be a whole number, not {raw!r}") from None
    if value < 1:
        raise ValueError(f"WEB_KEEPALIVE_REQUESTS must be at least 1, not {value}")
    return value


class RebalancingThreadWorker(ThreadWorker):  # type: ignore[misc]  # gunicorn is untyped
    """gthread, with at most ``keepalive_requests()`` requests per connection."""

    max_requests_per_connection = DEFAULT_KEEPALIVE_REQUESTS

    def init_process(self) -> None:
        self.max_requests_per_connection = keepalive_requests()
        super().init_process()

    def handle_request(self, req: Any, conn: Any) -> Any:
        # req_number counts the requests of this connection (its parser's); must_close makes the
        # response carry "Connection: close" and the worker close the socket after it.
        if req.req_number >= self.max_requests_per_connection:
            req.must_close = True
        return super().handle_request(req, conn)
