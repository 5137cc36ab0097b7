"""Anchoring a commitment: send its root to the chain once and record the transaction, or record
the transaction the separate anchor service sent (``POST /v1/commitments/{batch_id}/anchored``).

An anchor transaction is kept on the row (``anchor_pending_tx_hash``, with its signed bytes and
nonce) from before it is sent until it is recorded, so any later attempt sends those bytes again or
waits for them rather than sending a second one; a failed attempt stamps ``anchor_error_at``, and
a failed send (a revert) counts towards ``ANCHOR_MAX_ATTEMPTS``, after which the commitment is given
up (``anchor_given_up_at``) until :func:`commitment_anchor_rearm`. :func:`commitment_anchor_sweep`
hands the commitments still unanchored after a grace period back to ``commitments.commitment_anchor``
(an outage, a task that gave up or was lost).

Every statement on a tenant's commitment names the tenant (primary key ``(tenant_id, batch_id)``,
one shard when distributed; docs/scaling.md). The anchor service's notice is the exception: the
bootstrap admin names a batch of any tenant, so that one lock reads by batch id alone.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from audit.services import audit_record
from commitments import errors
from commitments.anchor_chain import (
    AnchorCheck,
    AnchorKept,
    AnchorRecord,
    AnchorSent,
    AnchorSigned,
    AnchorUnconfirmed,
    anchor_broadcast,
    anchor_check,
    anchor_plan,
    anchor_receipt,
    anchor_send_lock,
    anchoring_configured,
    require_anchoring,
)
from commitments.selectors import CommitmentRow, Visible, chain_tip, commitment_from_row, commitment_get_visible
from commitments.services.commitments import commitment_create
from commitments.sql import (
    CLAIM_UNANCHORED_COMMITMENTS,
    LOCK_COMMITMENT,
    LOCK_TENANT_COMMITMENT,
    SELECT_ANCHOR_ATTEMPTS,
    SELECT_ANCHOR_GIVEN_UP_COUNT,
    UPDATE_ANCHOR_REARM_BATCHES,
    UPDATE_ANCHOR_REARM_GIVEN_UP,
    UPDATE_TENANT_COMMITMENT_ANCHOR,
    UPDATE_TENANT_COMMITMENT_ANCHOR_ATTEMPT,
    UPDATE_TENANT_COMMITMENT_ANCHOR_FAILED,
    UPDATE_TENANT_COMMITMENT_ANCHOR_SIGNED,
)
from sequencer_project.api.errors import SequencerError
from sequencer_project.celery import task_enqueue_on_commit
from sequencer_project.db.session_settings import idle_in_transaction_unbounded
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


@dataclass(frozen=True, slots=True)
class _Anchoring:
    """A commitment row-locked for anchoring, with what its row keeps of the anchoring."""

    commitment: CommitmentRow
    kept: AnchorKept | None
    attempts: int
    given_up_at: datetime | None


def _lock_for_anchoring(tenant_id: uuid.UUID, batch_id: uuid.UUID) -> _Anchoring:
    """The commitment, row-locked until the end of the caller's transaction, and its anchoring
    state; 404 ``commitment_not_found`` when the tenant has no such commitment."""
    with connection.cursor() as cursor:
        cursor.execute(LOCK_TENANT_COMMITMENT, {"tenant_id": tenant_id, "batch_id": batch_id})
        row = cursor.fetchone()
    if row is None:
        raise errors.CommitmentNotFoundError(f"No commitment {batch_id}.")
    pending, raw, nonce, attempts, given_up_at = row[-5:]
    kept = AnchorKept(bytes(pending), bytes(raw) if raw is not None else None, nonce) if pending is not None else None
    return _Anchoring(commitment_from_row(row), kept, attempts or 0, given_up_at)


def _note_attempt(commitment: CommitmentRow, *, pending_tx_hash: bytes | None, failed: bool) -> None:
    """Keep ``pending_tx_hash`` (the transaction to wait for, or ``None``: then its signed bytes go
    too) and, when ``failed``, stamp ``anchor_error_at``. Caller holds the row lock and saw no
    transaction recorded. Counts no attempt (:func:`_note_failed_send` does)."""
    params = {
        "tenant_id": commitment.tenant_id,
        "batch_id": commitment.batch_id,
        "pending_tx_hash": pending_tx_hash,
        "failed": failed,
    }
    with connection.cursor() as cursor:
        cursor.execute(UPDATE_TENANT_COMMITMENT_ANCHOR_ATTEMPT, params)


def _keep_signed(commitment: CommitmentRow, signed: AnchorSigned) -> None:
    """Keep ``signed`` on the row (committed by the caller before it is sent). Caller holds the
    row lock and saw no transaction recorded."""
    params: dict[str, Any] = {
        "tenant_id": commitment.tenant_id,
        "batch_id": commitment.batch_id,
        "tx_hash": signed.tx_hash,
        "raw_transaction": signed.raw_transaction,
        "nonce": signed.nonce,
    }
    with connection.cursor() as cursor:
        cursor.execute(UPDATE_TENANT_COMMITMENT_ANCHOR_SIGNED, params)


def _note_failed_send(commitment: CommitmentRow, failure: SequencerError) -> None:
    """Count a failed send (a revert, or an estimate saying it would revert) and drop the kept
    transaction; at ``ANCHOR_MAX_ATTEMPTS`` the commitment is given up (a WARNING names it).
    Caller holds the row lock and saw no transaction recorded."""
    params: dict[str, Any] = {
        "tenant_id": commitment.tenant_id,
        "batch_id": commitment.batch_id,
        "max_attempts": settings.ANCHOR_MAX_ATTEMPTS,
    }
    with connection.cursor() as cursor:
        cursor.execute(UPDATE_TENANT_COMMITMENT_ANCHOR_FAILED, params)
        row = cursor.fetchone()
    if row is not None and row[1] is not None:
        logger.warning(
            "anchoring of commitment %s (tenant %s) given up after %d failed sends (ANCHOR_MAX_ATTEMPTS=%d): %s;"
            " fix the cause, then re-arm it with manage.py anchor_rearm",
            commitment.batch_id,
            commitment.tenant_id,
            row[0],
            settings.ANCHOR_MAX_ATTEMPTS,
            failure.detail,
        )


def _given_up(commitment: CommitmentRow, attempts: int) -> errors.AnchorFailedError:
    return errors.AnchorFailedError(
        f"Anchoring of commitment {commitment.batch_id} was given up after {attempts} failed sends "
        "(ANCHOR_MAX_ATTEMPTS); an operator re-arms it with manage.py anchor_rearm."
    )


def _note_unavailable(tenant_id: uuid.UUID, batch_id: uuid.UUID) -> None:
    """Stamp ``anchor_error_at`` (the kept transaction stays) in a transaction of its own."""
    with transaction.atomic():
        anchoring = _lock_for_anchoring(tenant_id, batch_id)
        if not anchoring.commitment.is_anchored:
            kept = anchoring.kept.tx_hash if anchoring.kept is not None else None
            _note_attempt(anchoring.commitment, pending_tx_hash=kept, failed=True)


def commitment_anchor(*, tenant_id: uuid.UUID, batch_id: uuid.UUID) -> AnchorResult:
    """Anchor ``batch_id`` of ``tenant_id`` (idempotent: an anchored commitment is returned as it is).

    Four steps, so that no transaction is sent before the row keeps it and no database
    transaction stays open while a receipt is awaited:

    1. Under the commitment's row lock and the anchoring account's send lock
       (:func:`anchor_send_lock`), the transaction to wait for or to send
       (:func:`anchor_plan`): the one kept on the row while the chain knows it, its kept signed
       bytes while their nonce is free, else a new one, signed and kept on the row (hash, bytes,
       nonce). The row transaction commits.
    2. Still holding the send lock (so the account's nonce stays ours), the kept bytes are sent
       (:func:`anchor_broadcast`), and the lock goes. An attempt that dies before or after the
       send leaves the bytes on the row: the next one (a retry, the sweep) sends exactly them
       again, or waits for them; the chain mines them at most once.
    3. Without a transaction, its receipt (up to ``ANCHOR_RECEIPT_TIMEOUT_SECONDS``).
    4. Under the row lock again, the anchor is recorded (``already_anchored`` when a concurrent
       call recorded it first), or the failure noted (``anchor_error_at``). A revert (or an
       estimate saying the transaction would revert, in step 1) counts a failed send
       (``anchor_attempts``); at ``ANCHOR_MAX_ATTEMPTS`` the commitment is given up
       (``anchor_given_up_at``): no attempt sends for it until ``manage.py anchor_rearm``.

    404 ``commitment_not_found`` when the tenant has no such commitment; 503 ``anchor_unavailable``
    when the chain did not answer or the transaction was not seen mined (it stays kept); 502
    ``anchor_failed`` when it reverted or would revert (the next attempt signs a new one), or the
    commitment is given up.
    """
    require_anchoring()
    failure: SequencerError | None = None
    planned: AnchorSent | AnchorSigned | None = None
    sent: AnchorSent | None = None
    with contextlib.ExitStack() as sending:
        with transaction.atomic(durable=True):
            # Step 1 talks to the chain with the row lock held and runs no SQL meanwhile (the
            # sender lock's wait, the RPC reads and their retries): the deployment's
            # idle-in-transaction timeout must not end the session there, which would free the
            # sender lock. The statement timeout still bounds every statement.
            idle_in_transaction_unbounded()
            anchoring = _lock_for_anchoring(tenant_id, batch_id)
            commitment = anchoring.commitment
            if commitment.is_anchored:
                return AnchorResult(commitment, already_anchored=True)
            if anchoring.given_up_at is not None:
                failure = _given_up(commitment, anchoring.attempts)
            else:
                pending = anchoring.kept.tx_hash if anchoring.kept is not None else None
                try:
                    sending.enter_context(anchor_send_lock())
                    planned = anchor_plan(commitment, kept=anchoring.kept)
                except errors.AnchorUnavailableError as exc:  # nothing sent; a kept transaction stays
                    failure = exc
                    _note_attempt(commitment, pending_tx_hash=pending, failed=True)
                except errors.AnchorFailedError as exc:  # would revert: nothing sent, a failed send
                    failure = exc
                    _note_failed_send(commitment, exc)
                else:
                    if isinstance(planned, AnchorSigned) and planned.tx_hash != pending:
                        _keep_signed(commitment, planned)
        if failure is None and isinstance(planned, AnchorSigned):
            try:
                sent = anchor_broadcast(planned)  # committed above: kept before it is sent
            except errors.AnchorUnavailableError as exc:
                failure = exc
        elif isinstance(planned, AnchorSent):
            sent = planned
    if failure is not None:
        if isinstance(failure, errors.AnchorUnavailableError) and planned is not None:
            _note_unavailable(tenant_id, batch_id)
        logger.info("commitment %s not anchored: %s", batch_id, failure.detail)
        raise failure
    assert sent is not None

    outcome: AnchorRecord | AnchorUnconfirmed | None
    try:
        outcome = anchor_receipt(sent)
    except errors.AnchorFailedError as exc:  # mined and reverted: nothing left to wait for
        outcome, failure = None, exc

    with transaction.atomic():
        anchoring = _lock_for_anchoring(tenant_id, batch_id)
        commitment = anchoring.commitment
        if commitment.is_anchored:
            return AnchorResult(commitment, already_anchored=True)
        if isinstance(outcome, AnchorRecord):
            updated = _record(
                commitment, chain_id=outcome.chain_id, tx_hash=outcome.tx_hash, block_number=outcome.block_number
            )
            return AnchorResult(updated, already_anchored=False)
        pending = anchoring.kept.tx_hash if anchoring.kept is not None else None
        if isinstance(outcome, AnchorUnconfirmed):
            failure = errors.AnchorUnavailableError(outcome.detail)
            _note_attempt(commitment, pending_tx_hash=pending, failed=True)
        elif pending == sent.tx_hash:  # the reverted one (a concurrent call may have counted it)
            assert failure is not None
            _note_failed_send(commitment, failure)
        else:
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


@dataclass(frozen=True, slots=True)
class AnchorAttempts:
    """The anchoring state of one commitment (``manage.py anchor_rearm``, the operator admin)."""

    batch_id: uuid.UUID
    tenant_id: uuid.UUID
    anchored: bool
    attempts: int
    given_up_at: datetime | None
    pending_tx_hash: bytes | None
    error_at: datetime | None


def commitment_anchor_attempts(*, batch_ids: list[uuid.UUID], tenant_id: uuid.UUID | None) -> list[AnchorAttempts]:
    """The anchoring state of the commitments ``batch_ids`` (of ``tenant_id`` only, when given;
    ids of no such commitment are left out). A read across tenants by batch id: an operator's
    coordinator path (docs/scaling.md), kept beside the anchoring it reports. Writes nothing."""
    with connection.cursor() as cursor:
        cursor.execute(SELECT_ANCHOR_ATTEMPTS, {"batch_ids": batch_ids, "tenant_id": tenant_id})
        rows = cursor.fetchall()
    return [
        AnchorAttempts(row[0], row[1], row[2], row[3], row[4], bytes(row[5]) if row[5] is not None else None, row[6])
        for row in rows
    ]


def anchor_given_up_gauge() -> float | None:
    """``sequencer_anchor_given_up_commitments`` at a scrape: :func:`commitment_anchor_given_up_count`
    while anchoring is configured, else ``None`` (no value; nothing is anchored)."""
    return float(commitment_anchor_given_up_count()) if anchoring_configured() else None


def commitment_anchor_given_up_count() -> int:
    """How many unanchored commitments of every tenant are given up (``ANCHOR_MAX_ATTEMPTS``
    failed sends); one read of a partial index that is normally empty. Writes nothing."""
    with connection.cursor() as cursor:
        cursor.execute(SELECT_ANCHOR_GIVEN_UP_COUNT)
        row = cursor.fetchone()
    return int(row[0]) if row is not None else 0


@dataclass(frozen=True, slots=True)
class AnchorRearmed:
    """What :func:`commitment_anchor_rearm` did: the commitments re-armed, and of the batch ids
    named, those anchored already and those with no failed send (both left as they are), and
    those of no such commitment."""

    rearmed: list[AnchorSwept]
    anchored: list[uuid.UUID]
    unknown: list[uuid.UUID]
    not_failed: list[uuid.UUID]


@transaction.atomic(durable=True)
def commitment_anchor_rearm(
    *, tenant_id: uuid.UUID | None, batch_ids: list[uuid.UUID] | None, all_given_up: bool, actor: str
) -> AnchorRearmed:
    """Re-arm anchoring: failed sends back to 0, no longer given up, due for the next sweep
    (``anchor_swept_at`` cleared; the sweep enqueues ``commitments.commitment_anchor`` within
    ``ANCHOR_SWEEP_INTERVAL_SECONDS``). ``batch_ids``: those unanchored commitments with a failed
    send, given up or not (of ``tenant_id`` only when given; one with no failed send is left as it
    is and reported in ``not_failed``); else (``all_given_up``, or ``tenant_id`` alone) every
    given-up unanchored commitment (of ``tenant_id`` when given). Anchored commitments are never
    touched. Transaction boundary; locks the rows it updates. Idempotent. Audited
    (``commitment.anchor_rearm``, one row per commitment re-armed, by ``actor``)."""
    if batch_ids is not None:
        wanted = list(dict.fromkeys(batch_ids))
        states = {s.batch_id: s for s in commitment_anchor_attempts(batch_ids=wanted, tenant_id=tenant_id)}
        unknown = [b for b in wanted if b not in states]
        anchored = [b for b in wanted if b in states and states[b].anchored]
        named = [b for b in wanted if b in states]
        statement, params = UPDATE_ANCHOR_REARM_BATCHES, {"batch_ids": wanted, "tenant_id": tenant_id}
    else:
        if not all_given_up and tenant_id is None:
            raise ValueError("name batch ids, a tenant or all given-up commitments")
        unknown, anchored, named = [], [], []
        statement, params = UPDATE_ANCHOR_REARM_GIVEN_UP, {"tenant_id": tenant_id}
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        rearmed = [AnchorSwept(tenant_id=row[0], batch_id=row[1]) for row in cursor.fetchall()]
    touched = {entry.batch_id for entry in rearmed}
    not_failed = [b for b in named if b not in touched and b not in anchored]
    for entry in rearmed:
        audit_record(
            actor=actor,
            action="commitment.anchor_rearm",
            target_type="commitment",
            target_id=str(entry.batch_id),
            tenant_id=entry.tenant_id,
        )
        logger.warning("anchoring of commitment %s (tenant %s) re-armed", entry.batch_id, entry.tenant_id)
    return AnchorRearmed(rearmed, anchored, unknown, not_failed)
