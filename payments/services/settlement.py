"""Settlement backends (``X402_SETTLEMENT_BACKEND``): ``record`` and ``evm``.

``record`` is the reference's admin bookkeeping (``POST /api/v1/x402/batches/settle``) with its
state machine (REFERENCE.md §5.4). ``evm`` sends the batch to a chain (:mod:`payments.evm`),
replaces a transaction stuck past ``X402_SETTLEMENT_RECEIPT_TIMEOUT_SECONDS`` with the same
nonce and higher fees, reads the mined transaction back, and settles batch and intents in one
transaction. Every try is a ``settlement_attempts`` row; the last one of a batch that gave up is
``dead`` and the batch is ``failed`` (the payments dead-letter record, visible in admin).
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import UTC, datetime

from django.conf import settings
from django.db import transaction

from payments import errors, evm
from payments.models import AttemptOutcome, BatchStatus, IntentStatus, PaymentBatch, PaymentIntent, SettlementAttempt
from sequencer_project import metrics

logger = logging.getLogger(__name__)

BACKEND_RECORD = "record"
BACKEND_EVM = "evm"


def _settle(batch: PaymentBatch, *, tx_hash: str, block_number: int, gas_used: int | None) -> None:
    """Caller holds the batch row lock inside a transaction."""
    now = datetime.now(UTC)
    batch.status = BatchStatus.SETTLED
    batch.tx_hash, batch.block_number, batch.gas_used, batch.settled_at = tx_hash, block_number, gas_used, now
    batch.save(update_fields=["status", "tx_hash", "block_number", "gas_used", "settled_at"])
    PaymentIntent.objects.filter(batch_id=batch.batch_id).update(
        status=IntentStatus.SETTLED, tx_hash=tx_hash, block_number=block_number, settled_at=now, updated_at=now
    )


def _parse_tx_hash(value: str) -> str:
    try:
        ok = len(bytes.fromhex(value.removeprefix("0x"))) == 32
    except ValueError:
        ok = False
    if not ok:
        raise errors.InvalidSettlementError("tx_hash must be 32 bytes of hex.", field="tx_hash")
    return value


@transaction.atomic
def batch_settle_record(
    *, batch_id: uuid.UUID, tx_hash: str | None, block_number: int | None, gas_used: int | None
) -> PaymentBatch:
    """The reference's settlement state machine; idempotent on a settled batch with equal values."""
    batch = PaymentBatch.objects.select_for_update().filter(batch_id=batch_id).first()
    if batch is None:
        raise errors.BatchNotFoundError(f"No batch {batch_id}.")
    if tx_hash is not None:
        tx_hash = _parse_tx_hash(tx_hash)
    if batch.status == BatchStatus.COMMITTED:
        if tx_hash is None:
            raise errors.InvalidSettlementError("A committed batch needs tx_hash.", field="tx_hash")
        if block_number is None:
            batch.status, batch.tx_hash, batch.submitted_at = BatchStatus.SUBMITTED, tx_hash, datetime.now(UTC)
            batch.gas_used = gas_used
            batch.save(update_fields=["status", "tx_hash", "submitted_at", "gas_used"])
        else:
            batch.submitted_at = datetime.now(UTC)
            _settle(batch, tx_hash=tx_hash, block_number=block_number, gas_used=gas_used)
    elif batch.status == BatchStatus.SUBMITTED:
        if block_number is None:
            raise errors.InvalidSettlementError("A submitted batch needs block_number.", field="block_number")
        if tx_hash is not None and tx_hash != batch.tx_hash:
            raise errors.InvalidSettlementError("tx_hash differs from the submitted one.", field="tx_hash")
        assert batch.tx_hash is not None
        _settle(batch, tx_hash=batch.tx_hash, block_number=block_number, gas_used=gas_used or batch.gas_used)
    elif batch.status == BatchStatus.SETTLED:
        same = (tx_hash is None or tx_hash == batch.tx_hash) and (
            block_number is None or block_number == batch.block_number
        )
        if not same:
            raise errors.InvalidSettlementError("The batch is settled with other values.")
    else:
        raise errors.InvalidSettlementError(f"A {batch.status} batch cannot be settled.")
    metrics.X402_SETTLEMENTS.labels(backend=BACKEND_RECORD, outcome=batch.status).inc()
    return batch


def _attempt(batch_id: uuid.UUID, outcome: str, *, tx: evm.SentTransaction | None = None, error: str = "") -> None:
    count = SettlementAttempt.objects.filter(batch_id=batch_id).count()
    SettlementAttempt.objects.create(
        batch_id=batch_id,
        attempt=count + 1,
        backend=BACKEND_EVM,
        outcome=outcome,
        tx_hash=tx.tx_hash if tx else None,
        tx_nonce=tx.nonce if tx else None,
        max_fee_per_gas=tx.max_fee_per_gas if tx else None,
        error=error[:4000],
    )
    metrics.X402_SETTLEMENTS.labels(backend=BACKEND_EVM, outcome=outcome).inc()


