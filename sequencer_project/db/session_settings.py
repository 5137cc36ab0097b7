"""The session settings every database connection must have, checked against the server's.

Each connection is meant to run with ``statement_timeout``, ``lock_timeout`` and
``idle_in_transaction_session_timeout`` as configured (``DB_*_MS``) and ``TimeZone`` UTC: a lock
wait past ``DB_LOCK_TIMEOUT_MS`` answers 503 ``stream_busy`` instead of hanging. They are sent as
the startup parameter ``options`` unless ``DB_STARTUP_OPTIONS`` is off (PgBouncer refuses that
parameter; ``ignore_startup_parameters = options`` drops them without a word). Then the
deployment sets them on the role or database (``ALTER ROLE … SET``, docs/scaling.md
"Connections"), and nothing but this module notices when it did not.

:func:`verify_on_connection` (a ``connection_created`` receiver) compares the server's values
with the configured ones on each alias's first connection in the process (web, worker and beat
alike) and logs an ERROR naming each one that differs; :func:`session_settings_health` is the
``database_session`` component of ``/health/detailed``, ``degraded`` while any differs.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.backends.base.base import BaseDatabaseWrapper

from sequencer_project.sql import SELECT_SESSION_SETTINGS, SET_LOCAL_IDLE_IN_TRANSACTION_UNBOUNDED

logger = logging.getLogger(__name__)

_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Universal", "Universal", "Etc/Zulu", "Zulu"})

_verified: set[str] = set()
_verified_guard = threading.Lock()


@dataclass(frozen=True, slots=True)
class Difference:
    """One session setting whose value on the server is not the configured one."""

    name: str
    actual: str
    expected: str


def expected_settings() -> dict[str, str]:
    """The configured values, as ``pg_settings.setting`` shows them."""
    return {
        "statement_timeout": str(settings.DB_STATEMENT_TIMEOUT_MS),
        "lock_timeout": str(settings.DB_LOCK_TIMEOUT_MS),
        "idle_in_transaction_session_timeout": str(settings.DB_IDLE_IN_TX_TIMEOUT_MS),
        "TimeZone": "UTC",
    }


def session_settings_differences(wrapper: BaseDatabaseWrapper = connection) -> list[Difference]:
    """The settings of ``wrapper``'s session that differ from :func:`expected_settings`. One statement."""
    expected = expected_settings()
    with wrapper.cursor() as cursor:
        cursor.execute(SELECT_SESSION_SETTINGS, [list(expected)])
        actual = {str(name): str(value) for name, value in cursor.fetchall()}
    differences = []
    for name, wanted in expected.items():
        found = actual.get(name, "")
        same = found in _UTC_NAMES if name == "TimeZone" else found == wanted
        if not same:
            differences.append(Difference(name, found, wanted))
    return differences


def _describe(differences: list[Difference]) -> str:
    return ", ".join(f"{d.name} is {d.actual!r}, configured {d.expected!r}" for d in differences)


def verify_on_connection(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """``connection_created`` receiver: on the first connection of each alias in this process,
    log an ERROR naming every session setting that differs (once; a failed read is retried on
    the next connection)."""
    alias = connection.alias
    if alias in _verified:
        return
    with _verified_guard:
        if alias in _verified:
            return
        try:
            differences = session_settings_differences(connection)
        except DatabaseError as exc:
            logger.warning("could not read the session settings of database %s: %s", alias, exc)
            return
        _verified.add(alias)
    if differences:
        logger.error(
            "database %s: session settings differ from the configuration (%s); set them on the role or"
            " database, or send them as startup options (DB_STARTUP_OPTIONS)",
            alias,
            _describe(differences),
        )


def session_settings_health() -> dict[str, Any]:
    """The ``database_session`` component of ``/health/detailed``: ``degraded`` while a session
    setting differs from the configuration, naming each (``differs``)."""
    differences = session_settings_differences(connection)
    component: dict[str, Any] = {
        "status": "degraded" if differences else "healthy",
        "startup_options": settings.DB_STARTUP_OPTIONS,
    }
    if differences:
        component["differs"] = {d.name: {"actual": d.actual, "expected": d.expected} for d in differences}
    return component


def idle_in_transaction_unbounded() -> None:
    """Lift the idle-in-transaction timeout for the rest of the caller's transaction, which
    waits outside the database with rows locked (RPCs under the EVM sender lock: anchoring and
    x402 settlement). Caller holds the transaction."""
    with connection.cursor() as cursor:
        cursor.execute(SET_LOCAL_IDLE_IN_TRANSACTION_UNBOUNDED)
