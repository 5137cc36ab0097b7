"""Anchoring a commitment: send its root to the chain once and record the transaction, or record
the transaction the separate anchor service sent (``POST /v1/commitments/{batch_id}/anchored``).

Every statement on a tenant's commitment names the tenant (primary key ``(tenant_id, batch_id)``,
one shard when distributed; docs/scaling.md). The anchor service's notice is the exception: the
bootstrap admin names a batch of any tenant, so that one lock reads by batch id alone.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from commitments import errors
from commitments.anchor_chain import AnchorCheck, anchor_check, anchor_send, require_anchoring
from commitments.selectors import CommitmentRow, Visible, chain_tip, commitment_from_row, commitment_get_visible
from commitments.services.commitments import commitment_create
from commitments.sql import LOCK_COMMITMENT, LOCK_TENANT_COMMITMENT, UPDATE_TENANT_COMMITMENT_ANCHOR
from sequencer_project.db.tenant_scope import TenantScope
from streams.kinds import StreamKind


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


def commitment_anchor(*, tenant_id: uuid.UUID, batch_id: uuid.UUID) -> AnchorResult:
    """Anchor ``batch_id`` of ``tenant_id`` (idempotent: an anchored commitment is returned as it is).

    The commitment row stays locked while the transaction is sent and its receipt
    awaited (bounded by ``ANCHOR_RECEIPT_TIMEOUT_SECONDS``), so concurrent calls send one
    transaction. 404 ``commitment_not_found`` when the tenant has no such commitment.
    """
    require_anchoring()
    with transaction.atomic():
        commitment = _locked(LOCK_TENANT_COMMITMENT, {"tenant_id": tenant_id, "batch_id": batch_id})
        if commitment is None:
            raise errors.CommitmentNotFoundError(f"No commitment {batch_id}.")
        if commitment.is_anchored:
            return AnchorResult(commitment, already_anchored=True)
        record = anchor_send(commitment)
        updated = _record(
            commitment, chain_id=record.chain_id, tx_hash=record.tx_hash, block_number=record.block_number
        )
    return AnchorResult(updated, already_anchored=False)


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
