"""Response shapes of the x402 endpoints: the reference's field names, JSON types and hex casing
(REFERENCE.md §2.2), plus our documented extras (docs/payments.md "Wire format").

Datetimes are passed through as ``datetime`` objects: the renderer writes them as RFC 3339 with
``Z`` (``orjson.OPT_UTC_Z``), which is how the reference's serde writes chrono's
``DateTime<Utc>`` in every x402 body. Optional 32-byte hashes that the reference serialises with
``skip_serializing_if = "Option::is_none"`` are left out when absent, not written as ``null``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from payments.models import PaymentBatch, PaymentIntent
from payments.selectors import PaymentReceipt
from payments.services.intents import SubmittedIntent
from payments.services.settlement import SettlementRecorded

_U64_MAX = 2**64 - 1  # the reference's batch totals are u64 sums that saturate


def _hex(value: Any, prefix: str = "0x") -> str | None:
    return None if value is None else prefix + bytes(value).hex()


def _present_hex(out: dict[str, Any], name: str, value: Any) -> None:
    """Set ``out[name]`` to plain hex when ``value`` exists (the reference omits absent ones)."""
    if value is not None:
        out[name] = bytes(value).hex()


def intent_status_output(i: PaymentIntent | SubmittedIntent) -> dict[str, Any]:
    """An intent's id, status, place in its stream and batch: the whole answer to a submission
    (new or replayed) and to ``GET /x402/payments/{id}``, and the head of every listed intent."""
    return {
        "intent_id": str(i.intent_id),
        "status": i.status,
        "sequence_number": i.sequence_number,
        "sequenced_at": i.sequenced_at,
        "batch_id": None if i.batch_id is None else str(i.batch_id),
    }


# Who pays whom how much of what, on which chain: members of an intent and of its receipt,
# named as the intent's fields.
_TERMS = ("payer_address", "payee_address", "amount", "asset", "network", "chain_id")


def _terms(i: PaymentIntent) -> dict[str, Any]:
    return {name: getattr(i, name) for name in _TERMS}


def intent_output(i: PaymentIntent) -> dict[str, Any]:
    out: dict[str, Any] = {
        **intent_status_output(i),
        "x402_version": i.x402_version,
        "tenant_id": str(i.tenant_id),
        "store_id": str(i.store_id),
        "source_agent_id": str(i.source_agent_id),
        "agent_key_id": i.agent_key_id,
        **_terms(i),
        "token_address": i.token_address,
        "created_at_unix": i.created_at_unix,
        "valid_until": i.valid_until,
        "nonce": i.nonce,
        "idempotency_key": i.idempotency_key,
        "resource_uri": i.resource_uri,
        "description": i.description,
        "order_id": i.order_id,
        "merchant_id": i.merchant_id,
        "signing_hash": _hex(i.signing_hash),
        "payer_signature": _hex(i.payer_signature),
    }
    _present_hex(out, "payer_public_key", i.payer_public_key)
    out.update(
        {
            "tx_hash": i.tx_hash,
            "block_number": i.block_number,
            "settled_at": i.settled_at,
            "metadata": i.metadata,
            "created_at": i.created_at,
            "updated_at": i.updated_at,
        }
    )
    return out


def _totals(stored: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stored totals are exact decimal strings; the wire has the reference's JSON numbers."""
    return [
        {
            "asset": t["asset"],
            "total_amount": min(int(t["total_amount"]), _U64_MAX),
            "payment_count": int(t["payment_count"]),
        }
        for t in stored
    ]


def batch_output(b: PaymentBatch, intent_ids: list[uuid.UUID]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "batch_id": str(b.batch_id),
        "status": b.status,
        "tenant_id": str(b.tenant_id),
        "store_id": str(b.store_id),
        "network": b.network,
        "chain_id": b.chain_id,
        "payment_count": b.payment_count,
        "total_amounts": _totals(b.total_amounts),
    }
    _present_hex(out, "merkle_root", b.merkle_root)
    _present_hex(out, "prev_state_root", b.prev_state_root)
    _present_hex(out, "new_state_root", b.new_state_root)
    out.update(
        {
            "sequence_start": b.sequence_start,
            "sequence_end": b.sequence_end,
            "intent_ids": [str(i) for i in intent_ids],
            "tx_hash": b.tx_hash,
            "block_number": b.block_number,
            "gas_used": b.gas_used,
            "failure_reason": b.failure_reason or None,
            "created_at": b.created_at,
            "committed_at": b.committed_at,
            "submitted_at": b.submitted_at,
            "settled_at": b.settled_at,
        }
    )
    return out


def batch_created_output(b: PaymentBatch) -> dict[str, Any]:
    return {
        "batch_id": str(b.batch_id),
        "status": b.status,
        "payment_count": b.payment_count,
        "merkle_root": _hex(b.merkle_root),
        "sequence_range": [b.sequence_start, b.sequence_end],
    }


def settlement_output(s: SettlementRecorded) -> dict[str, Any]:
    b = s.batch
    return {
        "batch_id": str(b.batch_id),
        "status": b.status,
        "tx_hash": b.tx_hash,
        "block_number": b.block_number,
        "gas_used": b.gas_used,
        "message": s.message,
    }


def receipt_output(r: PaymentReceipt) -> dict[str, Any]:
    """The receipt as the reference builds it: a new ``receipt_id`` and ``created_at`` (now) on
    every call, settlement fields from the intent. Extras: ``batch_status``, ``leaf_hash``,
    ``proof_directions``."""
    i, b = r.intent, r.batch
    return {
        "receipt": {
            "receipt_id": str(uuid.uuid4()),
            "intent_id": str(i.intent_id),
            "sequence_number": i.sequence_number,
            "batch_id": str(b.batch_id),
            "batch_status": b.status,
            "merkle_root": _hex(b.merkle_root),
            "leaf_hash": _hex(r.leaf_hash),
            "inclusion_proof": ["0x" + p.hex() for p in r.proof.path],
            "proof_directions": ["left" if d else "right" for d in r.proof.directions],
            "leaf_index": r.proof.leaf_index,
            "total_leaves": r.proof.leaf_count,
            **_terms(i),
            "nonce": i.nonce,
            "valid_until": i.valid_until,
            "signing_hash": _hex(i.signing_hash),
            "payer_signature": _hex(i.payer_signature),
            "tx_hash": i.tx_hash,
            "block_number": i.block_number,
            "created_at": datetime.now(UTC),
        }
    }
