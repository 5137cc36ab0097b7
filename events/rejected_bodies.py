"""Bodies of rejected legacy events sealed at rest, as accepted payloads are.

``rejected_events.body`` keeps the event as received, payload included, so operators can see
why it was refused. When the tenant's payloads are sealed (``encryption_key_for_write``) the body
is stored as an ``SSE1`` blob (``body_format`` 1, ``body_key_id``) under

    aad = SHA256("STATESET_REJECTED_BODY_AAD_V1" || UUID tenant || UUID store || U64 stream_kind
                 || UUID event_id (nil when the event had none) || STR request_id)

and the entity it named goes to ``entity_type``/``entity_id`` in clear (as ``events`` keeps
them), so the reference's ``rejected_events_log`` view still shows them. Signed VES bodies are
kept as received, as ``ves_events`` keeps their payloads (``docs/encryption.md``).
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Any

import orjson

from events.payload_crypto import FORMAT_PLAIN, FORMAT_SSE1, PayloadKey, decrypt_blob, encrypt_blob, keyring_for
from ves.encoding import str_bytes, u64, uuid_bytes

BODY_AAD_TAG = b"STATESET_REJECTED_BODY_AAD_V1"
_NIL = uuid.UUID(int=0)


def rejected_body_aad(
    tenant_id: uuid.UUID, store_id: uuid.UUID, stream_kind: int, event_id: uuid.UUID | None, request_id: str
) -> bytes:
    return hashlib.sha256(
        BODY_AAD_TAG
        + uuid_bytes(tenant_id)
        + uuid_bytes(store_id)
        + u64(stream_kind)
        + uuid_bytes(event_id or _NIL)
        + str_bytes(request_id)
    ).digest()


def _entity_text(raw: Any, name: str) -> str | None:
    value = raw.get(name) if isinstance(raw, dict) else None
    return value if isinstance(value, str) else None


def rejected_body_columns(
    raw: Any,
    *,
    tenant_id: uuid.UUID,
    store_id: uuid.UUID,
    stream_kind: int,
    event_id: uuid.UUID | None,
    request_id: str,
    seal: PayloadKey | None,
) -> dict[str, Any]:
    """The ``body`` (base64), ``body_format``, ``body_key_id``, ``entity_type`` and ``entity_id``
    members of a rejection row for the event ``raw`` as received: sealed with ``seal``, or plain."""
    body = orjson.dumps(raw)
    columns: dict[str, Any] = {
        "entity_type": _entity_text(raw, "entity_type"),
        "entity_id": _entity_text(raw, "entity_id"),
    }
    if seal is None:
        return {**columns, "body": base64.b64encode(body).decode(), "body_format": FORMAT_PLAIN, "body_key_id": None}
    blob = rejected_body_seal(
        body,
        tenant_id=tenant_id,
        store_id=store_id,
        stream_kind=stream_kind,
        event_id=event_id,
        request_id=request_id,
        key=seal,
    )
    return {**columns, "body": base64.b64encode(blob).decode(), "body_format": FORMAT_SSE1, "body_key_id": seal.key_id}


def rejected_body_seal(
    body: bytes,
    *,
    tenant_id: uuid.UUID,
    store_id: uuid.UUID,
    stream_kind: int,
    event_id: uuid.UUID | None,
    request_id: str,
    key: PayloadKey,
) -> bytes:
    """The ``SSE1`` blob of a rejection's body bytes under ``key``."""
    return encrypt_blob(key, body, rejected_body_aad(tenant_id, store_id, stream_kind, event_id, request_id))


def rejected_body_open(
    body: bytes | memoryview,
    *,
    body_format: int,
    body_key_id: int | None,
    tenant_id: uuid.UUID,
    store_id: uuid.UUID,
    stream_kind: int,
    event_id: uuid.UUID | None,
    request_id: str,
) -> bytes:
    """The body as received. Raises ``PayloadDecryptionError`` when no key of the tenant opens it."""
    if body_format == FORMAT_PLAIN:
        return bytes(body)
    aad = rejected_body_aad(tenant_id, store_id, stream_kind, event_id, request_id)
    return decrypt_blob(keyring_for(tenant_id), body_key_id, bytes(body), aad)
