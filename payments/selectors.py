"""Read side of the payments app: intents, batches, receipts with inclusion proofs."""

from __future__ import annotations

import string
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, Value
from django.db.models.lookups import Exact

from payments import errors
from payments.addresses import AccountKey, address_key
from payments.models import (
    BatchStatus,
    IntentStatus,
    PaymentBatch,
    PaymentIntent,
    SettlementDeadLetter,
    SettlementDeadLetterStatus,
)
from payments.services.batches import intent_leaf
from sequencer_project.api.errors import InvalidParameterError
from sequencer_project.db.tenant_scope import TenantScope, Visible, tenant_filter, visible_or_not_found
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
    #: The caller's agent scope (``Principal.agent_id``): an agent-scoped credential lists only the
    #: intents its agent submitted (docs/auth.md); ``None`` for every agent.
    source_agent_id: uuid.UUID | None = None


def payment_intent_get_for_tenant(*, tenant_id: TenantScope, intent_id: uuid.UUID) -> PaymentIntent | None:
    """An intent of the caller's tenant (another tenant's reads as ``None``; keys and shards start
    with the tenant), or of any tenant for ``EVERY_TENANT`` (the bootstrap admin)."""
    return PaymentIntent.objects.filter(intent_id=intent_id, **tenant_filter(tenant_id)).first()


def payment_intent_get_visible(
    *, tenant_id: TenantScope, intent_id: uuid.UUID, visible: Visible, agent_id: uuid.UUID | None
) -> PaymentIntent:
    """:func:`payment_intent_get_for_tenant` within the caller's scope; 404 ``payment_not_found`` otherwise.

    ``agent_id`` is the caller's agent scope (``Principal.agent_id``): an agent-scoped credential
    sees only the intents its agent submitted, another agent's reads as absent (docs/auth.md).
    """
    found = payment_intent_get_for_tenant(tenant_id=tenant_id, intent_id=intent_id)
    if found is not None and agent_id is not None and found.source_agent_id != agent_id:
        found = None
    return visible_or_not_found(
        found,
        visible,
        lambda: errors.PaymentNotFoundError(f"No payment intent {intent_id} is visible to this credential."),
    )


def account_key_filter(field: str, address: str) -> Q:
    """Intents whose ``field`` is ``address``'s account in any spelling (:mod:`payments.addresses`:
    the case and the ``0x`` carry nothing, an intent keeps the spelling its client signed).

    An address that is not hex names no account and matches only as written, as before; the key
    compared as well is implied by that equality (the same function of the same text) and lets
    the account index serve it. One comparison of :class:`AccountKey`, which
    ``x402_intents_payer_account``/``x402_intents_payee_account`` hold: the filter was a
    case-insensitive ``^(0x)?<digits>$`` that no index serves, and it matched exactly these rows.
    """
    column = AccountKey(field)
    digits = address_key(address)[2:]
    if digits and all(c in string.hexdigits for c in digits):
        return Q(Exact(column, Value("0x" + digits)))
    return Q(Exact(column, AccountKey(Value(address))), **{field: address})


@dataclass(frozen=True, slots=True)
class IntentPosition:
    """Where an intent stands in the list's order (newest first): ``created_at``, then
    ``sequence_number`` (``NULL`` first, as ``DESC`` sorts it), then ``intent_id``."""

    created_at: datetime
    sequence_number: int | None
    intent_id: uuid.UUID

    def after(self) -> Q:
        """The intents after this one in the list's order (older, or as old and after it).

        ``created_at <= …`` is stated on its own so that the index scan starts at the position
        (an ``OR`` alone would be a filter over every newer row)."""
        same_time = Q(created_at=self.created_at)
        if self.sequence_number is None:
            tie = Q(sequence_number__isnull=False) | Q(sequence_number__isnull=True, intent_id__lt=self.intent_id)
        else:
            tie = Q(sequence_number__lt=self.sequence_number) | Q(
                sequence_number=self.sequence_number, intent_id__lt=self.intent_id
            )
        return Q(created_at__lte=self.created_at) & (Q(created_at__lt=self.created_at) | (same_time & tie))


def payment_intent_position(*, filters: IntentFilters, intent_id: uuid.UUID) -> IntentPosition:
    """The position of ``intent_id`` among the intents the caller may list (its tenant, and its
    store and agent when it names one); otherwise 400 ``invalid_parameter`` naming ``before``.

    Only the scope is checked, not the other filters: a cursor's intent may since have changed
    status or batch, and its position has not (``created_at``, ``sequence_number`` and
    ``intent_id`` are written once, when it is sequenced)."""
    scope = {
        field: value for field in ("store_id", "source_agent_id") if (value := getattr(filters, field)) is not None
    }
    row = (
        PaymentIntent.objects.filter(tenant_id=filters.tenant_id, intent_id=intent_id, **scope)
        .values_list("created_at", "sequence_number", "intent_id")
        .first()
    )
    if row is None:
        raise InvalidParameterError(
            f"'before' must be the intent_id of an intent of this list; {intent_id} is not one.", parameter="before"
        )
    return IntentPosition(*row)


