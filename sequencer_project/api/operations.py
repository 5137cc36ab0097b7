"""Per-request operations work: request and ingest metrics, rate-limit headers, pool gauges.

Kept to a few microseconds per request (``docs/operations.md`` has the measurement): one
dictionary lookup for non-ingest paths, a counter and a histogram observation for ingest
requests (never per event), and the pool gauges refreshed at most once a second per process.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

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
_api_request_counters: dict[tuple[str, int], Any] = {}
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})  # bounded label values


def _api_request_counter(method: str, status: int) -> Any:
    """The ``api_requests_total`` child of (method, status), looked up once per process."""
    key = (method if method in _METHODS else "OTHER", status)
    counter = _api_request_counters.get(key)
    if counter is None:
        counter = metrics.API_REQUESTS.labels(method=key[0], status=str(status))
        _api_request_counters[key] = counter
    return counter


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


class OperationsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        global _last_pool_sample
        endpoint = INGEST_ENDPOINTS.get(request.path)
        started = time.perf_counter()
        response = self.get_response(request)
        if request.path.startswith(API_PATH_PREFIXES):
            _api_request_counter(request.method or "", response.status_code).inc()
        if endpoint is not None:
            self._observe_ingest(endpoint, response, time.perf_counter() - started)
        state = getattr(request, RATE_LIMIT_STATE_ATTR, None)
        if state is not None:
            limit, remaining, reset = state
            response["RateLimit-Limit"] = str(limit)
            response["RateLimit-Remaining"] = str(remaining)
            response["RateLimit-Reset"] = str(reset)
        now = time.monotonic()
        if now - _last_pool_sample >= _POOL_SAMPLE_SECONDS:
            _last_pool_sample = now
            sample_pool_gauges()
        return response

    @staticmethod
    def _observe_ingest(endpoint: str, response: HttpResponse, elapsed: float) -> None:
        status = response.status_code
        metrics.INGEST_REQUESTS.labels(endpoint=endpoint, status=str(status)).inc()
        metrics.INGEST_DURATION.labels(endpoint=endpoint).observe(elapsed)
        if status >= 400:
            metrics.INGEST_ERRORS.labels(endpoint=endpoint, code=_problem_code(response)).inc()
            return
        data: Any = getattr(response, "data", None)  # DRF Response: the dict before rendering
        if isinstance(data, dict):
            accepted = data.get("events_accepted")
            rejected = data.get("events_rejected")
            if isinstance(accepted, int) and accepted:
                metrics.INGEST_EVENTS.labels(endpoint=endpoint, outcome="accepted").inc(accepted)
            if isinstance(rejected, int) and rejected:
                metrics.INGEST_EVENTS.labels(endpoint=endpoint, outcome="rejected").inc(rejected)
