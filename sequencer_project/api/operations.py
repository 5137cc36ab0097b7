"""Per-request operations work: request and ingest metrics, rate-limit headers, pool gauges.

Kept to a few microseconds per request (``docs/operations.md`` has the measurement): one
dictionary lookup for non-ingest paths, a counter and a histogram observation for ingest
requests (never per event), and the pool gauges refreshed at most once a second per process.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import orjson
from django.db import connection
from django.http import HttpRequest, HttpResponse

from sequencer_project import metrics
from sequencer_project.api_handler import API_PATH_PREFIXES

# Path → endpoint label. Other ingest endpoints (VES, x402) add themselves here.
INGEST_ENDPOINTS: dict[str, str] = {
    "/api/v1/events/ingest": "legacy",
    "/api/v1/ves/events/ingest": "ves",
}
RATE_LIMIT_STATE_ATTR = "_sequencer_rate_limit"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})  # bounded label values


_POOL_SAMPLE_SECONDS = 1.0
_last_pool_sample = 0.0


def sample_pool_gauges() -> None:
    """Copy this process's psycopg pool statistics into the ``db_pool_*`` gauges."""
    pool = getattr(connection, "pool", None)
    if pool is None:
        return
    stats = pool.get_stats()
    size = int(stats.get("pool_size", 0))
    idle = int(stats.get("pool_available", 0))
    metrics.DB_POOL_ACTIVE.set(max(size - idle, 0))
    metrics.DB_POOL_IDLE.set(idle)
    metrics.DB_POOL_WAITING.set(int(stats.get("requests_waiting", 0)))
    metrics.DB_POOL_MAX.set(int(stats.get("pool_max", 0)))


def _problem_code(response: HttpResponse) -> str:
    if response.get("Content-Type", "").startswith("application/problem+json"):
        try:
            code = orjson.loads(response.content).get("code")
        except (orjson.JSONDecodeError, AttributeError):
            code = None
        if isinstance(code, str) and len(code) <= 64:
            return code
    return f"http_{response.status_code}"


def record_api_request(
    method: str,
    status: int,
    *,
    ingest_endpoint: str | None = None,
    elapsed: float = 0.0,
    data: object = None,
    problem_code: str = "",
) -> None:
    """Count one API request; for ingest endpoints also its duration, events or error code.

    ``data`` is the response body before rendering (a dict for ingest answers), ``problem_code``
    the ``code`` of an error response. Shared by the middleware and the WSGI ingest endpoint.
    """
    global _last_pool_sample
    tally, labelled = metrics.TALLY, metrics.labelled
    tally.inc(labelled(metrics.API_REQUESTS, method if method in _METHODS else "OTHER", str(status)))
    if ingest_endpoint is not None:
        tally.inc(labelled(metrics.INGEST_REQUESTS, ingest_endpoint, str(status)))
        tally.observe(labelled(metrics.INGEST_DURATION, ingest_endpoint), elapsed)
        if status >= 400:
            tally.inc(labelled(metrics.INGEST_ERRORS, ingest_endpoint, problem_code or f"http_{status}"))
        elif isinstance(data, dict):
            accepted = data.get("events_accepted")
            rejected = data.get("events_rejected")
            if isinstance(accepted, int) and accepted:
                tally.inc(labelled(metrics.INGEST_EVENTS, ingest_endpoint, "accepted"), accepted)
            if isinstance(rejected, int) and rejected:
                tally.inc(labelled(metrics.INGEST_EVENTS, ingest_endpoint, "rejected"), rejected)
    now = time.monotonic()
    if now - _last_pool_sample >= _POOL_SAMPLE_SECONDS:
        _last_pool_sample = now
        sample_pool_gauges()


def rate_limit_headers(state: tuple[int, int, int]) -> list[tuple[str, str]]:
    limit, remaining, reset = state
    return [("RateLimit-Limit", str(limit)), ("RateLimit-Remaining", str(remaining)), ("RateLimit-Reset", str(reset))]


class OperationsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        endpoint = INGEST_ENDPOINTS.get(request.path)
        started = time.perf_counter()
        response = self.get_response(request)
        status = response.status_code
        if request.path.startswith(API_PATH_PREFIXES):
            record_api_request(
                request.method or "",
                status,
                ingest_endpoint=endpoint,
                elapsed=time.perf_counter() - started,
                data=getattr(response, "data", None),  # DRF Response: the dict before rendering
                problem_code=_problem_code(response) if endpoint is not None and status >= 400 else "",
            )
        state = getattr(request, RATE_LIMIT_STATE_ATTR, None)
        if state is not None:
            for name, value in rate_limit_headers(state):
                response[name] = value
        return response
