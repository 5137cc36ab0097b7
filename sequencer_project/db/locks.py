"""Registry of transaction-scoped advisory locks.

Keys are public contracts (``docs/errors.md``): a namespace is never renumbered. A lock is
``pg_advisory_xact_lock(namespace, key)``; take it before any row lock.

Two namespaces are session-level (``PERIODIC_JOB``, ``EVM_SENDER``), and so are the locks taken in
the one-argument (bigint) form, several at once (:func:`session_locks`: the commitment drain
locks, keyed by :func:`stream_wide_lock_key`): held across transactions, so they need every
statement of the holder on one PostgreSQL session. A pooler in transaction mode
(PgBouncer ``pool_mode = transaction``) breaks that: the lock is taken on one server backend,
stays there after the client moves on, and excludes nothing. The processes that take them (the
Celery worker, and web only with EVM anchoring) connect directly or through session pooling
(docs/scaling.md "Connections"). Two guards catch a deployment that does not:
:func:`session_lock_release` checks the unlock's answer, and :func:`session_continuity_problem`
(run when a worker starts) compares server backends across statements and connections. Either
logs an ERROR and counts ``session_lock_violations_total{check}``.

A session that may hold a session-level lock it did not record (the statement that takes or
releases it was interrupted: a Celery soft time limit, any exception) is discarded, which frees
every lock it holds: a worker's connection lives as long as the worker, and a lock left on it
would exclude every other holder until then.
"""

from __future__ import annotations

import contextlib
import enum
import hashlib
import logging
import uuid
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import psycopg
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper

from sequencer_project.metrics import SESSION_LOCK_VIOLATIONS
from sequencer_project.sql import SELECT_BACKEND_PID, TRY_LOCK_SESSION, TRY_LOCK_SESSION_LOCKS, UNLOCK_SESSION_LOCKS

logger = logging.getLogger(__name__)

_POOLING_HINT = (
    "session-level advisory locks exclude nothing through a pooler in transaction mode; connect the"
    ' worker directly or through session pooling (docs/scaling.md "Connections")'
)


class LockNamespace(enum.IntEnum):
    PARTITION_MAINTENANCE = 1
    COMMITMENT_STREAM = 2
    PROJECTION_STREAM = 3
    PAYMENT_BATCH = 4
    PERIODIC_JOB = 5  # session-level: sequencer_project.db.singleton
    EVM_SENDER = 6  # session-level: sequencer_project.evm_client (one sending account's nonces)
    MIGRATIONS = 7  # session-level: manage.py migrate, one process of a deployment at a time


def stream_lock_key(tenant_id: uuid.UUID, store_id: uuid.UUID, kind: int) -> int:
    """A stable signed 32-bit key for a stream (the second argument of the two-key form)."""
    digest = hashlib.sha256(tenant_id.bytes + store_id.bytes + kind.to_bytes(2, "big")).digest()
    return int.from_bytes(digest[:4], "big", signed=True)


def stream_wide_lock_key(purpose: str, tenant_id: uuid.UUID, store_id: uuid.UUID, kind: int) -> int:
    """A stable signed 64-bit key for a lock of one stream taken in the one-argument (bigint) form
    of the advisory-lock functions, whose key space is apart from the two-key form's (pg_locks:
    ``objsubid`` 1, not 2). ``purpose`` names the lock (``docs/errors.md``) and is hashed in, so
    two purposes never share keys but by chance. Two of 100,000 streams share a key with odds of
    about 3e-10 (a 32-bit key of the two-key form: about 69 %)."""
    data = purpose.encode() + b"\0" + tenant_id.bytes + store_id.bytes + kind.to_bytes(2, "big")
    return int.from_bytes(hashlib.sha256(data).digest()[:8], "big", signed=True)


def advisory_xact_lock(namespace: LockNamespace, key: int) -> None:
    """Block until the lock is held; released at commit or rollback. Caller holds a transaction."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [int(namespace), key])


def try_advisory_xact_lock(namespace: LockNamespace, key: int) -> bool:
    """Take the lock if free; ``False`` when another transaction holds it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [int(namespace), key])
        row = cursor.fetchone()
    return bool(row and row[0])


def job_lock_key(name: str) -> int:
    """A stable signed 32-bit key for a periodic job's name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big", signed=True)


def _discard(connection: BaseDatabaseWrapper) -> None:
    """End ``connection``'s PostgreSQL session, and every session-level lock it holds with it: the
    driver's connection is closed first (Django's ``close()`` alone would hand a pooled connection
    back to psycopg_pool, which only rolls it back and keeps the session alive)."""
    raw = connection.connection
    if raw is not None:
        raw.close()
    connection.close()


def session_lock_try(connection: BaseDatabaseWrapper, namespace: LockNamespace, key: int) -> bool:
    """Take a session-level advisory lock (two-key form) without waiting; whether it was taken.
    Held across transactions until :func:`session_lock_release` or the session's end."""
    with connection.cursor() as cursor:
        cursor.execute(TRY_LOCK_SESSION, {"namespace": int(namespace), "key": key})
        row = cursor.fetchone()
    return bool(row and row[0])


