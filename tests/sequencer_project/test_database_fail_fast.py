"""Fail fast while the primary is unreachable (sequencer_project/db/availability.py, ADR 0010).

``make reliability`` crashes a real PostgreSQL under load; these tests pin the mechanism: a
connection-class error shortens this process's pool wait, a statement error does not, and the
next successful statement restores the normal wait.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.db import OperationalError, connection

from sequencer_project.db import availability
from tests.sequencer_project.ops_helpers import child_database_url, closed_port, run_django

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def pool() -> Iterator[Any]:
    with connection.cursor() as cursor:  # the pool exists once a connection was taken from it
        cursor.execute("SELECT 1")
    pool = availability._pool()
    assert pool is not None
    yield pool
    availability.statement_succeeded(connection.alias)
    pool.timeout = settings.DB_POOL_TIMEOUT_SECONDS


def _wrapped(cause: BaseException) -> OperationalError:
    exc = OperationalError(str(cause))
    exc.__cause__ = cause
    return exc


def test_a_terminated_session_makes_the_process_fail_fast_until_a_statement_succeeds(pool: Any) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    with psycopg.connect(child_database_url(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [backend])

    with pytest.raises(OperationalError), connection.cursor() as cursor:
        cursor.execute("SELECT 1")

    assert availability.failing_fast()
    assert pool.timeout == settings.DB_POOL_FAIL_FAST_TIMEOUT_SECONDS
    connection.close()  # the dead session goes back to the pool, which discards it
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    assert not availability.failing_fast()
    assert pool.timeout == settings.DB_POOL_TIMEOUT_SECONDS


def test_the_statement_that_ends_an_outage_drops_the_broken_idle_connections(pool: Any) -> None:
    """Idle sessions from before a restart are gone: the pool would drop them one checkout (and
    one second of back-off) at a time; the first statement that succeeds drops them all."""
    held = [pool.getconn() for _ in range(3)]
    pids = [conn.info.backend_pid for conn in held]
    for conn in held:
        pool.putconn(conn)
    with psycopg.connect(child_database_url(), autocommit=True) as admin:
        for pid in pids:
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    availability.database_unreachable_observed(_wrapped(psycopg.OperationalError("server closed the connection")))
    lost_before = pool.get_stats().get("connections_lost", 0)

    availability.statement_succeeded(connection.alias)

    assert pool.get_stats().get("connections_lost", 0) - lost_before == 3
    assert pool.timeout == settings.DB_POOL_TIMEOUT_SECONDS


@pytest.mark.parametrize(
    "cause",
    [psycopg.errors.LockNotAvailable(), psycopg.errors.QueryCanceled(), psycopg.errors.SerializationFailure()],
)
def test_an_error_of_one_statement_is_not_an_outage(pool: Any, cause: BaseException) -> None:
    availability.database_unreachable_observed(_wrapped(cause))

    assert not availability.failing_fast()
    assert pool.timeout == settings.DB_POOL_TIMEOUT_SECONDS


@pytest.mark.parametrize(
    "cause",
    [
        psycopg.OperationalError("connection refused"),
        psycopg.errors.AdminShutdown(),
        psycopg.errors.ConnectionFailure(),
    ],
)
def test_connection_class_errors_are_an_outage(pool: Any, cause: BaseException) -> None:
    assert availability.is_unreachable_error(_wrapped(cause))


def test_ready_on_an_unreachable_database_answers_503_and_later_waits_are_short() -> None:
    code = """
import json
from django.db import connection
from django.test import Client
from sequencer_project.db import availability
first = Client().get("/ready")
second = Client().get("/ready")
print(json.dumps({"first": first.status_code, "code": first.json()["code"], "second": second.status_code,
                  "failing_fast": availability.failing_fast(), "wait": connection.pool.timeout}))
"""
    env = {
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{closed_port()}/nowhere",
        "DB_POOL_TIMEOUT_SECONDS": "2",
        "DB_POOL_FAIL_FAST_TIMEOUT_SECONDS": "0.25",
    }

    result = run_django(code, env)

    assert (result["first"], result["code"], result["second"]) == (503, "database_unavailable", 503)
    assert result["failing_fast"] is True
    assert result["wait"] == 0.25


def test_ready_never_waits_the_pools_full_wait_for_a_connection() -> None:
    """The probe bounds its own wait: with every pooled connection taken (as right after an
    outage, before anything in the process has seen it), it answers 503 after the short wait."""
    code = """
import json, time
from django.db import connection
from django.test import Client
connection.ensure_connection()
connection.close()  # the pool exists now; its connections are all taken below
held = [connection.pool.getconn() for _ in range(connection.pool.max_size)]
started = time.monotonic()
answer = Client().get("/ready")
print(json.dumps({"status": answer.status_code, "code": answer.json()["code"], "seconds": time.monotonic() - started}))
"""
    env = {
        "DATABASE_URL": child_database_url(),
        "DB_POOL_MAX_SIZE": "2",
        "DB_POOL_TIMEOUT_SECONDS": "20",
        "DB_POOL_FAIL_FAST_TIMEOUT_SECONDS": "0.25",
    }

    result = run_django(code, env)

    assert (result["status"], result["code"]) == (503, "database_unavailable")
    assert result["seconds"] < 20  # the pool's wait would have been 20 s; the probe's is 0.25 s


def test_one_chain_of_background_reconnects_is_short(pool: Any) -> None:
    """After it the pool gives up and the next waiting request starts a fresh chain at once, so
    recovery never lags PostgreSQL's return by a long backoff (psycopg_pool's default is 300 s)."""
    assert pool.reconnect_timeout == settings.DB_POOL_RECONNECT_TIMEOUT_SECONDS == 5.0


def test_ready_answers_200_when_the_pool_holds_connections_from_before_a_restart() -> None:
    """Every idle pooled connection's session is gone (as after PostgreSQL restarted): the probe
    drops them and answers from a new connection, instead of answering 503 once per broken one."""
    code = """
import json, psycopg
from django.db import connection
from django.test import Client
connection.ensure_connection()
connection.close()  # the pool exists now
pool = connection.pool
held = [pool.getconn() for _ in range(pool.max_size)]
pids = [conn.info.backend_pid for conn in held]
for conn in held:
    pool.putconn(conn)
with psycopg.connect(connection.settings_dict["_URL"], autocommit=True) as admin:
    for pid in pids:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
answer = Client().get("/ready")
print(json.dumps({"status": answer.status_code, "terminated": len(pids)}))
"""
    env = {"DATABASE_URL": child_database_url(), "DB_POOL_MIN_SIZE": "3", "DB_POOL_MAX_SIZE": "3"}

    result = run_django(code.replace('connection.settings_dict["_URL"]', repr(child_database_url())), env)

    assert result == {"status": 200, "terminated": 3}
