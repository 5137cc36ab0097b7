"""Liveness and readiness probes (``/health`` does no I/O; ``/ready`` asks the database)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from psycopg_pool import ConnectionPool

from sequencer_project.api.problems import DatabaseUnavailableError, problem_response
from sequencer_project.db.availability import (
    database_unreachable_observed,
    drop_broken_idle_connections,
    statement_succeeded,
)

SERVICE_NAME = "stateset-sequencer"
try:
    SERVICE_VERSION = version("stateset-sequencer")
except PackageNotFoundError:  # running from a source tree without installation
    SERVICE_VERSION = "0.0.0"


@require_GET
def health(request: HttpRequest) -> HttpResponse:
    return JsonResponse(
        {
            "status": "healthy",
            "service": SERVICE_NAME,
            "version": SERVICE_VERSION,
            "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        }
    )


def database_ping() -> None:
    """``SELECT 1`` on the default database; ``DatabaseError`` when it does not answer.

    With a pool, the probe takes its own connection and waits for one at most
    ``DB_POOL_FAIL_FAST_TIMEOUT_SECONDS``, not the pool's full wait: right after PostgreSQL went
    away, before any request of this process has seen the failure, a probe that waited the full
    ten seconds answered nothing for the whole outage (``make reliability``, once in CI).

    When the checkout fails, the pool's idle connections are all checked at once and, if that
    dropped any (they died with a PostgreSQL restart), the probe asks once more
    (:func:`sequencer_project.db.availability.drop_broken_idle_connections`).
    """
    pool = getattr(connection, "pool", None)
    if pool is None or connection.connection is not None or connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return
    with connection.wrap_database_errors:  # psycopg's errors as Django's, as on a cursor
        pool.open()  # Django opens its pool at the first checkout; idempotent
        try:
            _select_one(pool)
        except psycopg.OperationalError:  # PoolTimeout too: the checkout dropped a broken connection
            if not drop_broken_idle_connections(pool):
                raise  # nothing idle was broken: the database does not answer
            _select_one(pool)
    statement_succeeded(DEFAULT_DB_ALIAS)


def _select_one(pool: ConnectionPool) -> None:
    with pool.connection(timeout=settings.DB_POOL_FAIL_FAST_TIMEOUT_SECONDS) as raw:
        raw.execute("SELECT 1").fetchone()


@require_GET
def ready(request: HttpRequest) -> HttpResponse:
    started = time.perf_counter()
    try:
        database_ping()
    except DatabaseError as exc:
        database_unreachable_observed(exc)
        return problem_response(DatabaseUnavailableError("The database did not answer the readiness probe."))
    elapsed_ms = (time.perf_counter() - started) * 1000
    return JsonResponse({"status": "ready", "database": {"connected": True, "response_time_ms": round(elapsed_ms, 3)}})
