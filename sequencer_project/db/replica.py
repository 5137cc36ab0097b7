"""Optional read replica (``DATABASE_READ_URL``) for the query endpoints.

:func:`read_cursor` hands selectors a cursor on the ``replica`` alias when one is configured
and reachable, otherwise on ``default``. Connecting to the replica goes through the
``db_replica`` circuit breaker: after a few failed connects the primary serves reads at once
(no connect timeout per request) until a probe succeeds. A replica that dies in the middle of
a statement fails that one request with 503 ``database_unavailable``.

A replica lags the primary: a read may not yet see an event that was just acknowledged
(each read is one consistent snapshot, so a range is still gap-free). Ingest and anything
that must read its own writes always uses the primary.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

import psycopg
from django.conf import settings
from django.db import InterfaceError, OperationalError, connections

from sequencer_project.resilience import CircuitBreaker, CircuitOpenError, get_breaker

logger = logging.getLogger(__name__)

REPLICA_ALIAS = "replica"
_orm_alias: ContextVar[str | None] = ContextVar("orm_read_alias", default=None)


def replica_configured() -> bool:
    return REPLICA_ALIAS in settings.DATABASES


def replica_breaker() -> CircuitBreaker:
    return get_breaker("db_replica", failure_threshold=3, reset_timeout=5.0)


def read_alias() -> str:
    """``replica`` when configured and connectable now, else ``default``."""
    if not replica_configured():
        return "default"
    replica = connections[REPLICA_ALIAS]
    try:
        replica_breaker().call(replica.ensure_connection, failure_types=(OperationalError, InterfaceError))
    except CircuitOpenError:
        return "default"
    except (OperationalError, InterfaceError) as exc:
        logger.warning("read replica unavailable, reading from the primary: %s", exc)
        return "default"
    return REPLICA_ALIAS


@contextlib.contextmanager
def read_cursor(*, binary: bool = False) -> Iterator[Any]:
    """A cursor for a read-only query endpoint (replica if possible, primary otherwise).

    ``binary``: rows come back in PostgreSQL's binary format, read by psycopg's C loaders
    (Django's text loader for ``timestamptz`` parses each value in Python); for statements
    whose columns have binary loaders that return the same Python values (uuid, bytea, integers,
    text, timestamptz), never ``jsonb``.
    """
    with connections[read_alias()].cursor() as cursor:
        if binary:
            cursor.cursor.format = psycopg.pq.Format.BINARY
        yield cursor


@contextlib.contextmanager
def reading_from_replica() -> Iterator[str]:
    """Route ORM reads inside the block to the replica (via ``ReadReplicaRouter``)."""
    alias = read_alias()
    token = _orm_alias.set(alias)
    try:
        yield alias
    finally:
        _orm_alias.reset(token)


def replica_alias_in_use() -> str | None:
    return _orm_alias.get()
