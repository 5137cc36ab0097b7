"""Settlement backends (``X402_SETTLEMENT_BACKEND``): ``record`` and ``evm``.

``record`` is the reference's admin bookkeeping (``POST /api/v1/x402/batches/settle``) with its
state machine (REFERENCE.md §5.4). ``evm`` sends the batch to a chain (:mod:`payments.evm`),
replaces a transaction stuck past ``X402_SETTLEMENT_RECEIPT_TIMEOUT_SECONDS`` with the same
nonce and higher fees, reads the mined transaction back, and settles batch and intents in one
transaction. Every try is a ``settlement_attempts`` row; a batch that gave up is ``failed`` with
an open ``x402_settlement_dead_letters`` row (ADR 0012), re-driven from the admin
(:mod:`payments.services.dead_letters`).

A settlement transaction is signed, then recorded (an attempt with its hash, nonce, fee and
signed bytes, and the batch ``submitted`` with that hash) in one database transaction, and only
then broadcast (the kept-transaction pattern of commitments anchoring): a send whose answer is
lost, or a worker killed after it, leaves the transaction to look for and broadcast again, so a
batch is never sent twice under two nonces. :func:`batch_settlement_sweep` re-enqueues batches a
lost worker left ``committed`` or ``submitted``.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet

from payments import errors, evm
from payments.addresses import address_key
from payments.models import (
    AttemptOutcome,
    BatchStatus,
    IntentStatus,
    PaymentBatch,
    PaymentIntent,
    SettlementAttempt,
    SettlementDeadLetter,
    SettlementDeadLetterStatus,
)
from payments.services.batch_audit import batch_audit_record
from payments.sql import SELECT_STALE_SETTLEMENTS
from sequencer_project import metrics
from sequencer_project.celery import task_enqueue_on_commit
from sequencer_project.db.session_settings import idle_in_transaction_unbounded
from sequencer_project.db.tenant_scope import TenantScope, tenant_filter
from sequencer_project.tenant_keys import tenant_row_update

if TYPE_CHECKING:
    from web3 import Web3

logger = logging.getLogger(__name__)

BACKEND_RECORD = "record"
BACKEND_EVM = "evm"


def _settle(batch: PaymentBatch, *, tx_hash: str, block_number: int, gas_used: int | None) -> None:
    """Caller holds the batch row lock inside a transaction."""
    now = datetime.now(UTC)
    batch.status = BatchStatus.SETTLED
    batch.tx_hash, batch.block_number, batch.gas_used, batch.settled_at = tx_hash, block_number, gas_used, now
    batch.submitted_at = batch.submitted_at or now  # settled in one record: submitted then too
    tenant_row_update(batch, "status", "tx_hash", "block_number", "gas_used", "submitted_at", "settled_at")
    PaymentIntent.objects.filter(tenant_id=batch.tenant_id, batch_id=batch.batch_id).update(
        status=IntentStatus.SETTLED, tx_hash=tx_hash, block_number=block_number, settled_at=now, updated_at=now
    )


@dataclass(frozen=True, slots=True)
class SettlementRecorded:
    """What ``POST /api/v1/x402/batches/settle`` did: the batch after it and the reference's message."""

    batch: PaymentBatch
    message: str


@contextlib.contextmanager
def _one_batch_per_transaction(batch: PaymentBatch, tx_hash: str) -> Iterator[None]:
    """Record ``tx_hash`` for ``batch`` inside this block, or 409 ``settlement_tx_used`` when the
    tenant has it recorded for another batch on the chain, committed before or committing
    meanwhile: the key ``x402_batches_one_per_tx`` refuses the write (a savepoint keeps the
    transaction usable)."""
    try:
        with transaction.atomic():
            yield
    except IntegrityError as error:
        if getattr(getattr(error.__cause__, "diag", None), "constraint_name", None) != "x402_batches_one_per_tx":
            raise
        raise errors.SettlementTxUsedError(
            f"Transaction {tx_hash} is already recorded for another batch of this tenant on chain {batch.chain_id}.",
            field="tx_hash",
        ) from error


