"""OpenAPI shapes of the events endpoints (legacy, VES, projections); see ``sequencer_project.api.openapi``."""

from __future__ import annotations

from events.envelopes import FIELD_LIMITS
from sequencer_project.api.fields import U32
from sequencer_project.api.openapi import (
    ANY,
    BOOLEAN,
    DATETIME,
    HEX,
    HEX_0X,
    INTEGER,
    STRING,
    UUID,
    Schema,
    array,
    hex_in,
    nullable,
    obj,
)


def entity_text(name: str) -> Schema:
    return {"type": "string", "minLength": 1, "maxLength": FIELD_LIMITS[name]}


HEX64: Schema = {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"}

# --- legacy ---------------------------------------------------------------------------------

LEGACY_EVENT_IN = obj(
    {
        "event_id": UUID,
        "tenant_id": UUID,
        "store_id": UUID,
        "entity_type": entity_text("entity_type"),
        "entity_id": entity_text("entity_id"),
        "event_type": entity_text("event_type"),
        "payload": ANY,
        "created_at": {**DATETIME, "description": "RFC 3339 with an offset"},
        "command_id": nullable(UUID),
        "base_version": nullable({"type": "integer", "minimum": 0}),
        "envelope_version": nullable({"type": "integer", "minimum": 1}),
        "source_agent": nullable(UUID),
        "payload_hash": nullable({**HEX64, "description": "SHA-256 of the payload; checked when given"}),
        "signature": nullable(array({"type": "integer", "minimum": 0, "maximum": 255})),
    },
    optional=(
        "command_id",
        "base_version",
        "envelope_version",
        "source_agent",
        "payload_hash",
        "signature",
    ),
)
LEGACY_INGEST_REQUEST = obj(
    {
        "events": array(LEGACY_EVENT_IN, description="one stream, at most MAX_EVENTS_PER_BATCH events"),
        "agent_id": nullable(UUID),
    },
    optional=("agent_id",),
)
REJECTION = obj({"event_id": nullable(UUID), "reason": STRING, "message": STRING}, optional=("event_id",))
LEGACY_INGEST_RESPONSE = obj(
    {
        "batch_id": UUID,
        "events_accepted": INTEGER,
        "events_rejected": INTEGER,
        "assigned_sequence_start": nullable(INTEGER),
        "assigned_sequence_end": nullable(INTEGER),
        "head_sequence": INTEGER,
        "receipts": array(obj({"event_id": UUID, "sequence_number": INTEGER, "replayed": BOOLEAN})),
        "rejections": array(REJECTION),
    },
    optional=("rejections",),
)
LEGACY_ENVELOPE = obj(
    {
        "envelope_version": INTEGER,
        "event_id": UUID,
        "tenant_id": UUID,
        "store_id": UUID,
        "entity_type": STRING,
        "entity_id": STRING,
        "event_type": STRING,
        "payload": ANY,
        "payload_hash": HEX,
        "created_at": DATETIME,
        "sequence_number": INTEGER,
        "source_agent": UUID,
        "command_id": UUID,
        "base_version": INTEGER,
        "signature": array(INTEGER),
    },
    optional=("command_id", "base_version", "signature"),
)
SEQUENCED_EVENT = obj({"envelope": LEGACY_ENVELOPE, "sequenced_at": DATETIME})
EVENT_LIST = obj({"events": array(SEQUENCED_EVENT), "count": INTEGER})
HEAD = obj({"head_sequence": INTEGER})
ENTITY_HISTORY = obj(
    {
        "entity_type": STRING,
        "entity_id": STRING,
        "events": array(SEQUENCED_EVENT),
        "count": INTEGER,
        "total": INTEGER,
        "has_more": BOOLEAN,
    }
)

# --- VES ------------------------------------------------------------------------------------

_HASH_IN = hex_in(32, description="32 bytes of hex, 0x prefix optional")
_SIGNATURE_IN = hex_in(64, description="64 bytes of hex (Ed25519), 0x prefix optional")
VES_EVENT_IN = obj(
    {
        "ves_version": {"type": "integer", "minimum": U32[0], "maximum": U32[1]},
        "event_id": UUID,
        "tenant_id": UUID,
        "store_id": UUID,
        "source_agent_id": UUID,
        "agent_key_id": {"type": "integer", "minimum": U32[0], "maximum": U32[1]},
        "entity_type": STRING,
        "entity_id": STRING,
        "event_type": STRING,
        "created_at": STRING,
        "payload_kind": {"type": "integer", "enum": [0, 1]},
        "payload": ANY,
        "payload_encrypted": ANY,
        "payload_plain_hash": _HASH_IN,
        "payload_cipher_hash": _HASH_IN,
        "agent_signature": _SIGNATURE_IN,
        "command_id": nullable(UUID),
        "base_version": nullable({"type": "integer", "minimum": 0}),
    },
    optional=("payload", "payload_encrypted", "command_id", "base_version"),
)
VES_INGEST_REQUEST = obj({"agentId": UUID, "events": array(VES_EVENT_IN)})
VES_RECEIPT = obj(
    {
        "sequencerId": UUID,
        "eventId": UUID,
        "sequenceNumber": INTEGER,
        "sequencedAt": DATETIME,
        "receiptHash": HEX,
        "signatureAlg": STRING,
        "sequencerSignature": HEX,
        "sequencerKeyVersion": INTEGER,
    }
)
VES_INGEST_RESPONSE = obj(
    {
        "batchId": UUID,
        "eventsAccepted": INTEGER,
        "eventsRejected": INTEGER,
        "sequenceStart": nullable(INTEGER),
        "sequenceEnd": nullable(INTEGER),
        "headSequence": INTEGER,
        "rejections": array(REJECTION),
        "receipts": array(VES_RECEIPT),
    },
    optional=("rejections", "receipts"),
)
VES_ENVELOPE = obj(
    {
        "ves_version": INTEGER,
        "event_id": UUID,
        "tenant_id": UUID,
        "store_id": UUID,
        "source_agent_id": UUID,
        "agent_key_id": INTEGER,
        "entity_type": STRING,
        "entity_id": STRING,
        "event_type": STRING,
        "created_at": STRING,
        "payload_kind": INTEGER,
        "payload_plain_hash": HEX_0X,
        "payload_cipher_hash": HEX_0X,
        "agent_signature": HEX_0X,
        "payload": ANY,
        "payload_encrypted": ANY,
        "command_id": UUID,
        "base_version": INTEGER,
    },
    optional=("payload", "payload_encrypted", "command_id", "base_version"),
)
VES_EVENT = obj(
    {
        "envelope": VES_ENVELOPE,
        "sequence_number": INTEGER,
        "sequenced_at": DATETIME,
        "event_signing_hash": HEX_0X,
        "receipt": VES_RECEIPT,
    }
)
VES_EVENT_LIST = obj({"events": array(VES_EVENT), "count": INTEGER})

# --- projections ----------------------------------------------------------------------------

PROJECTION_LAG = obj(
    {
        "projection": STRING,
        "store_id": UUID,
        "head": INTEGER,
        "checkpoint": INTEGER,
        "lag": INTEGER,
        "updated_at": nullable(DATETIME),
    }
)
ENTITY_STATE = obj(
    {
        "entity_type": STRING,
        "entity_id": STRING,
        "version": INTEGER,
        "last_sequence": INTEGER,
        "last_event_id": UUID,
        "last_event_type": STRING,
        "state": ANY,
        "updated_at": DATETIME,
        "projection": nullable(PROJECTION_LAG),
    }
)
LAG_LIST = obj({"streams": array(PROJECTION_LAG), "next_offset": nullable(INTEGER)})
DEAD_LETTER = obj(
    {
        "id": INTEGER,
        "projection": STRING,
        "tenant_id": UUID,
        "store_id": UUID,
        "stream_kind": INTEGER,
        "sequence_number": INTEGER,
        "event_id": nullable(UUID),
        "error_class": STRING,
        "error_message": STRING,
        "attempts": INTEGER,
        "status": STRING,
        "next_retry_at": nullable(DATETIME),
        "first_failed_at": DATETIME,
        "last_failed_at": DATETIME,
        "resolved_at": nullable(DATETIME),
    }
)
DEAD_LETTER_RETRY = obj({"succeeded": BOOLEAN, "entry": DEAD_LETTER})
DEAD_LETTER_DISCARD = obj({"entry": DEAD_LETTER})

# --- Admin JSON (docs/auth.md) ---------------------------------------------------------------
RFC3339 = {**DATETIME, "description": "RFC 3339, +00:00 offset (chrono to_rfc3339)"}
ADMIN_OVERVIEW = obj(
    {
        "tenants": INTEGER,
        "stores": INTEGER,
        "agents": INTEGER,
        "apiKeys": INTEGER,
        "activeApiKeys": INTEGER,
        "totalHeadSequence": INTEGER,
        "activeStores24h": INTEGER,
        "maxProjectionLag": INTEGER,
        "lastActivityAt": nullable(RFC3339),
        "totalVesHeadSequence": INTEGER,
    }
)
ADMIN_TENANTS = array(
    obj(
        {
            "tenantId": UUID,
            "agentCount": INTEGER,
            "apiKeyCount": INTEGER,
            "activeApiKeys": INTEGER,
            "storeCount": INTEGER,
            "totalHeadSequence": INTEGER,
            "activeStores24h": INTEGER,
            "maxProjectionLag": INTEGER,
            "lastKeyAt": nullable(RFC3339),
            "lastActivityAt": nullable(RFC3339),
            "stores": INTEGER,
            "agents": INTEGER,
            "apiKeys": INTEGER,
            "headSequence": INTEGER,
            "name": STRING,
            "active": BOOLEAN,
            "createdAt": RFC3339,
            "vesHeadSequence": INTEGER,
        }
    )
)
ADMIN_STORES = array(
    obj(
        {
            "tenantId": UUID,
            "storeId": UUID,
            "headSequence": INTEGER,
            "lastProjectedSequence": INTEGER,
            "projectionLag": INTEGER,
            "agentCount": INTEGER,
            "lastAgentSyncAt": nullable(RFC3339),
            "updatedAt": RFC3339,
            "vesHeadSequence": INTEGER,
            "createdAt": RFC3339,
        }
    )
)
ADMIN_AGENTS = array(
    obj(
        {
            "tenantId": UUID,
            "agentId": UUID,
            "permissions": {"type": "string", "enum": ["read", "read_write", "admin", "none"]},
            "storeScope": {"type": "string", "enum": ["all", "scoped"]},
            "apiKeyCount": INTEGER,
            "activeApiKeys": INTEGER,
            "firstKeyAt": nullable(RFC3339),
            "lastKeyAt": nullable(RFC3339),
            "storeId": nullable(UUID),
            "lastSyncAt": nullable(RFC3339),
            "lastPushedSequence": nullable(INTEGER),
            "lastPulledSequence": nullable(INTEGER),
            "storeIds": array(UUID),
            "signingKeyCount": INTEGER,
        }
    )
)
