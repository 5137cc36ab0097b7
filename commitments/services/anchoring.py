"""Anchoring a commitment: send its root to the chain once and record the transaction, or record
the transaction the separate anchor service sent (``POST /v1/commitments/{batch_id}/anchored``).

An anchor transaction is kept on the row (``anchor_pending_tx_hash``) from when it is sent until it
is recorded, so any later attempt waits for it rather than sending a second one; a failed attempt
stamps ``anchor_error_at``. :func:`commitment_anchor_sweep` hands the commitments still unanchored after a grace
period back to ``commitments.commitment_anchor`` (an outage, a task that gave up or was lost).

Every statement on a tenant's commitment names the tenant (primary key ``(tenant_id, batch_id)``,
one shard when distributed; docs/scaling.md). The anchor service's notice is the exception: the
bootstrap admin names a batch of any tenant, so that one lock reads by batch id alone.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from commitments import errors
from commitments.anchor_chain import (
    AnchorCheck,
    AnchorRecord,
    AnchorUnconfirmed,
    anchor_check,
    anchor_receipt,
    anchor_transaction,
    require_anchoring,
)
from commitments.selectors import CommitmentRow, Visible, chain_tip, commitment_from_row, commitment_get_visible
from commitments.services.commitments import commitment_create
from commitments.sql import (
    CLAIM_UNANCHORED_COMMITMENTS,
    LOCK_COMMITMENT,
    LOCK_TENANT_COMMITMENT,
    UPDATE_TENANT_COMMITMENT_ANCHOR,
    UPDATE_TENANT_COMMITMENT_ANCHOR_ATTEMPT,
)
from sequencer_project.api.errors import SequencerError
from sequencer_project.celery import task_enqueue_on_commit
from sequencer_project.db.tenant_scope import TenantScope
from streams.kinds import StreamKind

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AnchorResult:
    commitment: CommitmentRow
    already_anchored: bool


def _locked(statement: str, params: dict[str, Any]) -> CommitmentRow | None:
    """The commitment, row-locked until the end of the caller's transaction."""
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        row = cursor.fetchone()
    return commitment_from_row(row) if row is not None else None


def _record(commitment: CommitmentRow, *, chain_id: int, tx_hash: bytes, block_number: int | None) -> CommitmentRow:
    """Store the anchor transaction. Caller holds the row lock and saw no transaction recorded."""
    params: dict[str, Any] = {
        "tenant_id": commitment.tenant_id,
        "batch_id": commitment.batch_id,
        "chain_id": chain_id,
        "chain_tx_hash": tx_hash,
        "chain_block_number": block_number,
    }
    with connection.cursor() as cursor:
        cursor.execute(UPDATE_TENANT_COMMITMENT_ANCHOR, params)
        return commitment_from_row(cursor.fetchone())


def _lock_for_anchoring(tenant_id: uuid.UUID, batch_id: uuid.UUID) -> tuple[CommitmentRow, bytes | None]:
    """The commitment, row-locked until the end of the caller's transaction, and its pending anchor
    transaction; 404 ``commitment_not_found`` when the tenant has no such commitment."""
    with connection.cursor() as cursor:
        cursor.execute(LOCK_TENANT_COMMITMENT, {"tenant_id": tenant_id, "batch_id": batch_id})
        row = cursor.fetchone()
    if row is None:
        raise errors.CommitmentNotFoundError(f"No commitment {batch_id}.")
    return commitment_from_row(row), (bytes(row[-1]) if row[-1] is not None else None)


def _note_attempt(commitment: CommitmentRow, *, pending_tx_hash: bytes | None, failed: bool) -> None:
    """Keep ``pending_tx_hash`` (the transaction to wait for, or ``None``) and, when ``failed``,
    stamp ``anchor_error_at``. Caller holds the row lock and saw no transaction recorded."""
    params = {
        "tenant_id": commitment.tenant_id,
        "batch_id": commitment.batch_id,
        "pending_tx_hash": pending_tx_hash,
        "failed": failed,
    }
    with connection.cursor() as cursor:
        cursor.execute(UPDATE_TENANT_COMMITMENT_ANCHOR_ATTEMPT, params)


