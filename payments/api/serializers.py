"""Response shapes of the x402 endpoints (REFERENCE.md §2.2: snake_case, reference casing of hex)."""

from __future__ import annotations

import uuid
from typing import Any

from payments.models import PaymentBatch, PaymentIntent
from payments.selectors import PaymentReceipt
from payments.services.intents import SubmittedIntent


def _hex(value: Any, prefix: str = "0x") -> str | None:
    return None if value is None else prefix + bytes(value).hex()


def submitted_output(s: SubmittedIntent) -> dict[str, Any]:
    return {
        "intent_id": str(s.intent_id),
        "status": s.status,
        "sequence_number": s.sequence_number,
        "sequenced_at": s.sequenced_at.isoformat(),
        "batch_id": None if s.batch_id is None else str(s.batch_id),
    }


def intent_status_output(i: PaymentIntent) -> dict[str, Any]:
    return {
        "intent_id": str(i.intent_id),
        "status": i.status,
        "sequence_number": i.sequence_number,
        "sequenced_at": i.sequenced_at.isoformat() if i.sequenced_at else None,
        "batch_id": None if i.batch_id is None else str(i.batch_id),
    }


def intent_output(i: PaymentIntent) -> dict[str, Any]:
    return {
        **intent_status_output(i),
        "x402_version": i.x402_version,
        "tenant_id": str(i.tenant_id),
        "store_id": str(i.store_id),
        "source_agent_id": str(i.source_agent_id),
        "agent_key_id": i.agent_key_id,
        "payer_address": i.payer_address,
        "payee_address": i.payee_address,
        "amount": i.amount,
        "asset": i.asset,
        "network": i.network,
        "chain_id": i.chain_id,
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
        "payer_public_key": _hex(i.payer_public_key, ""),
        "tx_hash": i.tx_hash,
        "block_number": i.block_number,
        "settled_at": i.settled_at.isoformat() if i.settled_at else None,
        "metadata": i.metadata,
        "created_at": i.created_at.isoformat(),
    }


def batch_output(b: PaymentBatch, intent_ids: list[uuid.UUID]) -> dict[str, Any]:
    return {
        "batch_id": str(b.batch_id),
        "status": b.status,
        "tenant_id": str(b.tenant_id),
        "store_id": str(b.store_id),
        "network": b.network,
        "chain_id": b.chain_id,
        "payment_count": b.payment_count,
        "total_amounts": b.total_amounts,
        "merkle_root": _hex(b.merkle_root, ""),
        "prev_state_root": _hex(b.prev_state_root, ""),
        "new_state_root": _hex(b.new_state_root, ""),
        "sequence_start": b.sequence_start,
        "sequence_end": b.sequence_end,
        "tx_hash": b.tx_hash,
        "block_number": b.block_number,
        "gas_used": b.gas_used,
        "failure_reason": b.failure_reason or None,
        "created_at": b.created_at.isoformat(),
        "committed_at": b.committed_at.isoformat() if b.committed_at else None,
        "submitted_at": b.submitted_at.isoformat() if b.submitted_at else None,
        "settled_at": b.settled_at.isoformat() if b.settled_at else None,
        "intent_ids": [str(i) for i in intent_ids],
    }


def batch_created_output(b: PaymentBatch) -> dict[str, Any]:
    return {
        "batch_id": str(b.batch_id),
        "status": b.status,
        "payment_count": b.payment_count,
        "merkle_root": _hex(b.merkle_root),
        "sequence_range": [b.sequence_start, b.sequence_end],
    }


def receipt_output(r: PaymentReceipt) -> dict[str, Any]:
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
            "payer_address": i.payer_address,
            "payee_address": i.payee_address,
            "amount": i.amount,
            "asset": i.asset,
            "network": i.network,
            "chain_id": i.chain_id,
            "nonce": i.nonce,
            "valid_until": i.valid_until,
            "signing_hash": _hex(i.signing_hash),
            "payer_signature": _hex(i.payer_signature),
            "tx_hash": b.tx_hash,
            "block_number": b.block_number,
            "created_at": i.created_at.isoformat(),
        }
    }
