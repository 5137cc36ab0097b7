"""OpenAPI shapes of the x402 endpoints (snake_case; ``docs/payments.md``)."""

from __future__ import annotations

from payments.hashing import ASSET_ALIASES, ASSETS, NETWORKS
from payments.limits import (
    INTENT_TEXT_MAX_BYTES,
    MAX_ADDRESS_LENGTH,
    MAX_BATCH_SIZE,
    MAX_METADATA_BYTES,
    MAX_VALIDITY_SECONDS,
)
from payments.models import BatchStatus, IntentStatus
from sequencer_project.api.fields import BIGINT_MAX
from sequencer_project.api.openapi import (
    ANY,
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

I64: Schema = {"type": "integer", "minimum": 0, "maximum": BIGINT_MAX}
ADDRESS: Schema = {
    "type": "string",
    "maxLength": MAX_ADDRESS_LENGTH,
    "pattern": "^((0[xX])?[0-9a-fA-F]{40}|0[xX][0-9a-fA-F]{64})$",
    "description": "20 bytes of hex after an optional 0x, or 0x and 32 bytes (413 above the maxLength)",
}
NETWORK: Schema = {"type": "string", "enum": list(NETWORKS)}
ASSET: Schema = {
    "type": "string",
    "enum": [*ASSETS, *ASSET_ALIASES],
    "description": "any case; ss_usd and wss_usd mean ssusd and wssusd (answers use the canonical name)",
}
INTENT_STATUS: Schema = {"type": "string", "enum": list(IntentStatus.values)}
BATCH_STATUS: Schema = {"type": "string", "enum": list(BatchStatus.values)}
# Datetimes as the reference's serde writes chrono's DateTime<Utc>: RFC 3339 ending in Z.
ISO: Schema = {**DATETIME, "description": "RFC 3339, UTC, ending in Z"}

PAYMENT_SUBMIT = obj(
    {
        "tenant_id": UUID,
        "store_id": UUID,
        "agent_id": UUID,
        "source_agent_id": {**UUID, "description": "alias of agent_id; when both are given they must be equal"},
        "agent_key_id": nullable({"type": "integer", "minimum": 1}),
        "payer_address": ADDRESS,
        "payee_address": ADDRESS,
        "amount": {"type": "integer", "minimum": 1, "maximum": BIGINT_MAX},
        "asset": ASSET,
        "network": NETWORK,
        "valid_until": {**I64, "description": f"unix seconds, at most {MAX_VALIDITY_SECONDS // 3600} h ahead"},
        "nonce": I64,
        "signing_hash": hex_in(32, description="32 bytes of hex, 0x optional"),
        "payer_signature": hex_in(64, 65, description="64 or 65 bytes of hex, 0x optional"),
        "payer_public_key": nullable(hex_in(32, description="32 bytes of hex, 0x optional")),
        "metadata": {**ANY, "description": f"any JSON, at most {MAX_METADATA_BYTES} bytes as compact JSON"},
        **{
            name: nullable({"type": "string", "maxLength": limit, "description": f"at most {limit} bytes of UTF-8"})
            for name, limit in INTENT_TEXT_MAX_BYTES.items()
        },
    },
    optional=("source_agent_id", "agent_key_id", "payer_public_key", "metadata", *INTENT_TEXT_MAX_BYTES),
)
INTENT_STATUS_BODY: dict[str, Schema] = {
    "intent_id": UUID,
    "status": INTENT_STATUS,
    "sequence_number": nullable(INTEGER),
    "sequenced_at": nullable(ISO),
    "batch_id": nullable(UUID),
}
# Who pays whom how much of what, on which chain: members of an intent and of its receipt
# (payments.api.serializers._TERMS).
TERMS: dict[str, Schema] = {
    "payer_address": STRING,
    "payee_address": STRING,
    "amount": INTEGER,
    "asset": STRING,
    "network": STRING,
    "chain_id": INTEGER,
}
# The whole answer to a submission (new or replayed) and to GET /x402/payments/{id}.
INTENT_STATUS_OUT = obj(INTENT_STATUS_BODY)
INTENT = obj(
    {
        **INTENT_STATUS_BODY,
        "x402_version": INTEGER,
        "tenant_id": UUID,
        "store_id": UUID,
        "source_agent_id": UUID,
        "agent_key_id": INTEGER,
        **TERMS,
        "token_address": nullable(STRING),
        "created_at_unix": INTEGER,
        "valid_until": INTEGER,
        "nonce": INTEGER,
        **{name: nullable(STRING) for name in INTENT_TEXT_MAX_BYTES},
        "signing_hash": HEX_0X,
        "payer_signature": HEX_0X,
        "payer_public_key": {**HEX, "description": "absent when the request had none"},
        "tx_hash": nullable(STRING),
        "block_number": nullable(INTEGER),
        "settled_at": nullable(ISO),
        "metadata": ANY,
        "created_at": ISO,
        "updated_at": ISO,
    },
    optional=("payer_public_key",),
)
INTENT_LIST = array(INTENT)
BATCH = obj(
    {
        "batch_id": UUID,
        "status": BATCH_STATUS,
        "tenant_id": UUID,
        "store_id": UUID,
        "network": STRING,
        "chain_id": INTEGER,
        "payment_count": INTEGER,
        "total_amounts": array(
            obj(
                {
                    "asset": STRING,
                    "total_amount": {**INTEGER, "minimum": 0, "description": "sum of amounts, saturating at 2^64-1"},
                    "payment_count": INTEGER,
                }
            )
        ),
        "merkle_root": HEX,
        "prev_state_root": HEX,
        "new_state_root": HEX,
        "sequence_start": INTEGER,
        "sequence_end": INTEGER,
        "intent_ids": {**array(UUID), "description": "the batch's intents in leaf order (the reference: always [])"},
        "tx_hash": nullable(STRING),
        "block_number": nullable(INTEGER),
        "gas_used": nullable(INTEGER),
        "failure_reason": nullable(STRING),
        "created_at": ISO,
        "committed_at": nullable(ISO),
        "submitted_at": nullable(ISO),
        "settled_at": nullable(ISO),
    },
    optional=("merkle_root", "prev_state_root", "new_state_root"),
)
BATCH_ENVELOPE = obj({"batch": BATCH})
BATCH_CREATE = obj(
    {
        "tenant_id": UUID,
        "store_id": UUID,
        "network": NETWORK,
        "max_size": nullable({"type": "integer", "minimum": 1, "maximum": MAX_BATCH_SIZE}),
        "intent_ids": nullable(array(UUID)),
    },
    optional=("network", "max_size", "intent_ids"),
)
BATCH_CREATED = obj(
    {
        "batch_id": UUID,
        "status": BATCH_STATUS,
        "payment_count": INTEGER,
        "merkle_root": nullable(HEX_0X),
        "sequence_range": array(INTEGER, minItems=2, maxItems=2),
    }
)
BATCH_SETTLE = obj(
    {
        "batch_id": UUID,
        "tx_hash": nullable(hex_in(32, description="the settlement transaction's hash, stored as submitted")),
        "block_number": nullable(I64),
        "gas_used": nullable(I64),
    },
    optional=("tx_hash", "block_number", "gas_used"),
)
SETTLED = obj(
    {
        "batch_id": UUID,
        "status": BATCH_STATUS,
        "tx_hash": nullable(STRING),
        "block_number": nullable(INTEGER),
        "gas_used": nullable(INTEGER),
        "message": STRING,
    }
)
RECEIPT = obj(
    {
        "receipt": obj(
            {
                "receipt_id": UUID,
                "intent_id": UUID,
                "sequence_number": INTEGER,
                "batch_id": UUID,
                "batch_status": BATCH_STATUS,
                "merkle_root": nullable(HEX_0X),
                "leaf_hash": HEX_0X,
                "inclusion_proof": array(HEX_0X),
                "proof_directions": array({"type": "string", "enum": ["left", "right"]}),
                "leaf_index": INTEGER,
                "total_leaves": INTEGER,
                **TERMS,
                "nonce": INTEGER,
                "valid_until": INTEGER,
                "signing_hash": HEX_0X,
                "payer_signature": HEX_0X,
                "tx_hash": nullable(STRING),
                "block_number": nullable(INTEGER),
                "created_at": {**ISO, "description": "when this receipt was made (as receipt_id, new on every call)"},
            }
        )
    }
)
