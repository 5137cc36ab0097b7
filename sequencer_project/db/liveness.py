"""Whether a thread's idle pooled connection is known dead, without a round trip.

An idle connection in autocommit has nothing to read unless the server spoke first: a shutdown's
or an operator's termination notice (57P01, ``pg_terminate_backend``), the end of the socket, or
(harmless) a notice. A kept connection meets this after every restart of PostgreSQL: used as it
is, its first statement fails and its request answers 503 (and, through ``availability``, its
process's neighbours for a second too). Both keepers ask before they use one: the primary's
(``kept_connections.request_started``) and the read replica's (``replica.read_alias``).
"""

from __future__ import annotations

import contextlib
import select
from typing import Any

import psycopg
from django.db.backends.base.base import BaseDatabaseWrapper


def idle_connection_dead(wrapper: BaseDatabaseWrapper) -> bool:
    """Whether ``wrapper``'s open connection, idle outside a transaction, is closed, broken or
    has been spoken to by the server (one ``poll``, nothing read). ``False`` when it holds no
    connection or is inside an atomic block (not idle)."""
    raw: psycopg.Connection[Any] | None = wrapper.connection
    if raw is None or wrapper.in_atomic_block:
        return False
    if raw.closed or raw.broken:
        return True
    pgconn = raw.pgconn
    try:
        poller = select.poll()
        poller.register(pgconn.socket, select.POLLIN)
        spoken_to = bool(poller.poll(0))
    except (OSError, psycopg.Error):
        return True
    # Anything to read on an idle connection makes it one not to trust: a termination notice
    # arrives before the end of the socket (reading it alone would find the connection still
    # OK). Any other unsolicited message (a parameter status after a reload; this service never
    # LISTENs) costs one new connection.
    return spoken_to or pgconn.status != psycopg.pq.ConnStatus.OK


def discard_connection(wrapper: BaseDatabaseWrapper) -> None:
    """Close ``wrapper``'s connection and hand it back: closed first, so its pool counts it as
    lost and opens a replacement rather than giving a dead one to another thread (a termination
    notice not yet read leaves psycopg reporting it idle and healthy)."""
    raw = wrapper.connection
    if raw is not None:
        with contextlib.suppress(Exception):  # closing a dead connection may raise; it goes back anyway
            raw.close()
    with contextlib.suppress(Exception):
        wrapper.close()  # hands it back
    wrapper.connection = None
