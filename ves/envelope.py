"""Agent side: build a signed VES v1 wire envelope (snake_case, ``0x`` hex), plain or encrypted.

For tools, load generators and tests; the server never signs events. ``created_at`` is signed
exactly as given, so pass the string you will send.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from ves.encryption import seal
from ves.hashes import ZERO_HASH, EventSigningFields, event_signing_hash, payload_plain_hash
from ves.signing import sign

__all__ = ["signed_envelope"]


def signed_envelope(
    seed: bytes,
    *,
    tenant_id: uuid.UUID,
    store_id: uuid.UUID,
    event_id: uuid.UUID,
    source_agent_id: uuid.UUID,
    agent_key_id: int,
    entity_type: str,
    entity_id: str,
    event_type: str,
    created_at: str,
    payload: Any,
    recipients: Sequence[tuple[int, bytes]] | None = None,
    ves_version: int = 1,
    command_id: uuid.UUID | None = None,
    base_version: int | None = None,
) -> dict[str, Any]:
    """The wire form of an event signed with the Ed25519 ``seed``.

    With ``recipients`` (``(kid, X25519 public key)``) the payload is sealed with VES-ENC-1
    (fresh randomness) and sent as ``payload_encrypted``; otherwise it is sent as ``payload``.
    """
    fields = EventSigningFields(
        ves_version=ves_version,
        tenant_id=tenant_id,
        store_id=store_id,
        event_id=event_id,
        source_agent_id=source_agent_id,
        agent_key_id=agent_key_id,
        entity_type=entity_type,
        entity_id=entity_id,
        event_type=event_type,
        created_at=created_at,
        payload_kind=0,
        payload_plain_hash=ZERO_HASH,
        payload_cipher_hash=ZERO_HASH,
    )
    body: dict[str, Any] = {}
    if recipients is None:
        kind, plain, cipher = 0, payload_plain_hash(payload), ZERO_HASH
        body["payload"] = payload
    else:
        sealed = seal(fields, payload, recipients)
        kind, plain, cipher = 1, sealed.payload_plain_hash, sealed.payload_cipher_hash
        body["payload_encrypted"] = sealed.payload_encrypted
    signed = replace(fields, payload_kind=kind, payload_plain_hash=plain, payload_cipher_hash=cipher)
    envelope: dict[str, Any] = {
        "ves_version": ves_version,
        "event_id": str(event_id),
        "tenant_id": str(tenant_id),
        "store_id": str(store_id),
        "source_agent_id": str(source_agent_id),
        "agent_key_id": agent_key_id,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "event_type": event_type,
        "created_at": created_at,
        "payload_kind": kind,
        "payload_plain_hash": "0x" + plain.hex(),
        "payload_cipher_hash": "0x" + cipher.hex(),
        "agent_signature": "0x" + sign(seed, event_signing_hash(signed)).hex(),
        **body,
    }
    if command_id is not None:
        envelope["command_id"] = str(command_id)
    if base_version is not None:
        envelope["base_version"] = base_version
    return envelope