def commitment_anchor(*, tenant_id: uuid.UUID, batch_id: uuid.UUID) -> AnchorResult:
    """Anchor ``batch_id`` of ``tenant_id`` (idempotent: an anchored commitment is returned as it is).

    Three steps, so that no database transaction stays open while a receipt is awaited:

    1. Under the commitment's row lock, the transaction to wait for: the pending one while the
       chain still knows it, else one sent now; its hash is kept on the row before the lock goes.
       Concurrent calls therefore send one transaction, and a later attempt (a retry, the sweep)
       waits for it instead of sending a second.
    2. Without a transaction, its receipt (up to ``ANCHOR_RECEIPT_TIMEOUT_SECONDS``).
    3. Under the row lock again, the anchor is recorded (``already_anchored`` when a concurrent
       call recorded it first), or the failure noted (``anchor_error_at``).

    404 ``commitment_not_found`` when the tenant has no such commitment; 503 ``anchor_unavailable``
    when the chain did not answer (nothing sent) or the transaction was not seen mined (it stays
    pending); 502 ``anchor_failed`` when it reverted (the next attempt sends a new one).
    """
    require_anchoring()
    failure: SequencerError | None = None
    with transaction.atomic(durable=True):
        # Step 1 talks to the chain with the row lock held and runs no SQL meanwhile (the sender
        # lock's wait, the RPC reads and their retries): the deployment's idle-in-transaction
        # timeout must not end the session there, which would free the sender lock and lose the
        # sent hash. The statement timeout still bounds every statement.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL idle_in_transaction_session_timeout = 0")
        commitment, pending = _lock_for_anchoring(tenant_id, batch_id)
        if commitment.is_anchored:
            return AnchorResult(commitment, already_anchored=True)
        try:
            sent = anchor_transaction(commitment, pending_tx_hash=pending)
        except errors.AnchorUnavailableError as exc:  # nothing sent; a pending transaction stays
            failure = exc
            _note_attempt(commitment, pending_tx_hash=pending, failed=True)
        else:
            if sent.tx_hash != pending:
                _note_attempt(commitment, pending_tx_hash=sent.tx_hash, failed=False)
    if failure is not None:
        logger.info("commitment %s not anchored: %s", batch_id, failure.detail)
        raise failure

    outcome: AnchorRecord | AnchorUnconfirmed | None
    try:
        outcome = anchor_receipt(sent)
    except errors.AnchorFailedError as exc:  # mined and reverted: nothing left to wait for
        outcome, failure = None, exc

    with transaction.atomic():
        commitment, pending = _lock_for_anchoring(tenant_id, batch_id)
        if commitment.is_anchored:
            return AnchorResult(commitment, already_anchored=True)
        if isinstance(outcome, AnchorRecord):
            updated = _record(
                commitment, chain_id=outcome.chain_id, tx_hash=outcome.tx_hash, block_number=outcome.block_number
            )
            return AnchorResult(updated, already_anchored=False)
        if isinstance(outcome, AnchorUnconfirmed):
            failure = errors.AnchorUnavailableError(outcome.detail)
        elif pending == sent.tx_hash:  # the reverted one (a concurrent call may have replaced it)
            pending = None
        _note_attempt(commitment, pending_tx_hash=pending, failed=True)
    assert failure is not None
    logger.info("commitment %s not anchored: %s", batch_id, failure.detail)
    raise failure


@dataclass(frozen=True, slots=True)
class AnchorSwept:
    """A commitment :func:`commitment_anchor_sweep` handed to ``commitments.commitment_anchor``."""

    tenant_id: uuid.UUID
    batch_id: uuid.UUID


@transaction.atomic(durable=True)
def commitment_anchor_sweep(*, grace_seconds: float, limit: int) -> list[AnchorSwept]:
    """Enqueue ``commitments.commitment_anchor`` (after commit) for up to ``limit`` commitments still
    unanchored ``grace_seconds`` after they were committed or last swept, oldest first, and stamp
    them swept, so each is enqueued at most once per grace period. Commitments whose anchoring holds
    their row right now are skipped. Every tenant's (a coordinator path, as
    ``GET /v1/commitments/pending``). Transaction boundary; locks the claimed rows.
    """
    with connection.cursor() as cursor:
        cursor.execute(CLAIM_UNANCHORED_COMMITMENTS, {"grace_seconds": float(grace_seconds), "limit": limit})
        swept = [AnchorSwept(tenant_id=row[0], batch_id=row[1]) for row in cursor.fetchall()]
    for entry in swept:
        task_enqueue_on_commit("commitments.commitment_anchor", str(entry.tenant_id), str(entry.batch_id))
    if swept:
        logger.info("anchoring sweep: %d unanchored commitments enqueued", len(swept))
    return swept


