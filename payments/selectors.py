"""Read side of the payments app: intents, batches, receipts with inclusion proofs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from payments.models import (
    BatchStatus,
    IntentStatus,
    PaymentBatch,
    PaymentIntent,
    SettlementDeadLetter,
    SettlementDeadLetterStatus,
)
from payments.services.batches import intent_leaf
from ves.legacy_merkle import LegacyProof, build_tree

_RECEIPT_BATCH_STATES = (BatchStatus.COMMITTED, BatchStatus.SUBMITTED, BatchStatus.SETTLED)


INTENT_STATUSES: tuple[str, ...] = tuple(IntentStatus.values)  # the list filter's words


@dataclass(frozen=True, slots=True)
class IntentFilters:
    tenant_id: uuid.UUID
    store_id: uuid.UUID | None = None
    payer_address: str | None = None
    payee_address: str | None = None
    status: str | None = None
    network: str | None = None
    asset: str | None = None
    batch_id: uuid.UUID | None = None
    from_date: datetime | None = None
    to_date: datetime | None = None


def _of_tenant(tenant_id: uuid.UUID | None) -> dict[str, uuid.UUID]:
    """The tenant filter of a read by id: the caller's tenant (keys and shards start with it);
    none for the bootstrap admin (``tenant_id is None``), who sees every tenant."""
    return {} if tenant_id is None else {"tenant_id": tenant_id}


def payment_intent_get_for_tenant(*, tenant_id: uuid.UUID | None, intent_id: uuid.UUID) -> PaymentIntent | None:
    """An intent of the caller's tenant (another tenant's reads as ``None``); see :func:`_of_tenant`."""
    return PaymentIntent.objects.filter(intent_id=intent_id, **_of_tenant(tenant_id)).first()


def payment_intent_list(*, filters: IntentFilters, limit: int, offset: int) -> list[PaymentIntent]:
    """Newest first (the reference's order), filtered as ``GET /api/v1/x402/payments``."""
    query = PaymentIntent.objects.filter(tenant_id=filters.tenant_id)
    for field in ("store_id", "payer_address", "payee_address", "status", "network", "asset", "batch_id"):
        value = getattr(filters, field)
        if value is not None:
            query = query.filter(**{field: value})
    if filters.from_date is not None:
        query = query.filter(created_at__gte=filters.from_date)
    if filters.to_date is not None:
        query = query.filter(created_at__lte=filters.to_date)
    return list(query.order_by("-created_at", "-sequence_number")[offset : offset + limit])


def payment_batch_get_for_tenant(*, tenant_id: uuid.UUID | None, batch_id: uuid.UUID) -> PaymentBatch | None:
    """A batch of the caller's tenant (another tenant's reads as ``None``); see :func:`_of_tenant`."""
    return PaymentBatch.objects.filter(batch_id=batch_id, **_of_tenant(tenant_id)).first()


def payment_batch_intent_ids(*, batch: PaymentBatch) -> list[uuid.UUID]:
    """The batch's intents in sequence (= leaf) order."""
    members = PaymentIntent.objects.filter(tenant_id=batch.tenant_id, batch_id=batch.batch_id)
    return list(members.order_by("sequence_number").values_list("intent_id", flat=True))


@dataclass(frozen=True, slots=True)
class PaymentReceipt:
    intent: PaymentIntent
    batch: PaymentBatch
    leaf_hash: bytes
    proof: LegacyProof


def payment_receipt_get(*, intent: PaymentIntent) -> PaymentReceipt | None:
    """The inclusion proof of ``intent`` in its batch; ``None`` before its batch is committed."""
    if intent.batch_id is None:
        return None
    batch = payment_batch_get_for_tenant(tenant_id=intent.tenant_id, batch_id=intent.batch_id)
    if batch is None or batch.status not in _RECEIPT_BATCH_STATES:
        return None
    members = list(
        PaymentIntent.objects.filter(tenant_id=batch.tenant_id, batch_id=batch.batch_id).order_by("sequence_number")
    )
    tree = build_tree([intent_leaf(m) for m in members])
    index = next(i for i, m in enumerate(members) if m.intent_id == intent.intent_id)
    if tree.root != bytes(batch.merkle_root or b""):
        raise AssertionError(f"batch {batch.batch_id} no longer matches its stored root")  # defensive
    proof = tree.proof(index)
    return PaymentReceipt(intent=intent, batch=batch, leaf_hash=proof.leaf_hash, proof=proof)


def settlement_dead_letter_open_count() -> float:
    """The ``x402_dlq_size`` gauge: settlement dead letters waiting for an operator."""
    return float(SettlementDeadLetter.objects.filter(status=SettlementDeadLetterStatus.OPEN).count())
