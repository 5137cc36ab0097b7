"""Re-seal a tenant's stored legacy payloads with its newest key (``reencrypt_payloads``).

Batches walk the tenant's rows in primary-key order; each batch is one short transaction that
rewrites only rows still on an older key (or plaintext), guarded by what it read. Readers are
never blocked and always see a decryptable row (old blob, old key still in the ring; or new
blob). Stopping at any point and starting again is safe: finished rows no longer match.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from django.db import connection, transaction

from events.payload_crypto import (
    PayloadEncryptionUnavailableError,
    StoredPayload,
    encrypt_blob,
    keyring_for,
    payload_aad,
    payload_open,
)
from events.sql import COUNT_PAYLOADS_TO_REENCRYPT, SELECT_PAYLOADS_TO_REENCRYPT, UPDATE_REENCRYPTED_PAYLOADS

_START = (uuid.UUID(int=0), 0)


@dataclass(frozen=True, slots=True)
class RotationBatch:
    rewritten: int
    position: tuple[uuid.UUID, int] | None  # None: nothing left after this batch


def payloads_to_reencrypt_count(*, tenant_id: uuid.UUID) -> int:
    newest = keyring_for(tenant_id).newest
    if newest is None:
        raise PayloadEncryptionUnavailableError("The tenant has no payload key to rotate to.")
    with connection.cursor() as cursor:
        cursor.execute(COUNT_PAYLOADS_TO_REENCRYPT, {"tenant_id": tenant_id, "newest_key_id": newest.key_id})
        return int(cursor.fetchone()[0])


@transaction.atomic(durable=True)
def payload_reencrypt_batch(
    *, tenant_id: uuid.UUID, after: tuple[uuid.UUID, int] = _START, batch_size: int = 500
) -> RotationBatch:
    """Re-seal the next ``batch_size`` rows after ``after`` with the newest key.

    Hashes are untouched (they are over the plaintext). Locks: the rewritten rows, for the
    length of one batch.
    """
    keyring = keyring_for(tenant_id)
    newest = keyring.newest
    if newest is None:
        raise PayloadEncryptionUnavailableError("The tenant has no payload key to rotate to.")
    params: dict[str, Any] = {
        "tenant_id": tenant_id,
        "after_store": after[0],
        "after_sequence": after[1],
        "newest_key_id": newest.key_id,
        "batch_size": batch_size,
    }
    with connection.cursor() as cursor:
        cursor.execute(SELECT_PAYLOADS_TO_REENCRYPT, params)
        rows = cursor.fetchall()
        updates = []
        for store_id, sequence, event_id, entity_type, entity_id, event_type, payload, fmt, key_id in rows:
            aad = payload_aad(tenant_id, store_id, event_id, sequence, entity_type, entity_id, event_type)
            plaintext = payload_open(
                StoredPayload(
                    tenant_id, store_id, event_id, sequence, entity_type, entity_id, event_type, payload, fmt, key_id
                )
            )
            updates.append(
                {
                    "store_id": store_id,
                    "sequence_number": sequence,
                    "payload": base64.b64encode(encrypt_blob(newest, plaintext, aad)).decode(),
                    "old_format": fmt,
                    "old_key_id": key_id,
                    "new_key_id": newest.key_id,
                }
            )
        if updates:
            cursor.execute(
                UPDATE_REENCRYPTED_PAYLOADS, {"tenant_id": tenant_id, "rows": orjson.dumps(updates).decode()}
            )
            rewritten = cursor.rowcount
        else:
            rewritten = 0
    position = (rows[-1][0], rows[-1][1]) if len(rows) == batch_size else None
    return RotationBatch(rewritten, position)
