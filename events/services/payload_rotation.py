"""Re-seal a tenant's stored legacy payloads, the entity states projected from them and the
bodies of its rejected legacy events with its newest key (``reencrypt_payloads``).

Batches walk the tenant's rows in primary-key order; each batch is one short transaction that
rewrites only rows still on an older key (or plaintext), guarded by what it read. Readers are
never blocked and always see a decryptable row (old blob, old key still in the ring; or new
blob). Stopping at any point and starting again is safe: finished rows no longer match.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson
from django.db import connection, transaction

from events.payload_crypto import (
    PayloadEncryptionUnavailableError,
    PayloadKey,
    StoredPayload,
    encrypt_blob,
    keyring_for,
    payload_aad,
    payload_open,
)
from events.projections.state_crypto import EntityKey, state_open, state_seal
from events.rejected_bodies import rejected_body_open, rejected_body_seal
from events.sql import (
    COUNT_PAYLOADS_TO_REENCRYPT,
    COUNT_REJECTED_BODIES_TO_REENCRYPT,
    COUNT_STATES_TO_REENCRYPT,
    SELECT_PAYLOADS_TO_REENCRYPT,
    SELECT_REJECTED_BODIES_TO_REENCRYPT,
    SELECT_STATES_TO_REENCRYPT,
    UPDATE_REENCRYPTED_PAYLOADS,
    UPDATE_REENCRYPTED_REJECTED_BODIES,
    UPDATE_REENCRYPTED_STATES,
)
from streams.kinds import StreamKind

_START = (uuid.UUID(int=0), 0)
_STATES_START = (uuid.UUID(int=0), "", "")

Position = TypeVar("Position")
Row = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class RotationBatch(Generic[Position]):
    """What one batch rewrote, and the keyset position to go on from (``None``: nothing left)."""

    rewritten: int
    position: Position | None


def _newest_key(tenant_id: uuid.UUID) -> PayloadKey:
    newest = keyring_for(tenant_id).newest
    if newest is None:
        raise PayloadEncryptionUnavailableError("The tenant has no payload key to rotate to.")
    return newest


def _count(sql: str, tenant_id: uuid.UUID) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, {"tenant_id": tenant_id, "newest_key_id": _newest_key(tenant_id).key_id})
        return int(cursor.fetchone()[0])


def _reseal_batch(
    *,
    tenant_id: uuid.UUID,
    select: str,
    update: str,
    keyset: dict[str, Any],
    batch_size: int,
    reseal: Callable[[Row, PayloadKey], dict[str, Any]],
    position: Callable[[Row], Position],
) -> RotationBatch[Position]:
    """One batch of a rotation: read the rows after ``keyset`` that are not on the newest key,
    ``reseal`` each (the update row, guarded by what was read), write them in one statement.
    Caller holds the transaction."""
    newest = _newest_key(tenant_id)
    params = {"tenant_id": tenant_id, **keyset, "newest_key_id": newest.key_id, "batch_size": batch_size}
    with connection.cursor() as cursor:
        cursor.execute(select, params)
        rows = cursor.fetchall()
        updates = [reseal(row, newest) for row in rows]
        rewritten = 0
        if updates:
            cursor.execute(update, {"tenant_id": tenant_id, "rows": orjson.dumps(updates).decode()})
            rewritten = cursor.rowcount
    return RotationBatch(rewritten, position(rows[-1]) if len(rows) == batch_size else None)


def payloads_to_reencrypt_count(*, tenant_id: uuid.UUID) -> int:
    return _count(COUNT_PAYLOADS_TO_REENCRYPT, tenant_id)


@transaction.atomic(durable=True)
def payload_reencrypt_batch(
    *, tenant_id: uuid.UUID, after: tuple[uuid.UUID, int] = _START, batch_size: int = 500
) -> RotationBatch[tuple[uuid.UUID, int]]:
    """Re-seal the next ``batch_size`` rows after ``after`` with the newest key.

    Hashes are untouched (they are over the plaintext). Locks: the rewritten rows, for the
    length of one batch.
    """

    def reseal(row: Row, newest: PayloadKey) -> dict[str, Any]:
        store_id, sequence, event_id, entity_type, entity_id, event_type, payload, fmt, key_id = row
        stored = StoredPayload(
            tenant_id, store_id, event_id, sequence, entity_type, entity_id, event_type, payload, fmt, key_id
        )
        aad = payload_aad(tenant_id, store_id, event_id, sequence, entity_type, entity_id, event_type)
        return {
            "store_id": store_id,
            "sequence_number": sequence,
            "payload": base64.b64encode(encrypt_blob(newest, payload_open(stored), aad)).decode(),
            "old_format": fmt,
            "old_key_id": key_id,
            "new_key_id": newest.key_id,
        }

    return _reseal_batch(
        tenant_id=tenant_id,
        select=SELECT_PAYLOADS_TO_REENCRYPT,
        update=UPDATE_REENCRYPTED_PAYLOADS,
        keyset={"after_store": after[0], "after_sequence": after[1]},
        batch_size=batch_size,
        reseal=reseal,
        position=lambda row: (row[0], row[1]),
    )


def states_to_reencrypt_count(*, tenant_id: uuid.UUID) -> int:
    """How many of the tenant's projected entity states are plain or sealed with an older key."""
    return _count(COUNT_STATES_TO_REENCRYPT, tenant_id)


