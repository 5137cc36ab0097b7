"""Domain-separated SHA-256 hashes of VES v1 (VES.md §1, §3, §4, §6, §8).

Every hash is ``SHA-256(tag || fields)`` with the tag's ASCII bytes (no length prefix) and the
fields in the primitive encodings of :mod:`ves.encoding`. Merkle leaves, nodes and state roots
live elsewhere (``ves.merkle``); this module covers what ingest needs.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ves.encoding import str_bytes, u32, u64, uuid_bytes
from ves.jcs import canonicalize

__all__ = [
    "TAG_EVENTSIG",
    "TAG_PAYLOAD_AAD",
    "TAG_PAYLOAD_CIPHER",
    "TAG_PAYLOAD_PLAIN",
    "TAG_RECEIPT",
    "TAG_RECIPIENTS",
    "TAG_STREAM",
    "ZERO_HASH",
    "EventSigningFields",
    "event_signing_hash",
    "event_signing_preimage",
    "payload_aad",
    "payload_aad_for",
    "payload_cipher_hash",
    "payload_plain_hash",
    "payload_plain_hash_salted",
    "receipt_hash",
    "recipients_hash",
    "stream_id",
]

TAG_PAYLOAD_PLAIN = b"VES_PAYLOAD_PLAIN_V1"
TAG_PAYLOAD_AAD = b"VES_PAYLOAD_AAD_V1"
TAG_PAYLOAD_CIPHER = b"VES_PAYLOAD_CIPHER_V1"
TAG_RECIPIENTS = b"VES_RECIPIENTS_V1"
TAG_EVENTSIG = b"VES_EVENTSIG_V1"
TAG_STREAM = b"VES_STREAM_V1"
TAG_RECEIPT = b"VES_RECEIPT_V1"

ZERO_HASH = bytes(32)


def _h(*parts: bytes) -> bytes:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
    return digest.digest()


@dataclass(frozen=True, slots=True)
class EventSigningFields:
    """The signed fields of a VES v1 envelope. ``created_at`` is the client's exact string."""

    ves_version: int
    tenant_id: uuid.UUID
    store_id: uuid.UUID
    event_id: uuid.UUID
    source_agent_id: uuid.UUID
    agent_key_id: int
    entity_type: str
    entity_id: str
    event_type: str
    created_at: str
    payload_kind: int
    payload_plain_hash: bytes
    payload_cipher_hash: bytes


def payload_plain_hash(payload: Any) -> bytes:
    """Plaintext payload hash: ``H("VES_PAYLOAD_PLAIN_V1" || JCS(payload))``."""
    return _h(TAG_PAYLOAD_PLAIN, canonicalize(payload))


def payload_plain_hash_salted(salt: bytes, payload: Any) -> bytes:
    """Encrypted-event payload hash: ``H("VES_PAYLOAD_PLAIN_V1" || salt16 || JCS(payload))``."""
    return _h(TAG_PAYLOAD_PLAIN, salt, canonicalize(payload))


def event_signing_preimage(f: EventSigningFields) -> bytes:
    """The 171 + len(strings) byte preimage of the event signing hash (VES.md §4.1)."""
    if len(f.payload_plain_hash) != 32 or len(f.payload_cipher_hash) != 32:
        raise ValueError("payload hashes must be 32 bytes")
    return b"".join(
        (
            TAG_EVENTSIG,
            u32(f.ves_version),
            uuid_bytes(f.tenant_id),
            uuid_bytes(f.store_id),
            uuid_bytes(f.event_id),
            uuid_bytes(f.source_agent_id),
            u32(f.agent_key_id),
            str_bytes(f.entity_type),
            str_bytes(f.entity_id),
            str_bytes(f.event_type),
            str_bytes(f.created_at),
            u32(f.payload_kind),
            f.payload_plain_hash,
            f.payload_cipher_hash,
        )
    )


def event_signing_hash(f: EventSigningFields) -> bytes:
    """``H(event_signing_preimage)``: the 32 bytes the agent signs with Ed25519."""
    return _h(event_signing_preimage(f))


def stream_id(tenant_id: uuid.UUID, store_id: uuid.UUID) -> bytes:
    """``H("VES_STREAM_V1" || UUID(tenant) || UUID(store))``."""
    return _h(TAG_STREAM, uuid_bytes(tenant_id), uuid_bytes(store_id))


def receipt_hash(
    tenant_id: uuid.UUID, store_id: uuid.UUID, event_id: uuid.UUID, sequence_number: int, signing_hash: bytes
) -> bytes:
    """Sequencer receipt: ``H("VES_RECEIPT_V1" || UUID t || UUID s || UUID e || U64 seq || esh)``."""
    return _h(
        TAG_RECEIPT,
        uuid_bytes(tenant_id),
        uuid_bytes(store_id),
        uuid_bytes(event_id),
        u64(sequence_number),
        signing_hash,
    )


def payload_aad(
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
    payload_plain_hash: bytes,
) -> bytes:
    """VES-ENC-1 AAD (VES.md §8.2 step 3). There is deliberately **no** ``ves_version`` in it."""
    return _h(
        TAG_PAYLOAD_AAD,
        uuid_bytes(tenant_id),
        uuid_bytes(store_id),
        uuid_bytes(event_id),
        uuid_bytes(source_agent_id),
        u32(agent_key_id),
        str_bytes(entity_type),
        str_bytes(entity_id),
        str_bytes(event_type),
        str_bytes(created_at),
        payload_plain_hash,
    )


def payload_aad_for(f: EventSigningFields) -> bytes:
    """:func:`payload_aad` from the signed envelope fields (uses the claimed plain hash)."""
    return payload_aad(
        tenant_id=f.tenant_id,
        store_id=f.store_id,
        event_id=f.event_id,
        source_agent_id=f.source_agent_id,
        agent_key_id=f.agent_key_id,
        entity_type=f.entity_type,
        entity_id=f.entity_id,
        event_type=f.event_type,
        created_at=f.created_at,
        payload_plain_hash=f.payload_plain_hash,
    )


def recipients_hash(recipients: Iterable[tuple[int, bytes, bytes]]) -> bytes:
    """``H("VES_RECIPIENTS_V1" || per recipient: U32 kid || U32 len enc || enc || U32 len ct || ct)``.

    Over the decoded bytes, in list order (the caller checks the order is ascending by kid).
    """
    parts = [TAG_RECIPIENTS]
    for kid, enc, ct in recipients:
        parts += [u32(kid), u32(len(enc)), enc, u32(len(ct)), ct]
    return _h(*parts)


def payload_cipher_hash(nonce: bytes, aad: bytes, ciphertext: bytes, tag: bytes, recipients_digest: bytes) -> bytes:
    """``H("VES_PAYLOAD_CIPHER_V1" || U32(1) || nonce || aad || U32 len ct || ct || tag || recipients_hash)``.

    The ``U32(1)`` is a constant, not the envelope's ``enc_version``.
    """
    return _h(TAG_PAYLOAD_CIPHER, u32(1), nonce, aad, u32(len(ciphertext)), ciphertext, tag, recipients_digest)