def batch_settle_evm(*, batch_id: uuid.UUID) -> PaymentBatch:
    """Send ``batch_id`` on chain and settle it once mined with its confirmations.

    Idempotent: a settled batch is returned as is; a submitted one first waits for its recorded
    transaction. Raises :class:`payments.evm.ChainUnavailableError` (retry later) after recording
    an ``error`` attempt; the batch stays committed/submitted.
    """
    batch = PaymentBatch.objects.get(batch_id=batch_id)
    if batch.status == BatchStatus.SETTLED:
        return batch
    if batch.status not in (BatchStatus.COMMITTED, BatchStatus.SUBMITTED):
        raise errors.InvalidSettlementError(f"A {batch.status} batch cannot be settled.")
    started = time.perf_counter()
    try:
        mined = _send_until_mined(batch)
        w3 = evm.chain()
        on_chain = evm.read_back(w3, mined.tx_hash)
    except (evm.ChainUnavailableError, evm.SettlementRevertedError) as exc:
        _attempt(batch_id, AttemptOutcome.ERROR, error=str(exc))
        raise
    if on_chain.merkle_root != bytes(batch.merkle_root or b"") or on_chain.batch_id != batch_id.bytes:
        raise AssertionError(f"transaction {mined.tx_hash} does not carry batch {batch_id}")  # defensive
    with transaction.atomic():
        locked = PaymentBatch.objects.select_for_update().get(batch_id=batch_id)
        if locked.status != BatchStatus.SETTLED:
            _settle(locked, tx_hash=mined.tx_hash, block_number=mined.block_number, gas_used=mined.gas_used)
        SettlementAttempt.objects.filter(batch_id=batch_id, tx_hash=mined.tx_hash).update(
            outcome=AttemptOutcome.CONFIRMED
        )
    metrics.X402_SETTLEMENT_SECONDS.observe(time.perf_counter() - started)
    logger.info("x402 batch %s settled in tx %s block %d", batch_id, mined.tx_hash, mined.block_number)
    return locked


def _settlement_of(batch: PaymentBatch) -> evm.Settlement:
    return evm.Settlement(
        batch_id=batch.batch_id.bytes,
        merkle_root=bytes(batch.merkle_root or b""),
        state_root=bytes(batch.new_state_root or b""),
        payment_count=batch.payment_count,
        sequence_start=batch.sequence_start,
        sequence_end=batch.sequence_end,
        totals=tuple((str(t["asset"]), int(t["total_amount"]), int(t["payment_count"])) for t in batch.total_amounts),
    )


def _mark_submitted(batch: PaymentBatch, tx: evm.SentTransaction, outcome: str) -> None:
    with transaction.atomic():
        PaymentBatch.objects.filter(batch_id=batch.batch_id).update(
            status=BatchStatus.SUBMITTED, tx_hash=tx.tx_hash, submitted_at=datetime.now(UTC)
        )
        _attempt(batch.batch_id, outcome, tx=tx)
    batch.status, batch.tx_hash = BatchStatus.SUBMITTED, tx.tx_hash


def _send_until_mined(batch: PaymentBatch) -> evm.MinedTransaction:
    w3 = evm.chain()
    timeout = float(settings.X402_SETTLEMENT_RECEIPT_TIMEOUT_SECONDS)
    last = SettlementAttempt.objects.filter(batch_id=batch.batch_id, tx_hash__isnull=False).order_by("-attempt").first()
    if batch.status == BatchStatus.SUBMITTED and batch.tx_hash and last is not None:
        mined = evm.wait_mined(w3, batch.tx_hash, timeout=timeout)
        if mined is not None:
            return mined
        sent = evm.SentTransaction(batch.tx_hash, int(last.tx_nonce or 0), int(last.max_fee_per_gas or 0), 0)
    else:
        sent = evm.send(w3, evm.encode_settlement(_settlement_of(batch)))
        _mark_submitted(batch, sent, AttemptOutcome.SUBMITTED)
        mined = evm.wait_mined(w3, sent.tx_hash, timeout=timeout)
        if mined is not None:
            return mined
    data = evm.encode_settlement(_settlement_of(batch))
    for _ in range(int(settings.X402_SETTLEMENT_MAX_REPLACEMENTS)):
        # Stuck: same nonce, fees up by at least 12.5 % (the usual mempool replacement rule).
        bumped = sent.max_fee_per_gas * 5 // 4 + 1
        sent = evm.send(w3, data, nonce=sent.nonce, min_fee=bumped, min_tip=sent.priority_fee * 5 // 4 + 1)
        _mark_submitted(batch, sent, AttemptOutcome.REPLACED)
        mined = evm.wait_mined(w3, sent.tx_hash, timeout=timeout)
        if mined is not None:
            return mined
    raise evm.ChainUnavailableError(f"batch {batch.batch_id}: not mined after replacements")


@transaction.atomic
def batch_settlement_fail(*, batch_id: uuid.UUID, reason: str) -> None:
    """Give up: batch ``failed`` and a ``dead`` attempt row (the dead-letter record)."""
    PaymentBatch.objects.filter(batch_id=batch_id).exclude(status=BatchStatus.SETTLED).update(
        status=BatchStatus.FAILED, failure_reason=reason[:4000]
    )
    _attempt(batch_id, AttemptOutcome.DEAD, error=reason)
    logger.error("x402 batch %s settlement failed for good: %s", batch_id, reason)
