"""Sealing ranges of a stream into commitments (``docs/commitments.md``, ADR 0020).

Each stream has a chain: contiguous commitments from sequence 1, each following the previous
one's state root, which the RFC 6962 log and its checkpoints grow with. The automatic task
extends it; a client's request extends it too when the range is exactly the chain's next one,
and otherwise becomes an on-request commitment beside the chain, which the log never sees.

Creation runs in one transaction under ``pg_advisory_xact_lock(COMMITMENT_STREAM, stream)``, so
two creators of the same stream are serialised: the second finds the first's row for the same
range and returns it (idempotent).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from commitments import errors
from commitments.anchor_chain import anchoring_configured
from commitments.selectors import (
    CommitmentRow,
    chain_tip,
    commitment_from_row,
    commitment_get_by_range,
    leaf_hashes,
    state_root_before,
)
from commitments.sql import INSERT_COMMITMENT
from commitments.transparency import SignedCheckpoint, log_append
from sequencer_project.celery import task_enqueue_on_commit
from sequencer_project.db.locks import LockNamespace, advisory_xact_lock, stream_lock_key
from streams.kinds import StreamKind, stream_params
from ves import legacy_merkle
from ves import merkle as ves_merkle
from ves.hashes import ZERO_HASH, stream_id

logger = logging.getLogger(__name__)

VES_VERSION = 1
MAX_COMMITMENT_EVENTS = 1_000_000


@dataclass(frozen=True, slots=True)
class CommitmentResult:
    commitment: CommitmentRow
    created: bool


def _check_range(sequence_start: int, sequence_end: int) -> None:
    if sequence_start < 1:
        raise errors.InvalidCommitmentRangeError("sequence_start must be at least 1.")
    if sequence_end < sequence_start:
        raise errors.InvalidCommitmentRangeError(
            f"sequence_end {sequence_end} is before sequence_start {sequence_start}."
        )
    if sequence_end - sequence_start + 1 > MAX_COMMITMENT_EVENTS:
        raise errors.InvalidCommitmentRangeError(
            f"A commitment seals at most {MAX_COMMITMENT_EVENTS} events.", limit=MAX_COMMITMENT_EVENTS
        )


def _lock_stream(tenant_id: uuid.UUID, store_id: uuid.UUID, kind: StreamKind) -> None:
    advisory_xact_lock(LockNamespace.COMMITMENT_STREAM, stream_lock_key(tenant_id, store_id, int(kind)))


def commitment_create(
    *, tenant_id: uuid.UUID, store_id: uuid.UUID, kind: StreamKind, sequence_start: int, sequence_end: int
) -> CommitmentResult:
    """Seal ``sequence_start .. sequence_end`` of a stream as a client asked; the same range again
    returns the same row.

    Any range ``1 ≤ start ≤ end ≤ head`` is accepted (400 ``commitment_beyond_head`` past the
    head). The chain's next range extends the chain; any other is an on-request commitment.
    """
    _check_range(sequence_start, sequence_end)
    with transaction.atomic():
        _lock_stream(tenant_id, store_id, kind)
        existing = commitment_get_by_range(
            tenant_id=tenant_id, store_id=store_id, kind=kind, sequence_start=sequence_start, sequence_end=sequence_end
        )
        if existing is not None:
            return CommitmentResult(existing, created=False)
        tip = chain_tip(tenant_id=tenant_id, store_id=store_id, kind=kind)
        if sequence_end > tip.head:
            raise errors.CommitmentBeyondHeadError(
                f"sequence_end {sequence_end} is beyond the stream's head {tip.head}.", head=tip.head
            )
        if sequence_start == tip.next_start:
            prev, on_request = (tip.last.new_state_root if tip.last is not None else ZERO_HASH), False
        else:
            prev = state_root_before(tenant_id=tenant_id, store_id=store_id, kind=kind, sequence_start=sequence_start)
            on_request = True
        row = _seal(
            tenant_id=tenant_id,
            store_id=store_id,
            kind=kind,
            sequence_start=sequence_start,
            sequence_end=sequence_end,
            prev_state_root=prev,
            on_request=on_request,
        )
    return CommitmentResult(row, created=True)


def _seal(
    *,
    tenant_id: uuid.UUID,
    store_id: uuid.UUID,
    kind: StreamKind,
    sequence_start: int,
    sequence_end: int,
    prev_state_root: bytes,
    on_request: bool,
) -> CommitmentRow:
    """Build the tree of a range and store the commitment; a chain link also grows the log and
    stores its signed checkpoint with the commitment, in one statement.

    Caller holds the transaction and the COMMITMENT_STREAM lock and checked the range.
    """
    leaves = leaf_hashes(
        tenant_id=tenant_id, store_id=store_id, kind=kind, sequence_start=sequence_start, sequence_end=sequence_end
    )
    count = sequence_end - sequence_start + 1
    if len(leaves) != count:
        raise errors.CommitmentEventsMissingError(
            f"Only {len(leaves)} of the {count} events of {sequence_start}..{sequence_end} are stored."
        )
    if kind is StreamKind.VES:
        root = ves_merkle.merkle_root(leaves)
        depth, padded = ves_merkle.tree_depth(count), ves_merkle.padded_leaf_count(count)
    else:
        root = legacy_merkle.events_root(leaves)
        depth, padded = max(count - 1, 0).bit_length(), count
    new_state = ves_merkle.state_root(
        stream_id=stream_id(tenant_id, store_id),
        prev_state_root=prev_state_root,
        merkle_root=root,
        sequence_start=sequence_start,
        sequence_end=sequence_end,
        leaf_count=count,
    )
    checkpoint = (
        None
        if on_request
        else log_append(tenant_id=tenant_id, store_id=store_id, kind=kind, old_size=sequence_start - 1, entries=leaves)
    )
    params: dict[str, Any] = {
        **stream_params(tenant_id, store_id, kind),
        **_checkpoint_params(checkpoint),
        "batch_id": uuid.uuid4(),
        "ves_version": VES_VERSION,
        "tree_depth": depth,
        "leaf_count": count,
        "padded_leaf_count": padded,
        "merkle_root": root,
        "prev_state_root": prev_state_root,
        "new_state_root": new_state,
        "sequence_start": sequence_start,
        "sequence_end": sequence_end,
        "on_request": on_request,
    }
    with connection.cursor() as cursor:
        cursor.execute(INSERT_COMMITMENT, params)
        row = commitment_from_row(cursor.fetchone())
    if anchoring_configured():
        task_enqueue_on_commit("commitments.commitment_anchor", str(tenant_id), str(row.batch_id))
    logger.debug(
        "commitment sealed",
        extra={"batch_id": str(row.batch_id), "stream_kind": int(kind), "leaf_count": count, "on_request": on_request},
    )
    return row


def _checkpoint_params(checkpoint: SignedCheckpoint | None) -> dict[str, Any]:
    """``insert_commitment.sql``'s checkpoint columns (all ``None``: no checkpoint row)."""
    if checkpoint is None:
        return {"tree_size": None, "root_hash": None, "note": None}
    return {"tree_size": checkpoint.tree_size, "root_hash": checkpoint.root_hash, "note": checkpoint.note}


def commitment_seal_next(
    *, tenant_id: uuid.UUID, store_id: uuid.UUID, kind: StreamKind, max_events: int
) -> CommitmentResult | None:
    """Extend the chain by ``last_end + 1 .. min(head, last_end + max_events)``; ``None`` when nothing is new.

    What the automatic commitment task runs for one stream: safe to run twice or concurrently,
    since the range is derived from the committed chain under the stream lock. An on-request
    commitment of the same range does not stand in for the chain's link.
    """
    with transaction.atomic():
        _lock_stream(tenant_id, store_id, kind)
        tip = chain_tip(tenant_id=tenant_id, store_id=store_id, kind=kind)
        start = tip.next_start
        if tip.head < start:
            return None
        row = _seal(
            tenant_id=tenant_id,
            store_id=store_id,
            kind=kind,
            sequence_start=start,
            sequence_end=min(tip.head, start + max_events - 1, start + MAX_COMMITMENT_EVENTS - 1),
            prev_state_root=tip.last.new_state_root if tip.last is not None else ZERO_HASH,
            on_request=False,
        )
    return CommitmentResult(row, created=True)