def session_lock_release(connection: BaseDatabaseWrapper, namespace: LockNamespace, key: int, *, what: str) -> None:
    """Release a session-level advisory lock; when the unlock fails (the session died under its
    holder, or is unusable), discard the session, which frees the lock with it.

    Discarded means the PostgreSQL session ends: Django's ``close()`` alone would hand a pooled
    connection back to psycopg_pool, which only rolls it back and keeps the session, and the lock
    with it, alive. So the driver's connection is closed first; the pool then drops it.

    An unlock that answers false found the lock not held by this session: the statements ran on
    another server backend than the lock (a pooler in transaction mode), where the lock stays. It
    is logged as an ERROR and counted (``session_lock_violations_total{check="unlock"}``).

    Any other exception during the unlock (a Celery soft time limit) may leave the lock held:
    the session is discarded as well, and the exception raised."""
    row = _unlock(connection, "SELECT pg_advisory_unlock(%s, %s)", [int(namespace), key], what)
    if row is None:
        return
    if not row[0]:
        SESSION_LOCK_VIOLATIONS.labels(check="unlock").inc()
        logger.error("%s: the unlock found the lock not held by this session; %s", what, _POOLING_HINT)


def _unlock(connection: BaseDatabaseWrapper, sql: str, params: Any, what: str) -> tuple[Any, ...] | None:
    """Run an unlock statement and return its one row; ``None`` when it failed (the session is
    then discarded, which frees every lock it held). Anything else that interrupts it (a Celery
    soft time limit) may leave locks held: the session is discarded as well, and it is raised."""
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row: tuple[Any, ...] | None = cursor.fetchone()
    except DatabaseError as exc:
        logger.warning("%s: unlock failed (%s); closing the session", what, exc)
        _discard(connection)
        return None
    except BaseException:
        logger.warning("%s: unlock interrupted; closing the session", what)
        _discard(connection)
        raise
    return row if row is not None else (0,)


def session_locks_try(connection: BaseDatabaseWrapper, keys: Iterable[int], *, what: str) -> set[int]:
    """Take, without waiting, the session-level locks of ``keys`` (one-argument bigint form) that
    no other session holds, in one statement; the keys taken. Caller holds none of them already
    (a second take would need a second unlock).

    Session-level locks outlive a rollback, so when the statement raises anything (a database
    error, a Celery soft time limit) the session may hold locks nobody recorded: it is discarded,
    which frees them, and the exception raised."""
    wanted = sorted(set(keys))
    if not wanted:
        return set()
    try:
        with connection.cursor() as cursor:
            cursor.execute(TRY_LOCK_SESSION_LOCKS, {"keys": wanted})
            return {int(row[0]) for row in cursor.fetchall()}
    except BaseException:
        logger.warning("%s: taking %d locks was interrupted; closing the session", what, len(wanted))
        _discard(connection)
        raise


def session_locks_release(connection: BaseDatabaseWrapper, keys: Sequence[int], *, what: str) -> None:
    """Release the session-level locks of ``keys`` taken by :func:`session_locks_try`, in one
    statement, checking each unlock's answer as :func:`session_lock_release` does: unlocks that
    found their lock not held are logged as an ERROR and counted, one each
    (``session_lock_violations_total{check="unlock"}``). When the unlock fails the session is
    discarded (which frees the locks); when anything else interrupts it, too, and it is raised."""
    if not keys:
        return
    row = _unlock(connection, UNLOCK_SESSION_LOCKS, {"keys": list(keys)}, what)
    if row is None:
        return
    missing = len(keys) - int(row[0])
    if missing > 0:
        SESSION_LOCK_VIOLATIONS.labels(check="unlock").inc(missing)
        logger.error(
            "%s: %d of %d unlocks found the lock not held by this session; %s", what, missing, len(keys), _POOLING_HINT
        )


@contextlib.contextmanager
def session_locks(keys: Iterable[int], *, what: str, using: str = DEFAULT_DB_ALIAS) -> Iterator[set[int]]:
    """Take the free session-level locks of ``keys`` (:func:`session_locks_try`) on ``using``'s
    connection, yield the keys taken, and release them on the way out, whatever happens
    (:func:`session_locks_release`). Caller holds none of them already."""
    wrapper = connections[using]
    taken = session_locks_try(wrapper, keys, what=what)
    try:
        yield taken
    finally:
        session_locks_release(wrapper, sorted(taken), what=what)


def _backend_pid(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute(SELECT_BACKEND_PID).fetchone()
    return int(row[0]) if row else 0


def session_continuity_problem(wrapper: BaseDatabaseWrapper | None = None) -> str | None:
    """How the connections of ``wrapper`` (``default``'s) fail to keep one server session, or ``None``: two new
    connections, three autocommit statements (``pg_backend_pid()``: first, other, first again).
    Directly or through session pooling, a connection keeps its backend and two connections have
    two; through a pooler in transaction mode an idle pool hands the second connection the first
    one's backend, or a busy one moves the first connection between statements. Counted and
    logged as an ERROR when found."""
    wrapper = wrapper if wrapper is not None else connections[DEFAULT_DB_ALIAS]
    params = wrapper.get_connection_params()
    params["autocommit"] = True
    with psycopg.connect(**params) as first, psycopg.connect(**params) as other:
        pids = [_backend_pid(conn) for conn in (first, other, first)]
    problem = None
    if pids[0] != pids[2]:
        problem = f"one connection's statements ran on two server backends ({pids[0]}, {pids[2]})"
    elif pids[0] == pids[1]:
        problem = f"two connections ran on one server backend ({pids[0]})"
    if problem is not None:
        SESSION_LOCK_VIOLATIONS.labels(check="startup_probe").inc()
        logger.error("database %s: %s; %s", wrapper.alias, problem, _POOLING_HINT)
    return problem
