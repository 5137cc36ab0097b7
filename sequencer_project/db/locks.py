"""Registry of transaction-scoped advisory locks.

Keys are public contracts (``docs/errors.md``): a namespace is never renumbered. A lock is
``pg_advisory_xact_lock(namespace, key)``; take it before any row lock.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import uuid

from django.db import DatabaseError, connection
from django.db.backends.base.base import BaseDatabaseWrapper

logger = logging.getLogger(__name__)


class LockNamespace(enum.IntEnum):
    PARTITION_MAINTENANCE = 1
    COMMITMENT_STREAM = 2
    PROJECTION_STREAM = 3
    PAYMENT_BATCH = 4
    PERIODIC_JOB = 5  # session-level: sequencer_project.db.singleton
    EVM_SENDER = 6  # session-level: sequencer_project.evm_client (one sending account's nonces)


def stream_lock_key(tenant_id: uuid.UUID, store_id: uuid.UUID, kind: int) -> int:
    """A stable signed 32-bit key for a stream (the second argument of the two-key form)."""
    digest = hashlib.sha256(tenant_id.bytes + store_id.bytes + kind.to_bytes(2, "big")).digest()
    return int.from_bytes(digest[:4], "big", signed=True)


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


def session_lock_release(connection: BaseDatabaseWrapper, namespace: LockNamespace, key: int, *, what: str) -> None:
    """Release a session-level advisory lock; when the unlock fails (the session died under its
    holder, or is unusable), discard the session, which frees the lock with it.

    Discarded means the PostgreSQL session ends: Django's ``close()`` alone would hand a pooled
    connection back to psycopg_pool, which only rolls it back and keeps the session, and the lock
    with it, alive. So the driver's connection is closed first; the pool then drops it."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [int(namespace), key])
    except DatabaseError as exc:
        logger.warning("%s: unlock failed (%s); closing the session", what, exc)
        raw = connection.connection
        if raw is not None:
            raw.close()
        connection.close()
