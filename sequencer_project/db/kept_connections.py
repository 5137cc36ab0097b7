"""Pooled connections a server thread keeps from one API request to the next (ADR 0024, ADR 0042).

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
- when keeping it would leave the pool nothing to give (no idle connection and no room to open
  one), or someone is waiting for one: kept connections are never more than the pool's size
  less one, so a caller of the pool (more server threads than pooled connections, a management
  command or test in process) always has a connection that is not kept coming back to it, even
  while every keeper sits idle (``DB_POOL_MAX_SIZE`` above ``WEB_THREADS`` lets every server
  thread keep one);
- after ``DB_POOL_KEEP_SECONDS`` (30 s; 0 keeps nothing, Django's behaviour), so the pool's
  lifetime and idle rules still apply;
- when the thread ends: granian retires idle threads, and a connection held by a thread that is
  gone would otherwise never return (the service hung that way once). The thread's guard is
  freed with the thread's locals and hands the connection back from its finaliser.

A keeping period starts at each checkout (``connection_created``): the pool may hand this
thread the very connection it kept and handed back before, and the age of the earlier
checkout would otherwise hand it back after every request.

The API's own handler does the same for every other API request (``sequencer_project.api_handler``,
ADR 0042). The site's requests (the admin, static files) go through Django's handler, whose
``request_started`` closes the kept connection first (pooled connections have ``CONN_MAX_AGE`` 0),
so they never see a kept connection. Without a pool, Django's persistent-connection
rules apply unchanged. Inside a caller's transaction (tests) nothing is touched.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, reset_queries
from django.db.backends.base.base import BaseDatabaseWrapper

from sequencer_project.db.liveness import discard_connection, idle_connection_dead


class _Guard:
    """This thread's hold on one alias's pooled connection; hands it back when the thread ends."""

    __slots__ = ("raw", "since", "wrapper")

    def __init__(self, wrapper: BaseDatabaseWrapper, raw: Any, since: float) -> None:
        self.wrapper = wrapper
        self.raw = raw
        self.since = since

    def __del__(self) -> None:
        raw = self.raw  # None once retired: the connection went back or was checked out anew
        if raw is None or self.wrapper.connection is not raw:
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


def connection_checked_out(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """``connection_created`` receiver: a checkout of this thread starts a new keeping period.

    The guard of an earlier period is retired first, so that its finaliser never hands back a
    connection this thread holds again."""
    guards: dict[str, _Guard] | None = getattr(_local, "guards", None)
    guard = guards.pop(connection.alias, None) if guards else None
    if guard is not None:
        guard.raw = None


def request_started() -> None:
    """What Django's ``request_started`` receivers do that matters here (the query log), and a
    look at the primary's kept connection before the request uses it: one the server closed
    meanwhile (PostgreSQL restarted, ``pg_terminate_backend``) is closed and handed back, which
    the pool counts as lost and replaces, so the request starts on a live connection instead of
    failing on the dead one (``sequencer_project.db.liveness``; one ``poll``, ~2 µs). The read
    replica's kept connection is left to ``replica.read_alias``, which checks it the same way
    behind its breaker."""
    if settings.DEBUG:
        reset_queries()
    wrapper = connections[DEFAULT_DB_ALIAS]
    if getattr(wrapper, "pool", None) is not None and idle_connection_dead(wrapper):
        discard_connection(wrapper)


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
        if guard is not None:
            guard.raw = None
        guard = guards[wrapper.alias] = _Guard(wrapper, wrapper.connection, now)
    return (
        failed
        or wrapper.errors_occurred
        or wrapper.get_autocommit() != wrapper.settings_dict["AUTOCOMMIT"]
        or now - guard.since >= settings.DB_POOL_KEEP_SECONDS
        or pool_wants_it_back(pool)
    )


def pool_wants_it_back(pool: Any) -> bool:
    """Whether a connection held outside ``pool`` should go back to it now: someone waits for one,
    or the pool could not give one without waiting (a server thread at the end of its request,
    and a group-commit follower while it waits, both ask)."""
    return pool_has_waiters(pool) or not pool_has_room(pool)


def pool_has_waiters(pool: Any) -> bool:
    """Whether a ``getconn()`` waits on ``pool`` right now (psycopg_pool's queue of waiters)."""
    return bool(getattr(pool, "_waiting", ()))


def pool_has_room(pool: Any) -> bool:
    """Whether ``pool`` could give a connection now without waiting: an idle one, or room to open
    one (psycopg_pool's idle queue and its count of connections, read without its lock: a
    keeper that reads a stale count keeps at most one connection too many, until it or another
    keeper next finishes a request and reads again)."""
    return bool(pool._pool) or pool._nconns < pool.max_size
