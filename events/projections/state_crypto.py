"""Projected entity states sealed at rest, as the payloads they are merged from.

``entity_state.state`` is the merge of an entity's payloads: with payloads sealed at rest
(``docs/encryption.md``) it would otherwise be their plaintext, readable by anyone who can
read the table or a backup. When the tenant's payloads are sealed (``encryption_key_for_write``),
the projection stores the state's JSON bytes as an ``SSE1`` blob in ``state_sealed`` (with
``state_key_id``; ``state`` is NULL), under the tenant's newest payload key and

    aad = SHA256("STATESET_ENTITY_STATE_AAD_V1" || UUID tenant || UUID store || STR entity_type
                 || STR entity_id)

so a blob copied to another entity, stream or tenant does not open. Otherwise ``state`` holds
the JSON (rows written before sealing existed read the same way, and are sealed by their
entity's next event or by ``reencrypt_payloads``).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any, NamedTuple

from events.errors import PayloadIntegrityError
from events.payload_crypto import PayloadKey, StoredPayload, decrypt_blob, encrypt_blob, keyring_for
from events.projections.merge import load_json, merge_patch
from events.projections.registry import projection_payload_open
from sequencer_project.api.json_numbers import dumps
from ves.encoding import str_bytes, uuid_bytes

STATE_AAD_TAG = b"STATESET_ENTITY_STATE_AAD_V1"


@dataclass(slots=True)  # not frozen: built twice per entity a projection batch writes
class EntityKey:
    """Which entity a state belongs to: what its seal's associated data binds."""

    tenant_id: uuid.UUID
    store_id: uuid.UUID
    entity_type: str
    entity_id: str


def state_aad(entity: EntityKey) -> bytes:
    return hashlib.sha256(
        b"".join(
            (
                STATE_AAD_TAG,
                uuid_bytes(entity.tenant_id),
                uuid_bytes(entity.store_id),
                str_bytes(entity.entity_type),
                str_bytes(entity.entity_id),
            )
        )
    ).digest()


class StateColumns(NamedTuple):
    """How a state is stored: ``state`` (JSON text) when plain, else ``sealed`` and ``key_id``."""

    state: str | None
    sealed: bytes | None
    key_id: int | None


def state_columns(entity: EntityKey, state: Any, key: PayloadKey | None) -> StateColumns:
    """The ``state``, ``state_sealed`` and ``state_key_id`` columns of an entity's row: sealed
    with ``key``, or plain JSON when it is ``None``."""
    if key is None:
        return StateColumns(dumps(state).decode(), None, None)
    return StateColumns(None, state_seal(entity, state, key), key.key_id)


def state_seal(entity: EntityKey, state: Any, key: PayloadKey) -> bytes:
    """The entity's state as an ``SSE1`` blob under ``key``."""
    return encrypt_blob(key, dumps(state), state_aad(entity))


def state_open(entity: EntityKey, state: Any, sealed: bytes | memoryview | None, key_id: int | None) -> Any:
    """The entity's state from its row's ``state`` (jsonb, as loaded), ``state_sealed`` and
    ``state_key_id``. Raises ``PayloadDecryptionError`` naming the entity when no key of the
    tenant opens it."""
    if sealed is None:
        return load_json(state)
    try:
        plaintext = decrypt_blob(keyring_for(entity.tenant_id), key_id, bytes(sealed), state_aad(entity))
    except PayloadIntegrityError as exc:
        raise exc.of_state(
            tenant_id=entity.tenant_id,
            store_id=entity.store_id,
            entity_type=entity.entity_type,
            entity_id=entity.entity_id,
        ) from None
    return load_json(plaintext)


def state_of_reference(
    entity: EntityKey,
    sequence_number: int,
    event_id: uuid.UUID | None,
    event_type: str | None,
    payload: bytes | memoryview | None,
    payload_format: int | None,
) -> Any:
    """The state of an entity stored by reference to its one event (ADR 0036): that event's
    payload merged into nothing (RFC 7386: its null members dropped). Raises
    ``PayloadDecryptionError`` when the payload's key is missing from the tenant's ring,
    ``UnreadablePayloadError`` when it was altered at rest (``registry.projection_payload_open``),
    ``LookupError`` when the event is not in the store (never expected: events are never deleted)."""
    if event_id is None or event_type is None or payload is None or payload_format is None:
        raise LookupError(f"event #{sequence_number} of {entity.entity_type}/{entity.entity_id} is not in the store")
    stored = StoredPayload(
        entity.tenant_id,
        entity.store_id,
        event_id,
        sequence_number,
        entity.entity_type,
        entity.entity_id,
        event_type,
        payload,
        payload_format,
    )
    return merge_patch(None, load_json(projection_payload_open(stored)))


def state_of_row(
    entity: EntityKey,
    state: Any,
    sealed: bytes | memoryview | None,
    key_id: int | None,
    reference: int | None,
    event_id: uuid.UUID | None,
    event_type: str | None,
    payload: bytes | memoryview | None,
    payload_format: int | None,
) -> Any:
    """An entity's state from its ``entity_state`` row in any of its forms: plain or sealed
    (``state_open``), or by reference to its one event (``state_event_sequence`` and that event's
    payload columns, ``state_of_reference``). Both readers of states select these columns."""
    if reference is None:
        return state_open(entity, state, sealed, key_id)
    return state_of_reference(entity, reference, event_id, event_type, payload, payload_format)
