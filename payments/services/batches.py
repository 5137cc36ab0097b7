"""Batch assembly: sequenced intents of one ``(tenant, store, network)`` → one committed batch.

One transaction per batch: take the stream's ``PAYMENT_BATCH`` advisory lock (the periodic
assembler *tries* it and skips a stream another assembler holds; the admin endpoint waits),
lock the oldest sequenced intents in sequence order, compute the rs_merkle root over the
reference's leaves and the state root, insert the batch as ``committed`` and move the intents
``sequenced → batched``. Either all of that commits or nothing does. Under the ``evm`` backend
the settlement task is enqueued when that transaction commits, for periodic and manual batches.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction

from payments import errors
from payments.hashing import NETWORKS, leaf_hash, state_root
from payments.models import BatchStatus, IntentStatus, PaymentBatch, PaymentIntent
from payments.services.batch_audit import batch_audit_record
from payments.services.settlement import batch_settle_enqueue_if_evm
from sequencer_project import metrics
from sequencer_project.db.locks import LockNamespace, advisory_xact_lock, stream_lock_key, try_advisory_xact_lock
from streams.kinds import StreamKind
from ves.legacy_merkle import build_tree

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BatchKey:
    tenant_id: uuid.UUID
    store_id: uuid.UUID
    network: str


def intent_leaf(intent: PaymentIntent) -> bytes:
    """The batch leaf of a sequenced intent."""
    assert intent.sequence_number is not None
    return leaf_hash(
        intent_id=intent.intent_id,
        sequence_number=intent.sequence_number,
        payer=intent.payer_address,
        payee=intent.payee_address,
        amount=intent.amount,
        asset=intent.asset,
        network=intent.network,
        chain_id=intent.chain_id,
        nonce=intent.nonce,
        valid_until=intent.valid_until,
        signing_hash=bytes(intent.signing_hash),
        payer_signature=bytes(intent.payer_signature),
    )


def _totals(intents: Sequence[PaymentIntent]) -> list[dict[str, object]]:
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for intent in intents:
        sums[intent.asset][0] += intent.amount
        sums[intent.asset][1] += 1
    # Totals are strings: a sum of i64 amounts can exceed what JSON clients read exactly.
    return [{"asset": a, "total_amount": str(t), "payment_count": c} for a, (t, c) in sorted(sums.items())]


def _commit(key: BatchKey, intents: list[PaymentIntent]) -> PaymentBatch:
    batch_id = uuid.uuid4()
    root = build_tree([intent_leaf(i) for i in intents]).root
    now = datetime.now(UTC)
    batch = PaymentBatch.objects.create(
        batch_id=batch_id,
        status=BatchStatus.COMMITTED,
        tenant_id=key.tenant_id,
        store_id=key.store_id,
        network=key.network,
        chain_id=NETWORKS[key.network],
        payment_count=len(intents),
        total_amounts=_totals(intents),
        merkle_root=root,
        new_state_root=state_root(tenant_id=key.tenant_id, store_id=key.store_id, batch_id=batch_id, merkle_root=root),
        sequence_start=int(intents[0].sequence_number or 0),
        sequence_end=int(intents[-1].sequence_number or 0),
        created_at=now,
        committed_at=now,
    )
    moved = PaymentIntent.objects.filter(
        tenant_id=key.tenant_id, intent_id__in=[i.intent_id for i in intents], status=IntentStatus.SEQUENCED
    ).update(status=IntentStatus.BATCHED, batch=batch, updated_at=now)
    if moved != len(intents):
        raise AssertionError("an intent left 'sequenced' while its row lock was held")  # defensive
    return batch


def _lock_key(key: BatchKey) -> int:
    return stream_lock_key(key.tenant_id, key.store_id, int(StreamKind.X402))


def batch_assemble(*, key: BatchKey, max_size: int, max_wait: timedelta) -> PaymentBatch | None:
    """Build the next batch of ``key`` if one is due; ``None`` when not due or locked elsewhere.

    Due: ``max_size`` intents are waiting, or the oldest has waited ``max_wait``.
    Locks: ``PAYMENT_BATCH`` advisory lock of the stream (tried), the chosen intent rows.
    """
    started = time.perf_counter()
    with transaction.atomic():
        if not try_advisory_xact_lock(LockNamespace.PAYMENT_BATCH, _lock_key(key)):
            return None
        intents = list(
            PaymentIntent.objects.select_for_update()
            .filter(tenant_id=key.tenant_id, store_id=key.store_id, network=key.network, status=IntentStatus.SEQUENCED)
            .order_by("sequence_number")[:max_size]
        )
        if not intents:
            return None
        oldest = intents[0].sequenced_at
        if len(intents) < max_size and oldest is not None and datetime.now(UTC) - oldest < max_wait:
            return None
        batch = _commit(key, intents)
        batch_settle_enqueue_if_evm(tenant_id=batch.tenant_id, batch_id=batch.batch_id)
    metrics.X402_BATCH_ASSEMBLY_SECONDS.observe(time.perf_counter() - started)
    logger.info("x402 batch %s committed: %d intents of %s", batch.batch_id, batch.payment_count, key)
    return batch


def batch_create_manual(
    *, key: BatchKey, intent_ids: Sequence[uuid.UUID] | None, max_size: int, actor: str
) -> PaymentBatch:
    """Admin batch: the given intents (all sequenced, same stream and network) or, when none
    are given (absent or empty list), the oldest ones. Audited (``x402_batch.create``, naming
    ``actor``) in the batch's transaction.

    Raises :class:`~payments.errors.InvalidBatchRequestError` when nothing can be batched,
    :class:`~payments.errors.PaymentNotFoundError` for an intent not in the stream and
    :class:`~payments.errors.BatchTooLargeError` for more than ``max_size`` intents.
    """
    if not intent_ids:
        intent_ids = None  # an empty list selects the oldest intents, as in the reference
    else:
        if len(intent_ids) > max_size:
            raise errors.BatchTooLargeError(f"At most {max_size} intents fit in one batch.", field="intent_ids")
        if len(set(intent_ids)) != len(intent_ids):
            raise errors.InvalidBatchRequestError("intent_ids contains duplicates.")
    started = time.perf_counter()
    with transaction.atomic():
        advisory_xact_lock(LockNamespace.PAYMENT_BATCH, _lock_key(key))
        query = PaymentIntent.objects.select_for_update().filter(tenant_id=key.tenant_id, store_id=key.store_id)
        if intent_ids is None:
            intents = list(
                query.filter(network=key.network, status=IntentStatus.SEQUENCED).order_by("sequence_number")[:max_size]
            )
            if not intents:
                raise errors.InvalidBatchRequestError("No sequenced intents are waiting for this stream and network.")
        else:
            intents = list(query.filter(intent_id__in=intent_ids).order_by("sequence_number"))
            found = {i.intent_id: i for i in intents}
            missing = [str(i) for i in intent_ids if i not in found]
            if missing:
                raise errors.PaymentNotFoundError(f"Unknown intents in this stream: {', '.join(missing)}.")
            wrong = [
                str(i.intent_id) for i in intents if i.status != IntentStatus.SEQUENCED or i.network != key.network
            ]
            if wrong:
                raise errors.InvalidBatchRequestError(
                    f"Intents not sequenced on network {key.network}: {', '.join(wrong)}."
                )
        batch = _commit(key, intents)
        batch_audit_record(
            actor=actor,
            verb="create",
            batch=batch,
            network=key.network,
            intent_count=batch.payment_count,
            total_amounts=batch.total_amounts,
            sequence_range=[batch.sequence_start, batch.sequence_end],
            intents_named=intent_ids is not None,
        )
        batch_settle_enqueue_if_evm(tenant_id=batch.tenant_id, batch_id=batch.batch_id)
    metrics.X402_BATCH_ASSEMBLY_SECONDS.observe(time.perf_counter() - started)
    return batch


def batch_keys_ready(*, networks: Sequence[str]) -> list[BatchKey]:
    """Streams and networks with sequenced intents waiting (one query, partial index)."""
    rows = (
        PaymentIntent.objects.filter(status=IntentStatus.SEQUENCED, network__in=list(networks))
        .values_list("tenant_id", "store_id", "network")
        .distinct()
    )
    return [BatchKey(t, s, n) for t, s, n in rows]


def batches_assemble_due() -> list[uuid.UUID]:
    """Assemble every due batch (full batches repeatedly); the ids of the committed batches."""
    max_size = settings.X402_BATCH_MAX_SIZE
    max_wait = timedelta(seconds=settings.X402_BATCH_MAX_WAIT_SECONDS)
    committed: list[uuid.UUID] = []
    for key in batch_keys_ready(networks=settings.X402_BATCH_NETWORKS):
        while (batch := batch_assemble(key=key, max_size=max_size, max_wait=max_wait)) is not None:
            committed.append(batch.batch_id)
            if batch.payment_count < max_size:
                break
    return committed
