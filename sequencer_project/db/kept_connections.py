"""Pooled connections a server thread keeps from one hot API request to the next (ADR 0024).

Django hands a pooled connection back at the end of every request (``request_finished`` →
``close_old_connections``) and checks one out again at the next request's first statement:
``connect()``, ``get_connection_params()``, ``init_connection_state()``, the autocommit setting,
the ``connection_created`` signal, then the pool's own lock on the way out and in. Under
gunicorn that lifecycle, with the two request signals around it, was about 15 % of a
single-event ingest request's GIL time. The operations served straight from WSGI (ADR 0021)
call :func:`request_started` and :func:`request_finished` instead of sending the signals, and a
thread keeps its connection while it is healthy. It goes back to the pool:

- after a failed request (a 5xx answer) or a database error on it, or when the application
  left the connection out of autocommit: the next request starts on a clean one, as before;
- when someone is waiting for a connection of the pool: a kept connection never starves a
  request (more server threads than pooled connections, a management command in process);
- after ``DB_POOL_KEEP_SECONDS`` (30 s; 0 keeps nothing, Django's behaviour), so the pool's
  lifetime and idle rules still apply;
- when the thread ends: granian retires idle threads, and a connection held by a thread that is
  gone would otherwise never return (the service hung that way once). The thread's guard is
  freed with the thread's locals and hands the connection back from its finaliser.

Any other request the thread serves goes through Django's handler, whose ``request_started``
closes the kept connection first (pooled connections have ``CONN_MAX_AGE`` 0), so nothing but
these operations ever sees a kept connection. Without a pool, Django's persistent-connection
rules apply unchanged. Inside a caller's transaction (tests) nothing is touched.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

from django.conf import settings
from django.db import connections, reset_queries
from django.db.backends.base.base import BaseDatabaseWrapper


class _Guard:
    """This thread's hold on one alias's pooled connection; hands it back when the thread ends."""

    __slots__ = ("raw", "since", "wrapper")

    def __init__(self, wrapper: BaseDatabaseWrapper, raw: Any, since: float) -> None:
        self.wrapper = wrapper
        self.raw = raw
        self.since = since

    def __del__(self) -> None:
        raw = self.wrapper.connection
        if raw is None or raw is not self.raw:
            return
        self.wrapper.connection = None
        # At interpreter shutdown the pool may be gone already: nothing left to hand back to.
        with contextlib.suppress(Exception):
            raw._pool.putconn(raw)  # psycopg_pool records each connection's pool


_local = threading.local()


def _guards() -> dict[str, _Guard]:
    guards: dict[str, _Guard] | None = getattr(_local, "guards", None)
    if guards is None:
        guards = _local.guards = {}
    return guards


def request_started() -> None:
    """What Django's ``request_started`` receivers do that matters here: the query log."""
    if settings.DEBUG:
        reset_queries()


def request_finished(*, failed: bool) -> None:
    """Keep each of this thread's healthy pooled connections, hand the others back."""
    for wrapper in connections.all(initialized_only=True):
        if wrapper.connection is None or wrapper.in_atomic_block:
            continue
        pool = getattr(wrapper, "pool", None)
        if pool is None:
            wrapper.close_if_unusable_or_obsolete()
        elif _must_hand_back(wrapper, pool, failed):
            wrapper.close()


def _must_hand_back(wrapper: BaseDatabaseWrapper, pool: Any, failed: bool) -> bool:
    now = time.monotonic()
    guards = _guards()
    guard = guards.get(wrapper.alias)
    if guard is None or guard.wrapper is not wrapper or guard.raw is not wrapper.connection:
        guard = guards[wrapper.alias] = _Guard(wrapper, wrapper.connection, now)
    return (
        failed
        or wrapper.errors_occurred
        or wrapper.get_autocommit() != wrapper.settings_dict["AUTOCOMMIT"]
        or now - guard.since >= settings.DB_POOL_KEEP_SECONDS
        or pool_has_waiters(pool)
    )


def pool_has_waiters(pool: Any) -> bool:
    """Whether a ``getconn()`` waits on ``pool`` right now (psycopg_pool's queue of waiters)."""
    return bool(getattr(pool, "_waiting", ()))
