"""``GET /health/detailed`` (admin credential): every dependency, with an overall status.

``unhealthy`` (HTTP 503) when the database does not answer; ``degraded`` (200) when anything
else is wrong: the pool is nearly exhausted, Redis or the Celery broker is unreachable, no
Celery worker answers, a circuit breaker is open, or a subsystem's own component (registered
with :func:`register_component_check`: projections stalled or dead letters open) says so.
Subsystems add their own figures (commitment lag, projection lag, dead-letter size) through
:func:`sequencer_project.metrics.register_gauge_provider`; they appear under ``"gauges"``.
Every probe has a short timeout, so the whole check answers in about a second at worst.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import redis
from django.db import DatabaseError, connection
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sequencer_project.api.openapi import DATETIME, FREE_OBJECT, obj
from sequencer_project.api.permissions import IsAdminPrincipal
from sequencer_project.metrics import gauge_providers
from sequencer_project.metrics_export import celery_queue_depths
from sequencer_project.redis_client import REDIS_UNAVAILABLE, guarded
from sequencer_project.resilience import CircuitOpenError, all_breakers

HEALTHY, DEGRADED, UNHEALTHY = "healthy", "degraded", "unhealthy"
POOL_DEGRADED_RATIO = 0.9
CELERY_PING_TIMEOUT_SECONDS = 0.5


_component_checks: dict[str, Callable[[], dict[str, Any]]] = {}


def register_component_check(name: str, check: Callable[[], dict[str, Any]]) -> None:
    """Add a subsystem's component to the report (an app's ``ready()``). ``check`` returns a dict
    with a ``status``; it reads the database, so it is skipped while the database is down."""
    _component_checks[name] = check


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def check_database() -> dict[str, Any]:
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return {"status": UNHEALTHY, "error": type(exc).__name__, "response_time_ms": _ms(started)}
    return {"status": HEALTHY, "response_time_ms": _ms(started)}


def check_pool() -> dict[str, Any]:
    pool = getattr(connection, "pool", None)
    if pool is None:
        return {"status": HEALTHY, "enabled": False}
    stats = pool.get_stats()
    size, idle = int(stats.get("pool_size", 0)), int(stats.get("pool_available", 0))
    maximum, waiting = int(stats.get("pool_max", 0)), int(stats.get("requests_waiting", 0))
    active = max(size - idle, 0)
    utilization = active / maximum if maximum else 0.0
    status = DEGRADED if waiting > 0 or utilization >= POOL_DEGRADED_RATIO else HEALTHY
    return {
        "status": status,
        "enabled": True,
        "scope": "this process",
        "active": active,
        "idle": idle,
        "max": maximum,
        "waiting": waiting,
        "utilization": round(utilization, 3),
    }


def check_redis() -> dict[str, Any]:
    started = time.perf_counter()
    try:
        guarded(lambda client: client.ping())
    except CircuitOpenError as exc:
        return {"status": DEGRADED, "error": "circuit_open", "retry_in_seconds": round(exc.retry_after, 3)}
    except REDIS_UNAVAILABLE as exc:
        return {"status": DEGRADED, "error": type(exc).__name__, "response_time_ms": _ms(started)}
    return {"status": HEALTHY, "response_time_ms": _ms(started)}


def check_celery(broker_up: bool) -> dict[str, Any]:
    if not broker_up:
        return {"status": DEGRADED, "error": "broker_unreachable"}
    try:
        depths = celery_queue_depths()
    except (CircuitOpenError, redis.RedisError, OSError) as exc:
        return {"status": DEGRADED, "error": type(exc).__name__}
    from sequencer_project.celery import app

    try:
        replies = app.control.ping(timeout=CELERY_PING_TIMEOUT_SECONDS) or []
    except Exception as exc:  # kombu raises transport-specific errors
        return {"status": DEGRADED, "error": type(exc).__name__, "queue_depth": depths}
    workers = sorted(name for reply in replies for name in reply)
    return {
        "status": HEALTHY if workers else DEGRADED,
        "workers": len(workers),
        "worker_names": workers,
        "queue_depth": depths,
    }


def detailed_report() -> dict[str, Any]:
    database = check_database()
    redis_report = check_redis()
    components: dict[str, Any] = {
        "database": database,
        "pool": check_pool(),
        "redis": redis_report,
        "celery": check_celery(broker_up=redis_report["status"] == HEALTHY),
    }
    for name, check in sorted(_component_checks.items()):
        if database["status"] == UNHEALTHY:
            components[name] = {"status": DEGRADED, "error": "database_unavailable"}
            continue
        try:
            components[name] = check()
        except Exception as exc:  # a broken check degrades its component, never the report
            components[name] = {"status": DEGRADED, "error": type(exc).__name__}
    breakers = {name: breaker.snapshot() for name, breaker in sorted(all_breakers().items())}
    gauges: dict[str, Any] = {}
    for provider in gauge_providers():
        if database["status"] == UNHEALTHY:
            # Providers read values only the database knows (lag, dead letters): asking each
            # would wait a pool timeout apiece for nothing (issue 6).
            gauges[provider.name] = {"error": "database_unavailable"}
            continue
        try:
            gauges[provider.name] = provider.read()
        except Exception as exc:  # one broken provider must not hide the rest
            gauges[provider.name] = {"error": type(exc).__name__}
    statuses = [c["status"] for c in components.values()]
    if any(b["state"] == "open" for b in breakers.values()):
        statuses.append(DEGRADED)
    overall = UNHEALTHY if database["status"] == UNHEALTHY else DEGRADED if DEGRADED in statuses else HEALTHY
    return {
        "status": overall,
        "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "components": components,
        "circuit_breakers": breakers,
        "gauges": gauges,
    }


DETAILED_REPORT = obj(
    {
        "status": {"type": "string", "enum": [HEALTHY, DEGRADED, UNHEALTHY]},
        "timestamp": DATETIME,
        "components": obj(
            {name: FREE_OBJECT for name in ("database", "pool", "redis", "celery")},
            additionalProperties=FREE_OBJECT,
        ),
        "circuit_breakers": {"type": "object", "additionalProperties": FREE_OBJECT},
        "gauges": {"type": "object", "additionalProperties": True},
    }
)


class DetailedHealthApi(APIView):
    permission_classes = [IsAdminPrincipal]

    @extend_schema(
        operation_id="health_detailed",
        summary="Every dependency with an overall status; 503 with the same report when the database is down",
        tags=["operations"],
        responses={200: DETAILED_REPORT, 503: DETAILED_REPORT},
    )
    def get(self, request: Request) -> Response:
        report = detailed_report()
        return Response(report, status=503 if report["status"] == UNHEALTHY else 200)