@transaction.atomic(durable=True)
def state_reencrypt_batch(
    *, tenant_id: uuid.UUID, after: tuple[uuid.UUID, str, str] = _STATES_START, batch_size: int = 500
) -> RotationBatch[tuple[uuid.UUID, str, str]]:
    """Re-seal the next ``batch_size`` entity states after ``after`` with the newest key.

    A state the projection changes meanwhile is left alone (it is sealed with the newest key
    by then). Locks: the rewritten rows, for the length of one batch.
    """

    def reseal(row: Row, newest: PayloadKey) -> dict[str, Any]:
        store_id, entity_type, entity_id, version, state, sealed, key_id = row
        entity = EntityKey(tenant_id, store_id, entity_type, entity_id)
        blob = state_seal(entity, state_open(entity, state, sealed, key_id), newest)
        return {
            "store_id": store_id,
            "entity_type": entity_type,
            "entity_id": entity_id,
            "old_version": version,
            "state_sealed": base64.b64encode(blob).decode(),
            "new_key_id": newest.key_id,
        }

    return _reseal_batch(
        tenant_id=tenant_id,
        select=SELECT_STATES_TO_REENCRYPT,
        update=UPDATE_REENCRYPTED_STATES,
        keyset={"after_store": after[0], "after_type": after[1], "after_id": after[2]},
        batch_size=batch_size,
        reseal=reseal,
        position=lambda row: (row[0], row[1], row[2]),
    )


def rejected_bodies_to_reencrypt_count(*, tenant_id: uuid.UUID) -> int:
    """How many of the tenant's rejected legacy event bodies are plain or on an older key."""
    return _count(COUNT_REJECTED_BODIES_TO_REENCRYPT, tenant_id)


@transaction.atomic(durable=True)
def rejected_body_reencrypt_batch(*, tenant_id: uuid.UUID, after: int = 0, batch_size: int = 500) -> RotationBatch[int]:
    """Re-seal the next ``batch_size`` rejected legacy bodies after rejection ``after`` with the
    newest key. Locks: the rewritten rows, for the length of one batch."""

    def reseal(row: Row, newest: PayloadKey) -> dict[str, Any]:
        rejection_id, store_id, event_id, request_id, body, body_format, key_id = row
        where: dict[str, Any] = {
            "tenant_id": tenant_id,
            "store_id": store_id,
            "stream_kind": StreamKind.LEGACY,  # VES bodies stay as received
            "event_id": event_id,
            "request_id": request_id,
        }
        opened = rejected_body_open(body, body_format=body_format, body_key_id=key_id, **where)
        return {
            "rejection_id": rejection_id,
            "body": base64.b64encode(rejected_body_seal(opened, **where, key=newest)).decode(),
            "old_format": body_format,
            "old_key_id": key_id,
            "new_key_id": newest.key_id,
        }

    return _reseal_batch(
        tenant_id=tenant_id,
        select=SELECT_REJECTED_BODIES_TO_REENCRYPT,
        update=UPDATE_REENCRYPTED_REJECTED_BODIES,
        keyset={"after": after},
        batch_size=batch_size,
        reseal=reseal,
        position=lambda row: int(row[0]),
    )
