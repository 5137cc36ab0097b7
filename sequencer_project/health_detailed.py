"""``GET /health/detailed`` (an admin credential with no store or agent scope): every dependency,
with an overall status.

``unhealthy`` (HTTP 503) when the database does not answer; ``degraded`` (200) when anything
else is wrong: the pool is nearly exhausted, Redis or the Celery broker is unreachable, no
Celery worker answers, a circuit breaker is open, the read replica (``DATABASE_READ_URL``)
cannot be read or lags past ``DATABASE_READ_MAX_LAG_SECONDS`` (``components.replica``), or a
subsystem's own component (registered with :func:`register_component_check`: projections
stalled or dead letters open) says so.
Subsystems add their own figures (commitment lag, projection lag, dead-letter size) through
:func:`sequencer_project.metrics.register_gauge_provider`; they appear under ``"gauges"``.
Every probe has a short timeout, so the whole check answers in about a second at worst.

The body carries every member of the reference's ``DetailedHealthResponse``
(``src/api/handlers/health.rs``): ``status, service, version, timestamp`` (chrono's
``to_rfc3339``, ``+00:00``), ``components.database`` (``name: "postgresql"``, integer
``response_time_ms``, ``message`` on failure), ``components.pool`` (``total_connections,
active_connections, idle_connections, max_connections`` integers, ``utilization_percent``),
``components.circuit_breakers`` (a list of ``{name, state, successes, failures, rejected}``),
``components.anchor_service`` when anchoring is configured, and ``system``. Ours sit beside
them: Redis, Celery, subsystem components, ``gauges``, and the breakers again at the top level
as a map by name (the reference's troubleshooting guide reads ``jq '.circuit_breakers'``).
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sequencer_project.api.openapi import DATETIME, FREE_OBJECT, INTEGER, STRING, array, obj, operation
from sequencer_project.api.timestamps import chrono_rfc3339
from sequencer_project.db.replica import replica_report
from sequencer_project.health import SERVICE_NAME, SERVICE_VERSION, database_ping_within
from sequencer_project.metrics import gauge_providers
from sequencer_project.metrics_export import IsServiceWideAdmin, celery_queue_depths
from sequencer_project.redis_client import REDIS_UNAVAILABLE, guarded
from sequencer_project.resilience import CircuitOpenError, all_breakers

HEALTHY, DEGRADED, UNHEALTHY = "healthy", "degraded", "unhealthy"
NUMBER: dict[str, Any] = {"type": "number"}
POOL_DEGRADED_RATIO = 0.9
CELERY_PING_TIMEOUT_SECONDS = 0.5


_STARTED = time.monotonic()

ComponentCheck = Callable[[], dict[str, Any] | None]
_component_checks: dict[str, ComponentCheck] = {}


def register_component_check(name: str, check: ComponentCheck) -> None:
    """Add a subsystem's component to the report (an app's ``ready()``). ``check`` returns a dict
    with a ``status``, or ``None`` to leave the component out (a subsystem not configured); it
    may read the database, so it is skipped while the database is down."""
    _component_checks[name] = check


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def check_database() -> dict[str, Any]:
    """The reference's ``ComponentStatus``: whole milliseconds, as Rust's ``as_millis``."""
    started = time.perf_counter()
    try:
        database_ping_within(settings.READY_TIMEOUT_SECONDS)
    except DatabaseError as exc:
        return {
            "name": "postgresql",
            "status": UNHEALTHY,
            "message": "Connection failed",
            "response_time_ms": int(_ms(started)),
            "error": type(exc).__name__,
        }
    return {"name": "postgresql", "status": HEALTHY, "response_time_ms": int(_ms(started))}


def check_pool(database_status: str) -> dict[str, Any]:
    """The reference's ``PoolStatus`` members first, then ours (this process's pool only)."""
    pool = getattr(connection, "pool", None)
    if pool is None:  # as the reference without a pool monitor: zeros, status of the database
        return {
            "status": HEALTHY if database_status == HEALTHY else UNHEALTHY,
            "total_connections": 0,
            "active_connections": 0,
            "idle_connections": 0,
            "max_connections": 0,
            "utilization_percent": 0.0,
            "enabled": False,
        }
    stats = pool.get_stats()
    size, idle = int(stats.get("pool_size", 0)), int(stats.get("pool_available", 0))
    maximum, waiting = int(stats.get("pool_max", 0)), int(stats.get("requests_waiting", 0))
    active = max(size - idle, 0)
    utilization = active / maximum if maximum else 0.0
    status = DEGRADED if waiting > 0 or utilization >= POOL_DEGRADED_RATIO else HEALTHY
    return {
        "status": status,
        "total_connections": size,
        "active_connections": active,
        "idle_connections": idle,
        "max_connections": maximum,
        "utilization_percent": round(utilization * 100, 1),
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


def breaker_list(breakers: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The reference's ``CircuitBreakerStatus`` list: calls counted since this process started."""
    return [
        {
            "name": name,
            "state": b["state"],
            "successes": b["successes"],
            "failures": b["failures"],
            "rejected": b["rejected"],
        }
        for name, b in breakers.items()
    ]


