"""Settlement dead letters: the operator's re-drive (ADR 0012, docs/payments.md).

An open entry is written by :func:`payments.services.settlement.batch_settlement_fail` with the
batch ``failed``. Re-driving puts the batch back where settlement can resume (``submitted``
when a transaction was recorded, so the task first looks for its receipts and broadcasts it
again, never signing one of a fresh nonce; ``committed`` otherwise),
closes the entry, writes the audit log, and enqueues ``payments.batch_settle`` after commit.
It shares the projection dead letters' error codes (``dead_letter_not_found``,
``dead_letter_closed``) and audit log.
"""

from __future__ import annotations

import uuid

from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from payments.models import (
    BatchStatus,
    PaymentBatch,
    SettlementAttempt,
    SettlementDeadLetter,
    SettlementDeadLetterStatus,
)
from payments.services.settlement import batch_settle_enqueue
from sequencer_project.api.errors import DeadLetterClosedError, DeadLetterNotFoundError
from sequencer_project.tenant_keys import tenant_row_update


@transaction.atomic(durable=True)
def settlement_dead_letter_redrive(*, tenant_id: uuid.UUID, dead_letter_id: int, actor: str) -> SettlementDeadLetter:
    """Re-enqueue the settlement of an open entry's batch. Audited. Transaction boundary.

    Every statement names ``tenant_id`` (the entry's: one shard when distributed, docs/scaling.md);
    another tenant's entry is 404 ``dead_letter_not_found``. Locks the batch row, then the entry
    (the order :func:`batch_settlement_fail` takes the batch in). Idempotent: an entry re-driven
    already raises 409 ``dead_letter_closed`` and enqueues nothing; the task itself returns at
    once for a settled batch.
    """
    entries = SettlementDeadLetter.objects.filter(tenant_id=tenant_id, id=dead_letter_id)
    found = entries.values_list("batch_id", flat=True).first()
    if found is None:
        raise DeadLetterNotFoundError(f"No settlement dead letter {dead_letter_id}.")
    batch = PaymentBatch.objects.select_for_update(no_key=True).get(tenant_id=tenant_id, batch_id=found)
    entry = entries.select_for_update(no_key=True).get()
    if entry.status != SettlementDeadLetterStatus.OPEN:
        raise DeadLetterClosedError(f"Settlement dead letter {dead_letter_id} is {entry.status}.")
    if batch.status == BatchStatus.FAILED:
        # A batch with a recorded transaction goes back to submitted, whatever the batch row says:
        # the task then looks for its receipts and broadcasts it again, never a fresh nonce.
        recorded = (
            SettlementAttempt.objects.filter(tenant_id=tenant_id, batch_id=batch.batch_id, tx_hash__isnull=False)
            .order_by("-attempt")
            .values_list("tx_hash", flat=True)
            .first()
        )
        batch.tx_hash = batch.tx_hash or recorded
        batch.status = BatchStatus.SUBMITTED if batch.tx_hash else BatchStatus.COMMITTED
        batch.failure_reason = ""
        tenant_row_update(batch, "status", "tx_hash", "failure_reason")
    entry.status = SettlementDeadLetterStatus.REDRIVEN
    entry.redriven_at = timezone.now()
    entry.redriven_by = actor[:200]
    tenant_row_update(entry, "status", "redriven_at", "redriven_by")
    audit_record(
        actor=actor,
        action="x402_dead_letter.redrive",
        target_type="x402_dead_letter",
        target_id=str(entry.id),
        tenant_id=entry.tenant_id,
        detail={"batch_id": str(batch.batch_id), "batch_status": str(batch.status)},
    )
    batch_settle_enqueue(tenant_id=tenant_id, batch_id=batch.batch_id)
    return entry
