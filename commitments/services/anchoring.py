"""Anchoring a commitment: send its root to the chain once and record the transaction, or record
the transaction the separate anchor service sent (``POST /v1/commitments/{batch_id}/anchored``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from commitments import errors
from commitments.anchor_chain import anchor_send, require_anchoring
from commitments.selectors import CommitmentRow, commitment_from_row
from commitments.sql import LOCK_COMMITMENT, UPDATE_COMMITMENT_ANCHOR
from streams.kinds import StreamKind


@dataclass(frozen=True, slots=True)
class AnchorResult:
    commitment: CommitmentRow
    already_anchored: bool


def _lock(batch_id: uuid.UUID) -> CommitmentRow | None:
    """The commitment, row-locked until the end of the caller's transaction."""
    with connection.cursor() as cursor:
        cursor.execute(LOCK_COMMITMENT, {"batch_id": batch_id})
        row = cursor.fetchone()
    return commitment_from_row(row) if row is not None else None


def _record(*, batch_id: uuid.UUID, chain_id: int, tx_hash: bytes, block_number: int | None) -> CommitmentRow:
    """Store the anchor transaction. Caller holds the row lock and saw no transaction recorded."""
    params: dict[str, Any] = {
        "batch_id": batch_id,
        "chain_id": chain_id,
        "chain_tx_hash": tx_hash,
        "chain_block_number": block_number,
    }
    with connection.cursor() as cursor:
        cursor.execute(UPDATE_COMMITMENT_ANCHOR, params)
        return commitment_from_row(cursor.fetchone())


def commitment_anchor(*, batch_id: uuid.UUID) -> AnchorResult:
    """Anchor ``batch_id`` (idempotent: an anchored commitment is returned as it is).

    The commitment row stays locked while the transaction is sent and its receipt awaited
    (bounded by ``ANCHOR_RECEIPT_TIMEOUT_SECONDS``), so concurrent calls send one transaction.
    """
    require_anchoring()
    with transaction.atomic():
        commitment = _lock(batch_id)
        if commitment is None:
            raise errors.CommitmentNotFoundError(f"No commitment {batch_id}.")
        if commitment.is_anchored:
            return AnchorResult(commitment, already_anchored=True)
        record = anchor_send(commitment)
        updated = _record(
            batch_id=batch_id, chain_id=record.chain_id, tx_hash=record.tx_hash, block_number=record.block_number
        )
    return AnchorResult(updated, already_anchored=False)


def commitment_record_anchor(
    *, batch_id: uuid.UUID, chain_id: int, chain_tx_hash: bytes, chain_block_number: int | None
) -> AnchorResult:
    """Record a VES commitment's anchor transaction sent by the separate anchor service.

    The same transaction again is ``already_anchored``; another one is 409
    ``commitment_anchored_elsewhere`` (a recorded anchor is never overwritten).
    """
    with transaction.atomic():
        commitment = _lock(batch_id)
        if commitment is None or commitment.stream_kind is not StreamKind.VES:
            raise errors.CommitmentNotFoundError(f"No VES commitment {batch_id}.")
        if commitment.chain_tx_hash is not None:
            if commitment.chain_tx_hash == chain_tx_hash:
                return AnchorResult(commitment, already_anchored=True)
            raise errors.CommitmentAnchoredElsewhereError(
                f"Commitment {batch_id} is anchored by transaction 0x{commitment.chain_tx_hash.hex()}."
            )
        updated = _record(batch_id=batch_id, chain_id=chain_id, tx_hash=chain_tx_hash, block_number=chain_block_number)
    return AnchorResult(updated, already_anchored=False)