def detailed_report() -> dict[str, Any]:
    database = check_database()
    redis_report = check_redis()
    breakers = {name: breaker.snapshot() for name, breaker in sorted(all_breakers().items())}
    components: dict[str, Any] = {
        "database": database,
        "pool": check_pool(database["status"]),
        "circuit_breakers": breaker_list(breakers),
        "redis": redis_report,
        "celery": check_celery(broker_up=redis_report["status"] == HEALTHY),
    }
    replica = replica_report()  # DATABASE_READ_URL only: reachability, lag, replay paused
    if replica is not None:
        components["replica"] = replica
    for name, check in sorted(_component_checks.items()):
        if database["status"] == UNHEALTHY:
            components[name] = {"status": DEGRADED, "error": "database_unavailable"}
            continue
        try:
            result = check()
        except Exception as exc:  # a broken check degrades its component, never the report
            result = {"status": DEGRADED, "error": type(exc).__name__}
        if result is not None:
            components[name] = result
    gauges: dict[str, Any] = {}
    for provider in gauge_providers():
        if database["status"] == UNHEALTHY:
            # Providers read values only the database knows (lag, dead letters): asking each
            # would wait a pool timeout apiece for nothing (ADR 0010).
            gauges[provider.name] = {"error": "database_unavailable"}
            continue
        try:
            gauges[provider.name] = provider.read()
        except Exception as exc:  # one broken provider must not hide the rest
            gauges[provider.name] = {"error": type(exc).__name__}
    statuses = [c["status"] for c in components.values() if isinstance(c, dict)]
    if any(b["state"] == "open" for b in breakers.values()):
        statuses.append(DEGRADED)
    healthy = all(status == HEALTHY for status in statuses)
    overall = UNHEALTHY if database["status"] == UNHEALTHY else HEALTHY if healthy else DEGRADED
    return {
        "status": overall,
        "service": SERVICE_NAME,
        "version": SERVICE_VERSION,
        "timestamp": chrono_rfc3339(datetime.now(UTC)),
        "components": components,
        # The reference writes {uptime_secs?, rust_version}; we run on Python, not Rust.
        "system": {"uptime_secs": int(time.monotonic() - _STARTED), "python_version": platform.python_version()},
        "circuit_breakers": breakers,
        "gauges": gauges,
    }


_STATUS: dict[str, Any] = {"type": "string", "enum": [HEALTHY, DEGRADED, UNHEALTHY]}
_BREAKER = obj(
    {"name": STRING, "state": {"type": "string", "enum": ["closed", "open", "half_open"]}}
    | {n: INTEGER for n in ("successes", "failures", "rejected")}
)
DETAILED_REPORT = obj(
    {
        "status": _STATUS,
        "service": {"type": "string", "enum": [SERVICE_NAME]},
        "version": STRING,
        "timestamp": {**DATETIME, "description": "RFC 3339, +00:00 offset (chrono to_rfc3339)"},
        "components": obj(
            {
                "database": obj(
                    {"name": STRING, "status": _STATUS, "message": STRING, "response_time_ms": INTEGER},
                    optional=("message",),
                    additionalProperties=True,
                ),
                "pool": obj(
                    {n: INTEGER for n in ("total_connections", "active_connections", "idle_connections")}
                    | {"status": _STATUS, "max_connections": INTEGER, "utilization_percent": NUMBER},
                    additionalProperties=True,
                ),
                "circuit_breakers": array(_BREAKER),
                "anchor_service": obj({"name": STRING, "status": _STATUS, "message": STRING}),
                "redis": FREE_OBJECT,
                "celery": FREE_OBJECT,
            },
            optional=("anchor_service",),
            additionalProperties=FREE_OBJECT,
        ),
        "system": obj({"uptime_secs": INTEGER, "python_version": STRING}),
        "circuit_breakers": {"type": "object", "additionalProperties": FREE_OBJECT},
        "gauges": {"type": "object", "additionalProperties": True},
    }
)


class DetailedHealthApi(APIView):
    permission_classes = [IsServiceWideAdmin]

    @operation(
        "operations",
        "health_detailed",
        "Every dependency with an overall status; 503 with the same report when the database is down",
        responses={503: DETAILED_REPORT},
        ok=DETAILED_REPORT,
    )
    def get(self, request: Request) -> Response:
        report = detailed_report()
        return Response(report, status=503 if report["status"] == UNHEALTHY else 200)