@transaction.atomic(durable=True)
def batch_settle_record(
    *,
    tenant_id: TenantScope,
    batch_id: uuid.UUID,
    tx_hash: str | None,
    block_number: int | None,
    gas_used: int | None,
    visible: Callable[[uuid.UUID, uuid.UUID | None], bool],
    authorise: Callable[[uuid.UUID, uuid.UUID], object],
    actor: str,
) -> SettlementRecorded:
    """The reference's settlement state machine; idempotent on a settled batch with equal values.
    Every accepted call is audited (``x402_batch.settle`` naming ``actor``) in its transaction.

    Fetches and locks batch ``batch_id`` of ``tenant_id`` (``EVERY_TENANT``: the bootstrap admin's
    read by id alone). A batch missing or outside ``visible(tenant_id, store_id)`` is 404
    ``batch_not_found``; ``authorise(tenant_id, store_id)`` then raises when the caller may not
    settle it (the view's 403). Transaction boundary; locks the batch row.

    409 ``settlement_by_chain`` under ``X402_SETTLEMENT_BACKEND=evm``: there the chain's receipt
    settles a batch (:func:`batch_settle_evm`), never an operator's record.

    ``tx_hash`` is 32 bytes of hex (the view checks it), compared and stored as ``0x`` and lower
    case (``payments.addresses.address_key``: one hash, however spelled). As in the reference,
    ``gas_used`` is recorded when the batch settles (a submission without ``block_number``
    records only the transaction hash).
    """
    batch = PaymentBatch.objects.select_for_update().filter(batch_id=batch_id, **tenant_filter(tenant_id)).first()
    if batch is None or not visible(batch.tenant_id, batch.store_id):
        raise errors.BatchNotFoundError(f"No batch {batch_id} is visible to this credential.")
    authorise(batch.tenant_id, batch.store_id)
    if settings.X402_SETTLEMENT_BACKEND == BACKEND_EVM:
        raise errors.SettledByChainError(
            f"Batch {batch_id} is settled by the chain (X402_SETTLEMENT_BACKEND=evm), not recorded by an operator."
        )
    outcome: str | None = None  # the batch's status after the record, unless said otherwise
    if tx_hash is not None:
        tx_hash = address_key(tx_hash)
    if batch.status == BatchStatus.COMMITTED:
        if tx_hash is None:
            raise errors.InvalidSettlementError("A committed batch needs tx_hash.", field="tx_hash")
        with _one_batch_per_transaction(batch, tx_hash):
            batch.submitted_at = datetime.now(UTC)
            if block_number is None:
                batch.status, batch.tx_hash = BatchStatus.SUBMITTED, tx_hash
                tenant_row_update(batch, "status", "tx_hash", "submitted_at")
                message = "Batch submission recorded"
            else:
                _settle(batch, tx_hash=tx_hash, block_number=block_number, gas_used=gas_used)
                message = "Batch submitted and settled"
    elif batch.status == BatchStatus.SUBMITTED:
        if block_number is None:
            raise errors.InvalidSettlementError("A submitted batch needs block_number.", field="block_number")
        if tx_hash is not None and tx_hash != address_key(batch.tx_hash or ""):
            raise errors.InvalidSettlementError("tx_hash differs from the submitted one.", field="tx_hash")
        assert batch.tx_hash is not None
        _settle(batch, tx_hash=batch.tx_hash, block_number=block_number, gas_used=gas_used)
        message = "Batch settlement confirmed"
    elif batch.status == BatchStatus.SETTLED:
        for name, given in (("tx_hash", tx_hash), ("block_number", block_number), ("gas_used", gas_used)):
            stored = getattr(batch, name)
            if name == "tx_hash" and stored is not None:
                stored = address_key(str(stored))
            if given is not None and given != stored:  # a value the settled batch lacks is another value too
                raise errors.InvalidSettlementError(f"The batch is settled with another {name}.", field=name)
        message = "Batch already settled"
        outcome = "already_settled"  # a replay: counted apart, not as another settlement
    else:
        raise errors.InvalidSettlementError(f"A {batch.status} batch cannot be settled.")
    batch_audit_record(
        actor=actor,
        verb="settle",
        batch=batch,
        status=str(batch.status),
        tx_hash=batch.tx_hash,
        block_number=batch.block_number,
        gas_used=batch.gas_used,
        message=message,
    )
    metrics.X402_SETTLEMENTS.labels(backend=BACKEND_RECORD, outcome=outcome or batch.status).inc()
    return SettlementRecorded(batch=batch, message=message)


