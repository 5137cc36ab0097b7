"""Fail fast while the primary database is unreachable (docs/reliability.md, ADR 0010).

With PostgreSQL down, every request waited the pool's full ``DB_POOL_TIMEOUT_SECONDS`` (10 s)
for a connection that could not be made: measured by ``make reliability``, ingest requests and
``/ready`` hung for the whole outage, and on sync gunicorn workers one waiting request blocks
its worker. So once this process has seen the primary unreachable (a connection-class error:
SQLSTATE class 08, 57P01-57P03, no SQLSTATE at all, or a pool timeout while the pool could still
grow), the pool's wait drops to ``DB_POOL_FAIL_FAST_TIMEOUT_SECONDS``; the next statement that
succeeds on the primary restores the normal wait. Per process and without I/O of its own: the
pool keeps reconnecting in the background, so recovery needs no restart.

After PostgreSQL restarts, the pool still holds its idle connections from before, broken. Its
checkout check drops one and then waits a second before it tries the next (psycopg_pool's
back-off): a request in the 0.5 s fail-fast wait dropped one and answered 503, and ``/ready``
stayed 503 for ~2 s after ingest had recovered (``make reliability``, in CI). So the statement
that ends the outage has the pool check every idle connection at once
(:func:`drop_broken_idle_connections`), as does a ``/ready`` whose checkout fails.

A pool timeout while every connection exists is saturation, not an outage: it changes nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

logger = logging.getLogger(__name__)

_SHUTDOWN_SQLSTATES = frozenset({"57P01", "57P02", "57P03"})  # admin/crash shutdown, cannot connect now
_failing_fast = False


def _pool() -> Any:
    return getattr(connections[DEFAULT_DB_ALIAS], "pool", None)


def _is_pool_timeout(exc: BaseException) -> bool:
    return "PoolTimeout" in (type(exc).__name__, type(exc.__cause__).__name__)


def is_unreachable_error(exc: BaseException) -> bool:
    """True for errors that mean "no usable connection", not for errors of one statement."""
    if _is_pool_timeout(exc):
        return True
    cause = exc.__cause__ or exc
    sqlstate = getattr(cause, "sqlstate", None)
    return sqlstate is None or sqlstate.startswith("08") or sqlstate in _SHUTDOWN_SQLSTATES


def database_unreachable_observed(exc: BaseException, alias: str = DEFAULT_DB_ALIAS) -> None:
    """Shorten this process's pool wait when ``exc`` shows the primary unreachable."""
    global _failing_fast
    pool = _pool()
    if alias != DEFAULT_DB_ALIAS or pool is None or _failing_fast or not is_unreachable_error(exc):
        return
    if _is_pool_timeout(exc) and pool.get_stats().get("pool_size", 0) >= pool.max_size:
        return  # every connection exists and is busy: saturation, keep waiting the full time
    logger.warning("database unreachable (%s); failing fast until a statement succeeds", type(exc).__name__)
    pool.timeout = settings.DB_POOL_FAIL_FAST_TIMEOUT_SECONDS
    _failing_fast = True


def statement_succeeded(alias: str) -> None:
    """A statement on ``alias`` succeeded: if the primary was marked unreachable, wait normally again."""
    global _failing_fast
    if not _failing_fast or alias != DEFAULT_DB_ALIAS:
        return
    _failing_fast = False
    pool = _pool()
    if pool is not None:
        pool.timeout = settings.DB_POOL_TIMEOUT_SECONDS
        drop_broken_idle_connections(pool)
    logger.warning("database reachable again")


def drop_broken_idle_connections(pool: Any) -> bool:
    """Check every idle connection of ``pool`` now and drop the broken ones; whether any was."""
    lost = pool.get_stats().get("connections_lost", 0)
    pool.check()
    return bool(pool.get_stats().get("connections_lost", 0) > lost)


def failing_fast() -> bool:
    return _failing_fast
