"""Per-request operations work: request and ingest metrics, rate-limit headers, pool gauges.

Kept to a few microseconds per request (``docs/operations.md`` has the measurement): every
request on the API path is counted and timed in ``sequencer_http_requests_total`` and
``sequencer_http_request_latency_seconds`` (the reference's names) under its route template, ingest
requests also in the ``ingest_*`` metrics (never per event), and the pool gauges are refreshed at
most once a second per process.

The ``path`` label is the route template the request matched, as the reference's axum
``MatchedPath`` spells it: Django's resolved route (``request.resolver_match.route``, already
there: no second resolve) with ``<conv:name>`` written ``:name``; the WSGI endpoints name theirs
(``WsgiEndpoint.route``). A path no route matched is ``UNMATCHED_ROUTE``: the reference labels it
with the path itself (UUID segments as ``:id``), which any client could grow without bound.
"""

from __future__ import annotations

import functools
import re
import time
import weakref
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
# Where an ingest answer says how many events it accepted and rejected: VES answers in camelCase.
_EVENT_COUNT_MEMBERS: dict[str, tuple[str, str]] = {
    "legacy": ("events_accepted", "events_rejected"),
    "ves": ("eventsAccepted", "eventsRejected"),
}
RATE_LIMIT_STATE_ATTR = "_sequencer_rate_limit"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})  # bounded label values
UNMATCHED_ROUTE = "unmatched"
_CONVERTED = re.compile(r"<(?:[^<>:]+:)?([^<>:]+)>")


@functools.cache
def route_template(route: str) -> str:
    """Django's route (``api/v1/events/<str:event_id>``) as axum writes it
    (``/api/v1/events/:event_id``); once per route and process."""
    return "/" + _CONVERTED.sub(r":\1", route)


@functools.cache
def _request_series(method: str, route: str, status: int) -> tuple[Any, Any]:
    """The request counter's and latency histogram's children for one (method, route, status)
    (bounded: a method outside ``_METHODS`` comes as ``OTHER``)."""
    labels = (method, route, str(status))
    return metrics.labelled(metrics.HTTP_REQUESTS, *labels), metrics.labelled(metrics.HTTP_REQUEST_LATENCY, *labels)


_POOL_SAMPLE_SECONDS = 1.0
_last_pool_sample = -_POOL_SAMPLE_SECONDS  # the first call samples, however young the clock
_pool_errors_counted: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()  # pool -> requests_errors


def sample_pool_gauges() -> None:
    """Copy this process's psycopg pool statistics into the ``db_pool_*`` gauges, the pool's
    utilization and its checkouts that gave up (``requests_errors``: a wait that timed out, or
    refused with too many waiting) into the reference's ``sequencer_pool_*``."""
    pool = getattr(connection, "pool", None)
    if pool is None:
        return
    stats = pool.get_stats()
    size = int(stats.get("pool_size", 0))
    idle = int(stats.get("pool_available", 0))
    maximum = int(stats.get("pool_max", 0))
    active = max(size - idle, 0)
    metrics.DB_POOL_ACTIVE.set(active)
    metrics.DB_POOL_IDLE.set(idle)
    metrics.DB_POOL_WAITING.set(int(stats.get("requests_waiting", 0)))
    metrics.DB_POOL_MAX.set(maximum)
    metrics.POOL_UTILIZATION.set(min(active / maximum, 1.0) if maximum else 0.0)
    errors = int(stats.get("requests_errors", 0))
    new_errors = errors - _pool_errors_counted.get(pool, 0)
    if new_errors > 0:
        metrics.POOL_TIMED_OUT_ACQUISITIONS.inc(new_errors)
    _pool_errors_counted[pool] = errors


def sample_pool_gauges_when_due() -> None:
    """:func:`sample_pool_gauges`, at most once every ``_POOL_SAMPLE_SECONDS`` per process: after
    each API request (``record_api_request``) and each Celery task
    (``sequencer_project.worker_metrics``)."""
    global _last_pool_sample
    now = time.monotonic()
    if now - _last_pool_sample >= _POOL_SAMPLE_SECONDS:
        _last_pool_sample = now
        sample_pool_gauges()


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
    route: str,
    elapsed: float,
    ingest_endpoint: str | None = None,
    data: object = None,
    problem_code: str = "",
) -> None:
    """Count and time one API request under its route template; for ingest endpoints also its
    events or error code.

    ``data`` is the response body before rendering (a dict for ingest answers), ``problem_code``
    the ``code`` of an error response. Shared by the middleware and the WSGI endpoints.
    """
    tally, labelled = metrics.TALLY, metrics.labelled
    tally.inc_observe(*_request_series(method if method in _METHODS else "OTHER", route, status), elapsed)
    if ingest_endpoint is not None:
        tally.inc_observe(
            labelled(metrics.INGEST_REQUESTS, ingest_endpoint, str(status)),
            labelled(metrics.INGEST_DURATION, ingest_endpoint),
            elapsed,
        )
        if status >= 400:
            tally.inc(labelled(metrics.INGEST_ERRORS, ingest_endpoint, problem_code or f"http_{status}"))
        elif isinstance(data, dict):
            accepted_name, rejected_name = _EVENT_COUNT_MEMBERS.get(ingest_endpoint, _EVENT_COUNT_MEMBERS["legacy"])
            accepted = data.get(accepted_name)
            rejected = data.get(rejected_name)
            if isinstance(accepted, int) and accepted:
                tally.inc(labelled(metrics.INGEST_EVENTS, ingest_endpoint, "accepted"), accepted)
            if isinstance(rejected, int) and rejected:
                tally.inc(labelled(metrics.INGEST_EVENTS, ingest_endpoint, "rejected"), rejected)
    sample_pool_gauges_when_due()


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
            match = request.resolver_match  # set by the handler's resolve; None when nothing matched
            record_api_request(
                request.method or "",
                status,
                route=UNMATCHED_ROUTE if match is None else route_template(match.route),
                elapsed=time.perf_counter() - started,
                ingest_endpoint=endpoint,
                data=getattr(response, "data", None),  # DRF Response: the dict before rendering
                problem_code=_problem_code(response) if endpoint is not None and status >= 400 else "",
            )
        state = getattr(request, RATE_LIMIT_STATE_ATTR, None)
        if state is not None:
            for name, value in rate_limit_headers(state):
                response[name] = value
        return response
