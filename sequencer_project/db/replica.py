"""Optional read replica (``DATABASE_READ_URL``) for the query endpoints (docs/operations.md, "Read replica").

:func:`read_alias` names the alias a read-only statement should use: ``replica`` when one is
configured, alive and not too far behind, otherwise ``default`` (the primary). A dead replica
must cost neither a 503 nor a connect timeout per request:

- The thread's kept replica connection (``kept_connections``) is checked before use without a
  round trip: a PostgreSQL that shuts down or dies tells its idle clients (a termination notice,
  or the socket's end), so a socket with something to read on an idle connection means a dead
  one (one ``poll`` with a zero timeout). The dead connection is dropped, and the read goes to
  the primary.
- A checkout or connect waits ``DATABASE_READ_TIMEOUT_SECONDS`` (0.5 s), not the primary pool's
  ``DB_POOL_TIMEOUT_SECONDS`` (10 s).
- Any replica failure (one of the above, or an ``OperationalError`` in the statement, see
  :func:`read_fetch` and :func:`read_cursor`) opens the ``db_replica`` breaker at once: reads go
  to the primary without trying the replica for 5 s (doubling while it stays down, up to 30 s).
  Its half-open probe makes a real round trip on the replica (the lag sample below), so a probe
  on a connection that only looks alive cannot close it. With the replica down, a process pays
  at most one short wait per breaker period, and no request fails for it.
- A statement that fails on the replica is run again on the primary (a read is safe to re-run).

Lag: at most once a second per process (and at each probe), the thread about to read samples
the primary's ``pg_current_wal_lsn()`` and then the replica's ``pg_last_wal_replay_lsn()``,
``pg_is_wal_replay_paused()`` and the age of its newest replayed commit. The lag in seconds is
0 while the replica has replayed everything the primary had written, else that age or the time
since a sample last found it caught up, whichever is less; it is
exported as ``db_replica_lag_seconds`` and, past ``DATABASE_READ_MAX_LAG_SECONDS`` (5 s), reads
go to the primary until a sample shows it caught up. Seconds rather than bytes: what a reader
cares about is how stale an answer can be, and a byte count means a different staleness at
every write rate (the bytes are shown in ``/health/detailed`` beside it).

Within the limit a replica still lags: a read may not yet see an event that was just
acknowledged (each read is one consistent snapshot, so a range is still gap-free). Ingest and
anything that must read its own writes uses the primary (:func:`reading_from_primary`).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections
from django.db.backends.base.base import BaseDatabaseWrapper

from sequencer_project import metrics
from sequencer_project.db.kept_cursor import fetch, row_format
from sequencer_project.db.liveness import discard_connection, idle_connection_dead
from sequencer_project.resilience import CircuitBreaker, CircuitOpenError, get_breaker
from sequencer_project.sql import SELECT_PRIMARY_WAL_LSN, SELECT_REPLICA_POSITION

logger = logging.getLogger(__name__)

REPLICA_ALIAS = "replica"
LAG_SAMPLE_INTERVAL_SECONDS = 1.0
REPLICA_FAILURES: tuple[type[BaseException], ...] = (OperationalError, InterfaceError, psycopg.Error)

_orm_alias: ContextVar[str | None] = ContextVar("orm_read_alias", default=None)
_primary_only: ContextVar[bool] = ContextVar("read_primary_only", default=False)


@dataclass(frozen=True, slots=True)
class ReplicaLag:
    """One lag sample. ``bytes``/``seconds`` are ``None`` when unknown (the primary's position
    could not be read, or the replica has replayed no commit since it started); a server that
    is not in recovery (an alias of the primary) has no lag."""

    in_recovery: bool
    paused: bool
    bytes: int | None
    seconds: float | None
    sampled_at: float  # time.monotonic()

    def too_far_behind(self, limit: float) -> bool:
        if limit <= 0 or not self.in_recovery:
            return False
        return self.seconds is None or self.seconds > limit


_lag: ReplicaLag | None = None
_caught_up: list[float | None] = [None]  # when a sample last found the replica caught up (monotonic)
_lag_lock = threading.Lock()


def replica_configured() -> bool:
    return REPLICA_ALIAS in settings.DATABASES


def replica_breaker() -> CircuitBreaker:
    return get_breaker("db_replica", failure_threshold=1, reset_timeout=5.0, max_reset_timeout=30.0)


def last_lag() -> ReplicaLag | None:
    """This process's newest lag sample."""
    return _lag