def _attempt(batch: PaymentBatch, outcome: str, *, tx: evm.SignedTransaction | None = None, error: str = "") -> None:
    count = SettlementAttempt.objects.filter(tenant_id=batch.tenant_id, batch_id=batch.batch_id).count()
    SettlementAttempt.objects.create(
        batch_id=batch.batch_id,
        tenant_id=batch.tenant_id,
        attempt=count + 1,
        backend=BACKEND_EVM,
        outcome=outcome,
        tx_hash=tx.tx_hash if tx else None,
        tx_nonce=tx.nonce if tx else None,
        max_fee_per_gas=tx.max_fee_per_gas if tx else None,
        raw_transaction=tx.raw_transaction if tx and tx.raw_transaction else None,
        error=error[:4000],
    )
    metrics.X402_SETTLEMENTS.labels(backend=BACKEND_EVM, outcome=outcome).inc()


def batch_settle_evm(*, tenant_id: uuid.UUID, batch_id: uuid.UUID) -> PaymentBatch:
    """Send ``batch_id`` of ``tenant_id`` on chain and settle it once mined with its confirmations.

    Every statement names the tenant (one shard when distributed, docs/scaling.md).
    Idempotent: a settled batch is returned as is; a submitted one first waits for its recorded
    transaction. Raises :class:`payments.evm.ChainUnavailableError` (retry later) after recording
    an ``error`` attempt; the batch stays committed/submitted; :class:`payments.errors.BatchNotFoundError`
    when the tenant has no such batch.
    """
    batch = PaymentBatch.objects.filter(tenant_id=tenant_id, batch_id=batch_id).first()
    if batch is None:
        raise errors.BatchNotFoundError(f"No batch {batch_id}.")
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
        # The message is safe to store and show (failure_reason, dead letters): it never holds the
        # RPC URL (sequencer_project/evm_client.py, "Messages"); the cause, which may, is logged.
        logger.warning("x402 batch %s: settlement try failed: %s", batch_id, exc, exc_info=exc)
        _attempt(batch, AttemptOutcome.ERROR, error=str(exc))
        raise
    if on_chain.merkle_root != bytes(batch.merkle_root or b"") or on_chain.batch_id != batch_id.bytes:
        raise AssertionError(f"transaction {mined.tx_hash} does not carry batch {batch_id}")  # defensive
    with transaction.atomic():
        locked = PaymentBatch.objects.select_for_update().get(tenant_id=batch.tenant_id, batch_id=batch_id)
        if locked.status in _IN_FLIGHT:
            _settle(locked, tx_hash=mined.tx_hash, block_number=mined.block_number, gas_used=mined.gas_used)
        SettlementAttempt.objects.filter(tenant_id=batch.tenant_id, batch_id=batch_id, tx_hash=mined.tx_hash).update(
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


# The statuses the evm backend moves a batch from: a settled or failed batch is never overwritten
# (an operator's dead letter, a concurrent settle).
_IN_FLIGHT = (BatchStatus.COMMITTED, BatchStatus.SUBMITTED)


def _keep(batch: PaymentBatch, tx: evm.SignedTransaction, outcome: str) -> None:
    """Record ``tx`` (hash, nonce, fee, signed bytes) as an attempt and mark the batch submitted
    with it, before it is broadcast. Caller holds the batch row lock inside a transaction and saw
    it committed or submitted."""
    PaymentBatch.objects.filter(tenant_id=batch.tenant_id, batch_id=batch.batch_id, status__in=_IN_FLIGHT).update(
        status=BatchStatus.SUBMITTED, tx_hash=tx.tx_hash, submitted_at=datetime.now(UTC)
    )
    _attempt(batch, outcome, tx=tx)
    batch.status, batch.tx_hash = BatchStatus.SUBMITTED, tx.tx_hash


def _sent(batch: PaymentBatch) -> QuerySet[SettlementAttempt]:
    """The batch's attempts that recorded a transaction, newest first (original and replacements)."""
    return SettlementAttempt.objects.filter(
        tenant_id=batch.tenant_id, batch_id=batch.batch_id, tx_hash__isnull=False
    ).order_by("-attempt")


def _kept(batch: PaymentBatch) -> evm.SignedTransaction | None:
    """The batch's newest recorded transaction, read back from its signed bytes; ``None`` when it
    has none. A row of before the bytes were kept gives hash, nonce and fee alone (no bytes to
    broadcast again: it is only waited for, then replaced)."""
    row = _sent(batch).values_list("raw_transaction", "tx_hash", "tx_nonce", "max_fee_per_gas").first()
    if row is None:
        return None
    raw, tx_hash, nonce, max_fee = row
    if raw is not None:
        return evm.signed_of(bytes(raw))
    return evm.SignedTransaction(str(tx_hash), int(nonce or 0), int(max_fee or 0), 0, b"", 0)


def _mined_any(w3: Web3, batch: PaymentBatch, *, timeout: float) -> evm.MinedTransaction | None:
    """The receipt of whichever of the batch's transactions was mined, if one was.

    Replacements share one nonce, so at most one of them can be mined; it need not be the
    newest (the original may have been mined while its replacement was being sent).
    """
    for tx_hash in (str(h) for h in _sent(batch).values_list("tx_hash", flat=True)):
        if (found := evm.mined(w3, tx_hash, timeout=timeout)) is not None:
            return found
    return None


def _broadcast(w3: Web3, tx: evm.SignedTransaction) -> bool:
    """Send a kept transaction's exact bytes (caller holds the send lock): whether the chain has
    it now. Refused because its nonce is taken is fine when the chain knows this very
    transaction (sent before, the answer lost); else ``False`` (another transaction of that
    nonce: the caller looks for the batch's receipts)."""
    if evm.broadcast(w3, tx) or evm.known(w3, tx.tx_hash):
        return True
    logger.warning("settlement transaction %s: nonce %d taken by another transaction", tx.tx_hash, tx.nonce)
    return False


def _already_settled(batch: PaymentBatch) -> evm.MinedTransaction:
    assert batch.tx_hash is not None
    assert batch.block_number is not None
    return evm.MinedTransaction(batch.tx_hash, batch.block_number, batch.gas_used or 0)


def _sign_keep_broadcast(
    w3: Web3, batch: PaymentBatch, *, replacing: evm.SignedTransaction | None
) -> evm.SignedTransaction | evm.MinedTransaction:
    """The batch's transaction to wait for, broadcast: its newest kept one when ``replacing`` is
    ``None`` and it has one (its bytes sent again: "already known" is fine), else a new one,
    signed, kept and broadcast.

    Under the batch row lock and the account's send lock: a new transaction is signed (the
    pending nonce for a batch without any, else ``replacing``'s nonce with fees up by at least
    12.5 %, the usual mempool replacement rule) and kept with the batch ``submitted`` in one
    database transaction, which commits before it is broadcast, still under the send lock
    (the kept-transaction pattern of commitments anchoring, ``commitments/services/anchoring.py``).
    A worker killed, or a send timing out, after the commit leaves the transaction recorded: a
    retry looks for its receipt and broadcasts the same bytes again, never a fresh nonce.
    A batch settled meanwhile gives its recorded transaction.
    """
    data = evm.encode_settlement(_settlement_of(batch))
    with contextlib.ExitStack() as sending:
        with transaction.atomic(durable=True):
            idle_in_transaction_unbounded()  # RPC reads run under the row lock with no SQL meanwhile
            locked = PaymentBatch.objects.select_for_update(no_key=True).get(
                tenant_id=batch.tenant_id, batch_id=batch.batch_id
            )
            if locked.status == BatchStatus.SETTLED:
                return _already_settled(locked)
            if locked.status not in _IN_FLIGHT:
                raise errors.InvalidSettlementError(f"A {locked.status} batch cannot be settled.")
            kept = _kept(locked)
            sending.enter_context(evm.send_lock(w3))
            if replacing is None and kept is not None:
                signed, outcome = kept, ""  # kept already: broadcast its bytes again below
            elif kept is None:
                signed = evm.sign(w3, data)
                outcome = AttemptOutcome.SUBMITTED
            else:
                fee, tip = kept.max_fee_per_gas, kept.priority_fee  # the newest, a concurrent try's maybe
                if replacing is not None:
                    fee, tip = max(fee, replacing.max_fee_per_gas), max(tip, replacing.priority_fee)
                signed = evm.sign(w3, data, nonce=kept.nonce, min_fee=fee * 5 // 4 + 1, min_tip=tip * 5 // 4 + 1)
                outcome = AttemptOutcome.REPLACED
            if outcome:
                _keep(locked, signed, outcome)
        # Committed: the transaction is recorded before it is sent.
        if signed.raw_transaction and not _broadcast(w3, signed) and outcome == AttemptOutcome.REPLACED:
            raise evm.NonceUsedError(f"replacement refused: nonce {signed.nonce} taken")
    batch.status, batch.tx_hash = BatchStatus.SUBMITTED, signed.tx_hash
    return signed


def _send_until_mined(batch: PaymentBatch) -> evm.MinedTransaction:
    """Wait for the batch's transaction to be mined, replacing it by nonce while it is stuck.

    A batch with a recorded transaction never gets a transaction of a fresh nonce: its
    transactions' receipts are looked for first, then the newest one's bytes are broadcast again
    and waited for, and only then is it replaced (same nonce, higher fees), up to
    ``X402_SETTLEMENT_MAX_REPLACEMENTS`` times.
    """
    w3 = evm.chain()
    timeout = float(settings.X402_SETTLEMENT_RECEIPT_TIMEOUT_SECONDS)
    if (mined := _mined_any(w3, batch, timeout=timeout)) is not None:
        return mined
    sent = _sign_keep_broadcast(w3, batch, replacing=None)
    if isinstance(sent, evm.MinedTransaction):
        return sent
    if (mined := evm.wait_mined(w3, sent.tx_hash, timeout=timeout)) is not None:
        return mined
    for _ in range(int(settings.X402_SETTLEMENT_MAX_REPLACEMENTS)):
        if (mined := _mined_any(w3, batch, timeout=timeout)) is not None:
            return mined  # an earlier transaction was mined while we waited on the newest
        try:
            replaced = _sign_keep_broadcast(w3, batch, replacing=sent)
        except evm.NonceUsedError as exc:
            # Not a failure when the nonce went to one of our own transactions for this batch.
            _attempt(batch, AttemptOutcome.ERROR, error=str(exc))
            if (mined := _mined_any(w3, batch, timeout=timeout)) is not None:
                return mined
            raise
        if isinstance(replaced, evm.MinedTransaction):
            return replaced
        sent = replaced
        if (mined := evm.wait_mined(w3, sent.tx_hash, timeout=timeout)) is not None:
            return mined
    if (mined := _mined_any(w3, batch, timeout=timeout)) is not None:
        return mined
    raise evm.ChainUnavailableError(f"batch {batch.batch_id}: not mined after replacements")


@transaction.atomic(durable=True)
def batch_settlement_fail(
    *, tenant_id: uuid.UUID, batch_id: uuid.UUID, reason: str, attempts: int
) -> SettlementDeadLetter | None:
    """Give up: the batch becomes ``failed`` and an ``open`` dead letter records why (ADR 0012).

    Transaction boundary; locks the batch row of ``tenant_id`` (one shard). Idempotent: a settled
    batch is left alone and a batch that already has an open dead letter gets no second one
    (``None`` in both cases, and when the tenant has no such batch).
    """
    batch = PaymentBatch.objects.select_for_update(no_key=True).filter(tenant_id=tenant_id, batch_id=batch_id).first()
    if batch is None or batch.status not in _IN_FLIGHT:
        return None
    batch.status, batch.failure_reason = BatchStatus.FAILED, reason[:4000]
    tenant_row_update(batch, "status", "failure_reason")
    open_entries = SettlementDeadLetter.objects.filter(
        tenant_id=tenant_id, batch_id=batch_id, status=SettlementDeadLetterStatus.OPEN
    )
    if open_entries.exists():
        return None
    entry = SettlementDeadLetter.objects.create(
        batch_id=batch_id,
        tenant_id=batch.tenant_id,
        store_id=batch.store_id,
        attempts=attempts,
        error_message=reason[:4000],
        tx_hash=batch.tx_hash,
        created_at=datetime.now(UTC),
    )
    metrics.X402_SETTLEMENTS.labels(backend=BACKEND_EVM, outcome="dead_letter").inc()
    logger.error("x402 batch %s settlement failed for good (dead letter %d): %s", batch_id, entry.id, reason)
    return entry


@transaction.atomic(durable=True)
def batch_settlement_sweep(*, stale_seconds: float, limit: int) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """Enqueue ``payments.batch_settle`` (after commit) for up to ``limit`` batches of every tenant
    still ``committed`` or ``submitted`` with no change (commit, submission, settlement attempt)
    for ``stale_seconds``, oldest first: the batches of a worker killed mid-settlement, which
    Celery would redeliver only after its visibility timeout. Batches whose settlement holds
    their row lock are skipped. ``(tenant_id, batch_id)`` of each. Transaction boundary; locks
    the rows it returns. The settle task is idempotent (a batch with a recorded transaction
    waits for it or broadcasts it again), so a batch enqueued twice is settled once."""
    with connection.cursor() as cursor:
        cursor.execute(SELECT_STALE_SETTLEMENTS, {"stale_seconds": float(stale_seconds), "limit": limit})
        swept = [(row[0], row[1]) for row in cursor.fetchall()]
    for tenant_id, batch_id in swept:
        batch_settle_enqueue(tenant_id=tenant_id, batch_id=batch_id)
    if swept:
        logger.warning("x402 settlement sweep: %d stale committed/submitted batches enqueued again", len(swept))
    return swept


def batch_settle_enqueue(*, tenant_id: uuid.UUID, batch_id: uuid.UUID) -> None:
    """Enqueue ``payments.batch_settle(tenant_id, batch_id)`` once the caller's transaction
    commits (never before: a worker must find the batch). Outside a transaction it is enqueued
    at once."""
    task_enqueue_on_commit("payments.batch_settle", str(tenant_id), str(batch_id))


def batch_settle_enqueue_if_evm(*, tenant_id: uuid.UUID, batch_id: uuid.UUID) -> None:
    """Under the ``evm`` backend every committed batch is settled by a task; ``record`` waits
    for the admin endpoint."""
    if settings.X402_SETTLEMENT_BACKEND == BACKEND_EVM:
        batch_settle_enqueue(tenant_id=tenant_id, batch_id=batch_id)