def commitment_anchor_for_tenant(
    *, tenant_id: TenantScope, batch_id: uuid.UUID, kind: StreamKind, visible: Visible
) -> AnchorResult:
    """Anchor commitment ``batch_id`` of the caller's tenant (``EVERY_TENANT``: the bootstrap
    admin, any tenant) as :func:`commitment_anchor` does (``POST /api/v1/ves/anchor``); 404
    ``commitment_not_found`` when it is of another kind or outside the caller's scope ``visible``."""
    commitment = commitment_get_visible(tenant_id=tenant_id, batch_id=batch_id, kind=kind, visible=visible)
    return commitment_anchor(tenant_id=commitment.tenant_id, batch_id=commitment.batch_id)


# A read, kept beside the anchoring it checks: ``selectors`` cannot import ``anchor_chain``
# (which imports ``selectors``).
@dataclass(frozen=True, slots=True)
class AnchorVerification:
    commitment: CommitmentRow
    check: AnchorCheck


def commitment_anchor_verify(
    *, tenant_id: TenantScope, batch_id: uuid.UUID, kind: StreamKind, visible: Visible
) -> AnchorVerification:
    """Commitment ``batch_id`` of the caller's tenant with its recorded anchor transaction read
    back from the chain (``GET /api/v1/ves/anchor/{batch_id}/verify``); 404 as
    :func:`commitment_anchor_for_tenant`. Reads only (the row and the chain), writes nothing."""
    commitment = commitment_get_visible(tenant_id=tenant_id, batch_id=batch_id, kind=kind, visible=visible)
    return AnchorVerification(commitment, anchor_check(commitment))


def commitment_commit_and_anchor(
    *,
    tenant_id: uuid.UUID,
    store_id: uuid.UUID,
    kind: StreamKind,
    sequence_range: tuple[int, int] | None,
    max_events: int,
) -> AnchorResult:
    """Seal a range of one stream and anchor it (``POST /api/v1/ves/commitments/anchor``).

    ``sequence_range`` ``(start, end)`` is sealed as :func:`commitment_create` does; ``None`` is
    the automatic range ``last_end + 1 .. min(head, last_end + max_events)``. When the stream has
    nothing new, its last commitment is anchored (or returned, anchored already); 400
    ``commitment_beyond_head`` when it has no events at all. Sealing and anchoring are two
    transactions, as :func:`commitment_create` and :func:`commitment_anchor` each are one.
    """
    require_anchoring()
    if sequence_range is None:
        tip = chain_tip(tenant_id=tenant_id, store_id=store_id, kind=kind)
        start = tip.next_start
        end = min(tip.head, start + max_events - 1)
        if end < start:
            if tip.last is None:
                raise errors.CommitmentBeyondHeadError("The stream has no events to commit.")
            return commitment_anchor(tenant_id=tenant_id, batch_id=tip.last.batch_id)
        sequence_range = (start, end)
    created = commitment_create(
        tenant_id=tenant_id,
        store_id=store_id,
        kind=kind,
        sequence_start=sequence_range[0],
        sequence_end=sequence_range[1],
    )
    return commitment_anchor(tenant_id=tenant_id, batch_id=created.commitment.batch_id)


def commitment_record_anchor(
    *, batch_id: uuid.UUID, chain_id: int, chain_tx_hash: bytes, chain_block_number: int | None
) -> AnchorResult:
    """Record a VES commitment's anchor transaction sent by the separate anchor service.

    The anchor service (the bootstrap admin) names a batch of any tenant, so the lock reads by
    batch id alone (a coordinator path, docs/scaling.md); the write names the row's tenant.
    The same transaction again is ``already_anchored``; another one is 409
    ``commitment_anchored_elsewhere`` (a recorded anchor is never overwritten).
    """
    with transaction.atomic():
        commitment = _locked(LOCK_COMMITMENT, {"batch_id": batch_id})
        if commitment is None or commitment.stream_kind is not StreamKind.VES:
            raise errors.CommitmentNotFoundError(f"No VES commitment {batch_id}.")
        if commitment.chain_tx_hash is not None:
            if commitment.chain_tx_hash == chain_tx_hash:
                return AnchorResult(commitment, already_anchored=True)
            raise errors.CommitmentAnchoredElsewhereError(
                f"Commitment {batch_id} is anchored by transaction 0x{commitment.chain_tx_hash.hex()}."
            )
        updated = _record(commitment, chain_id=chain_id, tx_hash=chain_tx_hash, block_number=chain_block_number)
    return AnchorResult(updated, already_anchored=False)
