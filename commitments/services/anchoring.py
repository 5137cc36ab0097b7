"""Anchoring a commitment: send its root to the chain once and record the transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from commitments import errors
from commitments.anchoring import anchor_send, require_anchoring
from commitments.selectors import CommitmentRow, commitment_from_row
from commitments.sql import LOCK_COMMITMENT, UPDATE_COMMITMENT_ANCHOR


@dataclass(frozen=True, slots=True)
class AnchorResult:
    commitment: CommitmentRow
    already_anchored: bool


def commitment_anchor(*, batch_id: uuid.UUID) -> AnchorResult:
    """Anchor ``batch_id`` (idempotent: an anchored commitment is returned as it is).

    The commitment row stays locked while the transaction is sent and its receipt awaited
    (bounded by ``ANCHOR_RECEIPT_TIMEOUT_SECONDS``), so concurrent calls send one transaction.
    """
    require_anchoring()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(LOCK_COMMITMENT, {"batch_id": batch_id})
            row = cursor.fetchone()
        if row is None:
            raise errors.CommitmentNotFoundError(f"No commitment {batch_id}.")
        commitment = commitment_from_row(row)
        if commitment.is_anchored:
            return AnchorResult(commitment, already_anchored=True)
        record = anchor_send(commitment)
        params: dict[str, Any] = {
            "batch_id": batch_id,
            "chain_id": record.chain_id,
            "chain_tx_hash": record.tx_hash,
            "chain_block_number": record.block_number,
        }
        with connection.cursor() as cursor:
            cursor.execute(UPDATE_COMMITMENT_ANCHOR, params)
            updated = commitment_from_row(cursor.fetchone())
    return AnchorResult(updated, already_anchored=False)