def read_alias() -> str:
    """``replica`` when configured, alive and within ``DATABASE_READ_MAX_LAG_SECONDS``, else ``default``."""
    if not replica_configured() or _primary_only.get():
        return DEFAULT_DB_ALIAS
    breaker = replica_breaker()
    try:
        probe = breaker.before_call()
    except CircuitOpenError:
        return DEFAULT_DB_ALIAS
    wrapper = connections[REPLICA_ALIAS]
    try:
        if idle_connection_dead(wrapper):
            raise InterfaceError("the kept replica connection is closed")
        wrapper.ensure_connection()
        lag = _lag
        if probe or lag is None or time.monotonic() - lag.sampled_at >= LAG_SAMPLE_INTERVAL_SECONDS:
            lag = _sample_lag(force=probe) or lag
    except REPLICA_FAILURES as exc:
        breaker.on_failure()
        _discard(wrapper)
        logger.warning("read replica unavailable, reading from the primary: %s", exc)
        return DEFAULT_DB_ALIAS
    breaker.on_success()
    if lag is not None and lag.too_far_behind(settings.DATABASE_READ_MAX_LAG_SECONDS):
        return DEFAULT_DB_ALIAS
    return REPLICA_ALIAS


def replica_failed(exc: BaseException) -> None:
    """A statement failed on the replica: open the breaker and drop the thread's connection."""
    replica_breaker().on_failure()
    _discard(connections[REPLICA_ALIAS])
    logger.warning("read replica failed a statement, reading from the primary: %s", exc)


def read_fetch(sql: str, params: Mapping[str, Any], *, binary: bool = False) -> list[tuple[Any, ...]]:
    """:func:`kept_cursor.fetch` on :func:`read_alias`, run again on the primary when the
    replica fails it."""
    alias = read_alias()
    if alias == DEFAULT_DB_ALIAS:
        return fetch(sql, params, binary=binary)
    try:
        return fetch(sql, params, alias=alias, binary=binary)
    except (OperationalError, InterfaceError) as exc:
        replica_failed(exc)
    return fetch(sql, params, binary=binary)


class _FallbackCursor:
    """A Django cursor on the replica whose ``execute`` runs again on the primary when the
    replica fails it (the rest is delegated to whichever cursor ran the statement)."""

    def __init__(self, cursor: Any, binary: bool) -> None:
        self._cursor = cursor
        self._binary = binary
        self._on_primary = False

    def execute(self, sql: str, params: Any = None) -> Any:
        if self._on_primary:
            return self._cursor.execute(sql, params)
        try:
            return self._cursor.execute(sql, params)
        except (OperationalError, InterfaceError) as exc:
            replica_failed(exc)
        with contextlib.suppress(*REPLICA_FAILURES):
            self._cursor.close()
        self._cursor = connections[DEFAULT_DB_ALIAS].cursor()
        self._on_primary = True
        _set_format(self._cursor, self._binary)
        return self._cursor.execute(sql, params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cursor)

    def close(self) -> None:
        with contextlib.suppress(*REPLICA_FAILURES):
            self._cursor.close()


def _set_format(cursor: Any, binary: bool) -> None:
    if binary:
        cursor.cursor.format = row_format(cursor.cursor, binary=True)  # text without server-side binding


@contextlib.contextmanager
def read_cursor(*, binary: bool = False) -> Iterator[Any]:
    """A cursor for a read-only query endpoint (replica if possible, primary otherwise; a
    statement the replica fails runs again on the primary).

    ``binary``: rows come back in PostgreSQL's binary format, read by psycopg's C loaders
    (Django's text loader for ``timestamptz`` parses each value in Python); for statements
    whose columns have binary loaders that return the same Python values (uuid, bytea, integers,
    text, timestamptz), never ``jsonb``.
    """
    alias = read_alias()
    if alias == DEFAULT_DB_ALIAS:
        with connections[alias].cursor() as cursor:
            _set_format(cursor, binary)
            yield cursor
        return
    try:
        raw = connections[alias].cursor()
    except (OperationalError, InterfaceError) as exc:
        replica_failed(exc)
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            _set_format(cursor, binary)
            yield cursor
        return
    _set_format(raw, binary)
    fallback = _FallbackCursor(raw, binary)
    try:
        yield fallback
    finally:
        fallback.close()


@contextlib.contextmanager
def reading_from_replica() -> Iterator[str]:
    """Route ORM reads inside the block to the replica (via ``ReadReplicaRouter``)."""
    alias = read_alias()
    token = _orm_alias.set(alias)
    try:
        yield alias
    finally:
        _orm_alias.reset(token)


