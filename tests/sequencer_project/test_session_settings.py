"""``DB_STARTUP_OPTIONS=false`` (PgBouncer refuses the startup parameter ``options``): the session
timeouts and time zone then come from the role or database, and each process checks them on its
first connection (``sequencer_project/db/session_settings.py``): an ERROR naming each that differs
and ``/health/detailed``'s ``database_session`` component degraded; nothing when they match.

Each case runs a child process (a fresh process makes its first connection) on the test database,
with ``ALTER ROLE … IN DATABASE`` settings on that database only, reset afterwards."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from psycopg import sql

from tests.sequencer_project.ops_helpers import child_database_url, run_django

pytestmark = pytest.mark.django_db

TIMEOUTS = {"statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout"}

CHILD = """
import json, logging
from django.conf import settings
from django.db import connection
from django.test import Client

records = []
handler = logging.Handler()
handler.emit = lambda record: records.append((record.levelname, record.getMessage()))
logging.getLogger("sequencer_project.db.session_settings").addHandler(handler)
connection.ensure_connection()
with connection.cursor() as cursor:
    cursor.execute("SHOW lock_timeout")
    lock_timeout = cursor.fetchone()[0]
response = Client().get("/health/detailed", HTTP_AUTHORIZATION=f"ApiKey {settings.BOOTSTRAP_ADMIN_API_KEY}")
component = response.json()["components"]["database_session"]
print(json.dumps({"logs": records, "component": component, "lock_timeout": lock_timeout}))
"""


@pytest.fixture
def role_settings() -> Iterator[Callable[[dict[str, str]], None]]:
    """Set session defaults for this role on the test database only (autocommit, so the child
    sees them); all reset afterwards."""
    url = child_database_url()
    target = sql.SQL("ALTER ROLE CURRENT_USER IN DATABASE {}").format(sql.Identifier(connection.settings_dict["NAME"]))

    def apply(values: dict[str, str]) -> None:
        with psycopg.connect(url, autocommit=True) as raw:
            for name, value in values.items():
                raw.execute(sql.SQL("{} SET {} = {}").format(target, sql.Identifier(name), sql.Literal(value)))

    yield apply
    with psycopg.connect(url, autocommit=True) as raw:
        raw.execute(sql.SQL("{} RESET ALL").format(target))


def _child(**env: str) -> Any:
    return run_django(CHILD, {"DATABASE_URL": child_database_url(), "DB_POOL_ENABLED": "false", **env})


def test_without_startup_options_or_role_settings_each_difference_is_named(role_settings: Any) -> None:
    role_settings({"TimeZone": "Europe/Paris"})

    out = _child(DB_STARTUP_OPTIONS="false")

    errors = [message for level, message in out["logs"] if level == "ERROR"]
    assert len(errors) == 1
    for name in TIMEOUTS:
        assert name in errors[0]
    assert out["component"]["status"] == "degraded"
    assert out["component"]["startup_options"] is False
    # TimeZone is compared too, but Django sets it on each new session (TIME_ZONE, UTC) when the
    # server's differs, so the role's zone never reaches a statement.
    assert set(out["component"]["differs"]) == TIMEOUTS
    assert out["component"]["differs"]["lock_timeout"] == {"actual": "0", "expected": str(settings.DB_LOCK_TIMEOUT_MS)}
    assert out["lock_timeout"] == "0"  # the lock wait the timeouts exist to bound is unbounded


def test_with_role_settings_nothing_is_reported(role_settings: Any) -> None:
    role_settings(
        {
            "statement_timeout": str(settings.DB_STATEMENT_TIMEOUT_MS),
            "lock_timeout": str(settings.DB_LOCK_TIMEOUT_MS),
            "idle_in_transaction_session_timeout": str(settings.DB_IDLE_IN_TX_TIMEOUT_MS),
            "TimeZone": "UTC",
        }
    )

    out = _child(DB_STARTUP_OPTIONS="false")

    assert [level for level, _ in out["logs"] if level in ("ERROR", "WARNING")] == []
    assert out["component"] == {"status": "healthy", "startup_options": False}
    assert out["lock_timeout"] == f"{settings.DB_LOCK_TIMEOUT_MS // 1000}s"


def test_startup_options_win_over_role_settings(role_settings: Any) -> None:
    role_settings({"lock_timeout": "1", "TimeZone": "Europe/Paris"})

    out = _child()  # DB_STARTUP_OPTIONS defaults to true

    assert out["logs"] == []
    assert out["component"] == {"status": "healthy", "startup_options": True}


def test_a_partial_role_setup_names_only_what_is_missing(role_settings: Any) -> None:
    role_settings({"statement_timeout": str(settings.DB_STATEMENT_TIMEOUT_MS), "lock_timeout": "5s", "TimeZone": "UTC"})

    out = _child(DB_STARTUP_OPTIONS="false")

    assert set(out["component"]["differs"]) == {"lock_timeout", "idle_in_transaction_session_timeout"}
    assert out["component"]["differs"]["lock_timeout"]["actual"] == "5000"
