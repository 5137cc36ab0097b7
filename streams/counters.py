"""The stream counter lock shared by every sequencing path (legacy, VES, x402).

See ADR 0001: every writer of a stream kind queues on its ``sequence_counters`` row, so all
reads after the lock see the state the new numbers will follow.
"""

from __future__ import annotations

from typing import Any

from streams.sql import CREATE_STREAM, LOCK_COUNTER


def stream_counter_lock(cursor: Any, stream: dict[str, Any], *, actor: str) -> int:
    """Lock the stream kind's counter row and return its head (caller holds the transaction).

    ``stream`` holds ``tenant_id``, ``store_id`` and ``stream_kind``. On a stream's first write
    the counter, store and (for the bootstrap admin) tenant rows are created first; a tenant
    created so is audited as created by ``actor``, the writing credential
    (``audit.services.api_actor``).
    """
    cursor.execute(LOCK_COUNTER, stream)
    row = cursor.fetchone()
    if row is None:
        cursor.execute(CREATE_STREAM, {**stream, "actor": actor})
        cursor.execute(LOCK_COUNTER, stream)
        row = cursor.fetchone()
    return int(row[0])
