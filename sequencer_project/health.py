"""Liveness and readiness probes (``/health`` does no I/O; ``/ready`` asks the database).

Their bodies are the reference's (``src/api/handlers/health.rs``) as serde writes them: compact
JSON (its e2e script greps ``"status":"healthy"``), chrono's ``to_rfc3339`` timestamp, and for
``/ready`` whole milliseconds, a ``pool`` member always present (``null`` without a pool) and the
members in key order (a ``json!`` map).
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import orjson
import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, OperationalError, connection, connections
from django.http import HttpRequest, HttpResponse
from psycopg_pool import ConnectionPool

from sequencer_project.api.errors import MethodNotAllowedError
from sequencer_project.api.problems import DatabaseUnavailableError, problem_response
from sequencer_project.api.timestamps import chrono_rfc3339
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


# The reference's PoolMonitorConfig thresholds (share of the pool in use) and names.
_POOL_LEVELS = ((0.95, "critical"), (0.8, "stressed"), (0.5, "moderate"))


def probe(view: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    """A probe answers ``GET`` (and ``HEAD``); any other method is a 405 problem with ``Allow``,
    not Django's empty HTML 405 (``require_GET``)."""

    @functools.wraps(view)
    def only_get(request: HttpRequest) -> HttpResponse:
        if request.method not in {"GET", "HEAD"}:
            problem = MethodNotAllowedError(
                f"{request.method} is not allowed here; use GET.", headers={"Allow": "GET, HEAD"}
            )
            return problem_response(problem)
        return view(request)

    return only_get


def _json(body: dict[str, Any], option: int = 0) -> HttpResponse:
    return HttpResponse(orjson.dumps(body, option=option), content_type="application/json")


@probe
def health(request: HttpRequest) -> HttpResponse:
    return _json(
        {
            "status": "healthy",
            "service": SERVICE_NAME,
            "version": SERVICE_VERSION,
            "timestamp": chrono_rfc3339(datetime.now(UTC)),
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


class _Ping:
    """The one :func:`database_ping` of this process in flight for the probes (its own thread),
    when it started, and what it raised."""

    lock = threading.Lock()
    thread: threading.Thread | None = None
    started = 0.0
    failure: list[BaseException] = []


def database_ping_within(seconds: float) -> None:
    """:func:`database_ping`, given at most ``seconds`` to answer; ``DatabaseError`` when it fails
    or does not answer in time.

    A PostgreSQL that is stopped while its host still answers TCP (SIGSTOP, a paused VM) holds a
    statement until it resumes, and no server-side or TCP timeout ends it: the ping runs in a
    thread of its own and the probe stops waiting for it. Probes at the same moment share one
    ping (each waits for it up to its own ``seconds``); one that finds the ping in flight for
    longer than ``seconds`` already answers at once. So a hung database holds one thread, not
    one a probe, and two probers of a healthy one both get its answer.
    """
    with _Ping.lock:
        thread, now = _Ping.thread, time.monotonic()
        if thread is None or not thread.is_alive():
            failure: list[BaseException] = []

            def ping() -> None:
                try:
                    database_ping()
                except BaseException as exc:  # handed to the waiting probes
                    failure.append(exc)
                finally:
                    connections.close_all()  # this thread's own, when the ping had to open one

            thread = threading.Thread(target=ping, name="readiness-ping", daemon=True)
            _Ping.thread, _Ping.started, _Ping.failure = thread, now, failure
            thread.start()
        started, failure = _Ping.started, _Ping.failure
    thread.join(max(0.0, started + seconds - now))  # the ping has ``seconds`` from its start
    if thread.is_alive():
        raise OperationalError(f"the database did not answer within {seconds:g} s")
    if failure:
        raise failure[0]


@probe
def ready(request: HttpRequest) -> HttpResponse:
    started = time.perf_counter()
    try:
        database_ping_within(settings.READY_TIMEOUT_SECONDS)
    except DatabaseError as exc:
        database_unreachable_observed(exc)
        problem = DatabaseUnavailableError(
            "The database did not answer the readiness probe.", headers={"Retry-After": "1"}
        )
        return problem_response(problem)
    elapsed_ms = int((time.perf_counter() - started) * 1000)  # whole ms, as Rust's as_millis()
    body = {"status": "ready", "database": {"connected": True, "response_time_ms": elapsed_ms}, "pool": pool()}
    return _json(body, orjson.OPT_SORT_KEYS)  # the reference's json! value: serde_json's sorted map


def pool() -> dict[str, Any] | None:
    """The reference's ``pool`` member of ``/ready`` for this process's psycopg pool (``None``
    without one, as the reference without a pool monitor): ``status`` by share in use,
    ``utilization`` as ``"12.5%"``, ``active`` and ``idle`` connections."""
    connection_pool = getattr(connection, "pool", None)
    if connection_pool is None:
        return None
    stats = connection_pool.get_stats()
    idle = int(stats.get("pool_available", 0))
    active = max(int(stats.get("pool_size", 0)) - idle, 0)
    maximum = int(stats.get("pool_max", 0))
    utilization = active / maximum if maximum else 0.0
    status = next((name for floor, name in _POOL_LEVELS if utilization >= floor), "healthy")
    return {"status": status, "utilization": f"{utilization * 100:.1f}%", "active": active, "idle": idle}