def payment_intent_list(
    *, filters: IntentFilters, limit: int, offset: int, before: uuid.UUID | None = None
) -> list[PaymentIntent]:
    """Newest first (the reference's order, ties by ``intent_id``), filtered as
    ``GET /api/v1/x402/payments``; an address filter matches the account in any spelling
    (:func:`account_key_filter`).

    ``before`` is a keyset cursor: the intents after that intent in this order (the last of the
    previous page), ``offset`` counted from there. A page so read is the same whatever was
    submitted since: new intents are newer than any cursor. Served by
    ``x402_intents_tenant_created``, or an account index when an address is filtered, read
    backwards from the cursor (docs/payments.md, "Listing intents")."""
    query = PaymentIntent.objects.filter(tenant_id=filters.tenant_id)
    fields = ("store_id", "source_agent_id", "status", "network", "asset", "batch_id")
    for field in fields:
        value = getattr(filters, field)
        if value is not None:
            query = query.filter(**{field: value})
    for field in ("payer_address", "payee_address"):
        value = getattr(filters, field)
        if value is not None:
            query = query.filter(account_key_filter(field, value))
    if filters.from_date is not None:
        query = query.filter(created_at__gte=filters.from_date)
    if filters.to_date is not None:
        query = query.filter(created_at__lte=filters.to_date)
    if before is not None:
        query = query.filter(payment_intent_position(filters=filters, intent_id=before).after())
    return list(query.order_by("-created_at", "-sequence_number", "-intent_id")[offset : offset + limit])


def payment_batch_get_for_tenant(*, tenant_id: TenantScope, batch_id: uuid.UUID) -> PaymentBatch | None:
    """A batch of the caller's tenant (another tenant's reads as ``None``), or of any tenant for
    ``EVERY_TENANT`` (the bootstrap admin)."""
    return PaymentBatch.objects.filter(batch_id=batch_id, **tenant_filter(tenant_id)).first()


def payment_batch_get_visible(*, tenant_id: TenantScope, batch_id: uuid.UUID, visible: Visible) -> PaymentBatch:
    """:func:`payment_batch_get_for_tenant` within the caller's scope; 404 ``batch_not_found`` otherwise."""
    return visible_or_not_found(
        payment_batch_get_for_tenant(tenant_id=tenant_id, batch_id=batch_id),
        visible,
        lambda: errors.BatchNotFoundError(f"No batch {batch_id} is visible to this credential."),
    )


def payment_batch_intent_ids(*, batch: PaymentBatch) -> list[uuid.UUID]:
    """The batch's intents in sequence (= leaf) order."""
    members = PaymentIntent.objects.filter(tenant_id=batch.tenant_id, batch_id=batch.batch_id)
    return list(members.order_by("sequence_number").values_list("intent_id", flat=True))


@dataclass(frozen=True, slots=True)
class BatchDetail:
    batch: PaymentBatch
    intent_ids: list[uuid.UUID]  # in sequence (= leaf) order


def payment_batch_detail_get(
    *, tenant_id: TenantScope, batch_id: uuid.UUID, visible: Visible, agent_id: uuid.UUID | None
) -> BatchDetail:
    """A batch in the caller's scope with its intents (``GET /api/v1/x402/batches/{id}``); 404 otherwise.

    An agent-scoped caller (``agent_id``) sees a batch only when every intent in it is its agent's:
    a batch of a whole stream names other agents' intents and totals (docs/auth.md). A batch's
    intents are fixed once it is committed, so the answer cannot change later.
    """
    batch = payment_batch_get_visible(tenant_id=tenant_id, batch_id=batch_id, visible=visible)
    if agent_id is not None and (
        PaymentIntent.objects.filter(tenant_id=batch.tenant_id, batch_id=batch.batch_id)
        .exclude(source_agent_id=agent_id)
        .exists()
    ):
        raise errors.BatchNotFoundError(f"No batch {batch_id} is visible to this credential.")
    return BatchDetail(batch=batch, intent_ids=payment_batch_intent_ids(batch=batch))


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


def payment_receipt_get_visible(
    *, tenant_id: TenantScope, intent_id: uuid.UUID, visible: Visible, agent_id: uuid.UUID | None
) -> PaymentReceipt:
    """The receipt of an intent in the caller's scope (``GET …/payments/{id}/receipt``): 404
    ``payment_not_found`` outside it (another agent's intent for an agent-scoped caller, as
    :func:`payment_intent_get_visible`), 409 ``payment_not_batched`` before its batch is committed."""
    intent = payment_intent_get_visible(tenant_id=tenant_id, intent_id=intent_id, visible=visible, agent_id=agent_id)
    receipt = payment_receipt_get(intent=intent)
    if receipt is None:
        raise errors.PaymentNotBatchedError(
            f"Intent {intent_id} is {intent.status}; its receipt exists once its batch is committed.",
            intent_status=intent.status,
        )
    return receipt


def settlement_dead_letter_open_count() -> float:
    """The ``x402_dlq_size`` gauge: settlement dead letters waiting for an operator."""
    return float(SettlementDeadLetter.objects.filter(status=SettlementDeadLetterStatus.OPEN).count())
