"""Sealing ranges of a stream into commitments (``docs/commitments.md``).

Creation runs in one transaction under ``pg_advisory_xact_lock(COMMITMENT_STREAM, stream)``, so
two creators of the same stream are serialised: the second sees the first's row and either
returns it (same range: idempotent) or refuses a range that no longer follows it.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from commitments import errors
from commitments.anchoring import anchoring_configured
from commitments.selectors import (
    CommitmentRow,
    commitment_from_row,
    commitment_get_by_start,
    commitment_last,
    leaf_hashes,
    stream_head,
)
from commitments.sql import INSERT_COMMITMENT
from commitments.transparency import log_append_and_checkpoint
from events.streams import StreamKind
from sequencer_project.db.locks import LockNamespace, advisory_xact_lock, stream_lock_key
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


def commitment_create(
    *, tenant_id: uuid.UUID, store_id: uuid.UUID, kind: StreamKind, sequence_start: int, sequence_end: int
) -> CommitmentResult:
    """Seal ``sequence_start .. sequence_end`` of a stream; return the existing row for a retry.

    The first commitment of a stream starts at 1 and every later one at the previous end + 1
    (409 ``commitment_not_contiguous``); the range must not pass the head (400
    ``commitment_beyond_head``).
    """
    _check_range(sequence_start, sequence_end)
    with transaction.atomic():
        advisory_xact_lock(LockNamespace.COMMITMENT_STREAM, stream_lock_key(tenant_id, store_id, int(kind)))
        existing = commitment_get_by_start(
            tenant_id=tenant_id, store_id=store_id, kind=kind, sequence_start=sequence_start
        )
        if existing is not None:
            if existing.sequence_end != sequence_end:
                raise errors.CommitmentRangeConflictError(
                    f"Commitment {existing.batch_id} already seals {existing.sequence_start}..{existing.sequence_end}.",
                    batch_id=str(existing.batch_id),
                )
            return CommitmentResult(existing, created=False)
        last = commitment_last(tenant_id=tenant_id, store_id=store_id, kind=kind)
        expected_start = 1 if last is None else last.sequence_end + 1
        if sequence_start != expected_start:
            raise errors.CommitmentNotContiguousError(
                f"The next commitment of this stream must start at {expected_start}.",
                expected_start=expected_start,
            )
        head = stream_head(tenant_id=tenant_id, store_id=store_id, kind=kind)
        if sequence_end > head:
            raise errors.CommitmentBeyondHeadError(
                f"sequence_end {sequence_end} is beyond the stream's head {head}.", head=head
            )
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
        prev = last.new_state_root if last is not None else ZERO_HASH
        new_state = ves_merkle.state_root(
            stream_id=stream_id(tenant_id, store_id),
            prev_state_root=prev,
            merkle_root=root,
            sequence_start=sequence_start,
            sequence_end=sequence_end,
            leaf_count=count,
        )
        params: dict[str, Any] = {
            "batch_id": uuid.uuid4(),
            "tenant_id": tenant_id,
            "store_id": store_id,
            "stream_kind": int(kind),
            "ves_version": VES_VERSION,
            "tree_depth": depth,
            "leaf_count": count,
            "padded_leaf_count": padded,
            "merkle_root": root,
            "prev_state_root": prev,
            "new_state_root": new_state,
            "sequence_start": sequence_start,
            "sequence_end": sequence_end,
        }
        with connection.cursor() as cursor:
            cursor.execute(INSERT_COMMITMENT, params)
            row = commitment_from_row(cursor.fetchone())
        log_append_and_checkpoint(
            tenant_id=tenant_id,
            store_id=store_id,
            kind=kind,
            old_size=sequence_start - 1,
            entries=leaves,
            batch_id=row.batch_id,
        )
    if anchoring_configured():
        transaction.on_commit(lambda: _enqueue_anchor(row.batch_id))
    logger.info(
        "commitment sealed",
        extra={"batch_id": str(row.batch_id), "stream_kind": int(kind), "leaf_count": count},
    )
    return CommitmentResult(row, created=True)


def _enqueue_anchor(batch_id: uuid.UUID) -> None:
    from commitments.tasks import commitment_anchor_task  # tasks import this module

    commitment_anchor_task.delay(str(batch_id))


def commitment_seal_next(
    *, tenant_id: uuid.UUID, store_id: uuid.UUID, kind: StreamKind, max_events: int
) -> CommitmentResult | None:
    """Seal ``last_end + 1 .. min(head, last_end + max_events)``; ``None`` when nothing is new.

    What the automatic commitment task runs for one stream: safe to run twice or concurrently,
    since the range is derived from the committed state under the stream lock.
    """
    with transaction.atomic():
        advisory_xact_lock(LockNamespace.COMMITMENT_STREAM, stream_lock_key(tenant_id, store_id, int(kind)))
        last = commitment_last(tenant_id=tenant_id, store_id=store_id, kind=kind)
        start = 1 if last is None else last.sequence_end + 1
        head = stream_head(tenant_id=tenant_id, store_id=store_id, kind=kind)
        if head < start:
            return None
        # Nested atomic: the stream lock is re-entrant within this transaction.
        return commitment_create(
            tenant_id=tenant_id,
            store_id=store_id,
            kind=kind,
            sequence_start=start,
            sequence_end=min(head, start + max_events - 1),
        )
