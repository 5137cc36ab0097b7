"""A psycopg cursor kept with the thread's connection, for the hot API statements.

Django's ``connection.cursor()`` builds a ``CursorWrapper`` and a psycopg cursor for every
statement, and runs the statement through its execute-wrapper chain; closing the cursor is
another call. For a one-row read that was ~90 µs of CPU on the project's machine, against ~55 µs
for the same statement on a psycopg cursor kept with the connection (``docs/performance.md``,
"Kept cursors"). The hot reads (head, event by id) and the optimistic append run here instead.

What the wrapper chain did is done here too: errors leave as Django's (``wrap_database_errors``,
so the problem handler answers 503 for an unreachable database), the statement is timed into
``db_query_duration_seconds`` and reported to ``availability``, and it is recorded in
``connection.queries_log`` while Django logs queries (``DEBUG``, ``assertNumQueries``).

The cursor is kept on the Django connection while that holds the same psycopg connection: a
pooled connection handed back and checked out again by this thread finds its cursor, any other
gets a new one. A cursor is only used by the thread holding its connection, like the connection.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import psycopg
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections
from django.db.backends.base.base import BaseDatabaseWrapper

from sequencer_project import metrics
from sequencer_project.db import availability
from sequencer_project.db.instrumentation import statement_kind

_ATTRIBUTE = "_kept_psycopg_cursor"


def kept_cursor(wrapper: BaseDatabaseWrapper) -> psycopg.Cursor[Any]:
    """The kept cursor of ``wrapper``'s current psycopg connection (connect first)."""
    raw: psycopg.Connection[Any] = wrapper.connection
    kept: psycopg.Cursor[Any] | None = getattr(wrapper, _ATTRIBUTE, None)
    if kept is None or kept.connection is not raw or kept.closed:
        kept = raw.cursor()
        setattr(wrapper, _ATTRIBUTE, kept)
    return kept


def row_format(cursor: psycopg.Cursor[Any], *, binary: bool) -> psycopg.pq.Format:
    """The row format a statement on ``cursor`` asks for: binary when ``binary`` and the cursor can
    have it. A client-side-binding cursor (``DB_SERVER_SIDE_BINDING=false``: Django's
    ``ClientCursor``, for a pooler in transaction mode) takes text rows only, so it reads text; the
    statements asking for binary read columns whose text loaders return the same Python values
    (uuid, bytea, integers, text, timestamptz: ``tests/sequencer_project/test_client_side_binding.py``).
    The one place the choice is made: :func:`fetch`, ``replica.read_cursor`` and the projection
    batch read call it."""
    if binary and not isinstance(cursor, psycopg.ClientCursor):
        return psycopg.pq.Format.BINARY
    return psycopg.pq.Format.TEXT


def fetch(
    sql: str, params: Mapping[str, Any], *, alias: str = DEFAULT_DB_ALIAS, binary: bool = False
) -> list[tuple[Any, ...]]:
    """Run one statement on ``alias`` (inside the caller's transaction if there is one) and
    return its rows; ``binary`` asks for PostgreSQL's binary row format where the connection can
    have it (:func:`row_format`; see ``sequencer_project.db.replica.read_cursor``)."""
    wrapper = connections[alias]
    wrapper.ensure_connection()
    started = time.perf_counter()
    try:
        with wrapper.wrap_database_errors:
            cursor = kept_cursor(wrapper)
            cursor.format = row_format(cursor, binary=binary)
            cursor.execute(sql, params)
            rows = cursor.fetchall()
    except (OperationalError, InterfaceError) as exc:
        availability.database_unreachable_observed(exc, alias)
        raise
    finally:
        elapsed = time.perf_counter() - started
        metrics.TALLY.observe(metrics.labelled(metrics.DB_QUERY_DURATION, statement_kind(sql)), elapsed)
        if wrapper.queries_logged:
            wrapper.queries_log.append({"sql": sql, "time": f"{elapsed:.3f}"})
    availability.statement_succeeded(alias)
    return rows