@contextlib.contextmanager
def reading_from_primary() -> Iterator[None]:
    """Every :func:`read_alias` inside the block answers ``default``: for a read that must agree
    with what it reads from the primary next (a bundle's event and its commitment)."""
    token = _primary_only.set(True)
    try:
        yield
    finally:
        _primary_only.reset(token)


def replica_alias_in_use() -> str | None:
    return _orm_alias.get()


def _discard(wrapper: BaseDatabaseWrapper) -> None:
    """Close the thread's replica connection and hand it back (``liveness.discard_connection``),
    and have the pool check its idle ones now: after the replica went down they are all dead, and
    a checkout that meets them one by one backs off a second after each (``availability``)."""
    if wrapper.in_atomic_block:
        return
    discard_connection(wrapper)
    pool = getattr(wrapper, "pool", None)
    if pool is not None:
        with contextlib.suppress(*REPLICA_FAILURES):
            pool.check()


def _lsn(text: str | None) -> int | None:
    if text is None:
        return None
    high, low = text.split("/")
    return (int(high, 16) << 32) + int(low, 16)


def _sample_lag(*, force: bool = False) -> ReplicaLag | None:
    """Sample the lag (see the module's docstring) unless another thread is doing it, or one
    did less than a second ago and ``force`` is false; ``None`` when this call did not sample.
    Replica errors propagate (they are the replica's failure); a primary that cannot say where
    its WAL is leaves ``bytes`` unknown."""
    global _lag
    if not _lag_lock.acquire(blocking=force):
        return None
    try:
        if not force and _lag is not None and time.monotonic() - _lag.sampled_at < LAG_SAMPLE_INTERVAL_SECONDS:
            return None
        started = time.monotonic()
        primary: int | None = None
        try:
            primary = _lsn(fetch(SELECT_PRIMARY_WAL_LSN, {})[0][0])
        except (OperationalError, InterfaceError) as exc:
            logger.warning("could not read the primary's WAL position: %s", exc)
        in_recovery, replay_text, paused, age = fetch(SELECT_REPLICA_POSITION, {}, alias=REPLICA_ALIAS)[0]
        replay = _lsn(replay_text)
        behind = max(0, primary - replay) if primary is not None and replay is not None else None
        if not in_recovery or behind == 0:
            seconds: float | None = 0.0
            _caught_up[0] = started  # it had everything the primary had written by then
        else:
            # Two upper bounds of how stale its data is, the tighter one wins: the age of its
            # newest replayed commit (alone, it overstates after the primary was idle and then
            # wrote a little), and the time since a sample last found it caught up.
            bounds = [max(0.0, float(age))] if age is not None else []
            if _caught_up[0] is not None:
                bounds.append(time.monotonic() - _caught_up[0])
            seconds = min(bounds) if bounds else None
        _lag = ReplicaLag(bool(in_recovery), bool(paused), behind, seconds, time.monotonic())
        if seconds is not None:
            metrics.DB_REPLICA_LAG_SECONDS.set(seconds)
        return _lag
    finally:
        _lag_lock.release()


def replica_report() -> dict[str, Any] | None:
    """The ``replica`` component of ``/health/detailed`` (``None`` without a replica): a fresh
    lag sample, degraded when the replica cannot be read, its breaker is open, replay is paused
    behind the primary, or it is further behind than ``DATABASE_READ_MAX_LAG_SECONDS``."""
    if not replica_configured():
        return None
    limit = settings.DATABASE_READ_MAX_LAG_SECONDS
    breaker = replica_breaker().state.value
    try:
        connections[REPLICA_ALIAS].ensure_connection()
        lag = _sample_lag(force=True)
    except REPLICA_FAILURES as exc:
        _discard(connections[REPLICA_ALIAS])
        return {"status": "degraded", "error": type(exc).__name__, "breaker": breaker, "reads_from": "primary"}
    assert lag is not None  # a forced sample waits for the lock and always samples
    behind = lag.too_far_behind(limit)
    paused_behind = lag.paused and bool(lag.bytes)
    ok = not behind and not paused_behind and breaker != "open"
    return {
        "status": "healthy" if ok else "degraded",
        "in_recovery": lag.in_recovery,
        "lag_seconds": None if lag.seconds is None else round(lag.seconds, 3),
        "lag_bytes": lag.bytes,
        "replay_paused": lag.paused,
        "max_lag_seconds": limit,
        "breaker": breaker,
        "reads_from": "primary" if behind or breaker == "open" else "replica",
    }
