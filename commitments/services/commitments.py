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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from commitments import errors
from commitments.anchor_chain import anchoring_configured
from commitments.selectors import (
    ChainTip,
    CommitmentRow,
    StreamRange,
    chain_tip,
    chain_tips,
    commitment_from_row,
    commitment_get_by_range,
    leaf_hashes_of_ranges,
    state_root_before,
)
from commitments.sql import INSERT_COMMITMENT, LOCK_COMMITMENT_STREAMS
from commitments.transparency import LogAppend, log_append_many
from sequencer_project.celery import task_enqueue_on_commit
from sequencer_project.db.locks import LockNamespace, advisory_xact_lock, stream_lock_key
from streams.kinds import StreamKind
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


def _lock_streams(kind: StreamKind, streams: Sequence[tuple[uuid.UUID, uuid.UUID]]) -> None:
    """The streams' COMMITMENT_STREAM locks, ascending by key (``lock_commitment_streams.sql``)."""
    keys = sorted({stream_lock_key(tenant_id, store_id, int(kind)) for tenant_id, store_id in streams})
    with connection.cursor() as cursor:
        cursor.execute(LOCK_COMMITMENT_STREAMS, {"namespace": int(LockNamespace.COMMITMENT_STREAM), "keys": keys})


def commitment_create(
    *, tenant_id: uuid.UUID, store_id: uuid.UUID, kind: StreamKind, sequence_start: int, sequence_end: int
) -> CommitmentResult:
    """Seal ``sequence_start .. sequence_end`` of a stream as a client asked; the same range again
    returns the same row.

    Any range ``1 ≤ start ≤ end ≤ head`` is accepted (400 ``commitment_beyond_head`` past the
    head). A range that starts at or past the chain's end becomes the chain's next link: the
    events before it are sealed into the chain first (:func:`_seal_chain_through`), so its
    ``prev_state_root`` is the chain's and never depends on when the beat ran, and the beat never
    seals the same range again with other roots. A range that starts inside the sealed chain is an
    on-request commitment (ADR 0020). A request seals at most :func:`gap_events_max` events
    before its range: further behind (the automatic sealing stopped or fell behind), it answers
    503 ``commitment_chain_behind`` and hands the stream to ``commitments.stream_commit``.
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
        gap = sequence_start - tip.next_start
        if gap <= gap_events_max():
            if gap > 0:
                tip = _seal_chain_through(tenant_id, store_id, kind, tip, sequence_start - 1)
            if sequence_start == tip.next_start:
                prev, on_request = (tip.last.new_state_root if tip.last is not None else ZERO_HASH), False
            else:
                prev = state_root_before(
                    tenant_id=tenant_id, store_id=store_id, kind=kind, sequence_start=sequence_start
                )
                on_request = True
            seal = _Seal(tenant_id, store_id, sequence_start, sequence_end, prev, on_request)
            return CommitmentResult(_seal_many(kind, [seal])[0], created=True)
    task_enqueue_on_commit("commitments.stream_commit", str(tenant_id), str(store_id), int(kind))  # sent now
    raise errors.CommitmentChainBehindError(
        f"The stream's chain ends {gap} events before sequence_start {sequence_start}; it is being sealed."
        " Retry shortly.",
        headers={"Retry-After": "2"},
    )


def link_events_max() -> int:
    """The most events one link of a chain seals, whoever seals it (the tick, a task, a request)."""
    return min(settings.COMMITMENT_MAX_EVENTS, MAX_COMMITMENT_EVENTS)


def gap_events_max() -> int:
    """The most events a client's request seals into the chain before its own range: two links."""
    return 2 * link_events_max()


def _seal_chain_through(
    tenant_id: uuid.UUID, store_id: uuid.UUID, kind: StreamKind, tip: ChainTip, sequence_end: int
) -> ChainTip:
    """Extend the stream's chain through ``sequence_end`` (links of up to :func:`link_events_max`,
    as the beat seals them) and return its new tip. Caller holds the transaction and the stream's
    COMMITMENT_STREAM lock."""
    while tip.next_start <= sequence_end:
        end = min(sequence_end, tip.next_start + link_events_max() - 1)
        prev = tip.last.new_state_root if tip.last is not None else ZERO_HASH
        link = _seal_many(kind, [_Seal(tenant_id, store_id, tip.next_start, end, prev, on_request=False)])[0]
        tip = ChainTip(link, tip.head)
    return tip


@dataclass(frozen=True, slots=True)
class _Seal:
    """One range to seal: a link of the stream's chain, or an on-request commitment."""

    tenant_id: uuid.UUID
    store_id: uuid.UUID
    sequence_start: int
    sequence_end: int
    prev_state_root: bytes
    on_request: bool


def _seal_many(kind: StreamKind, seals: Sequence[_Seal]) -> list[CommitmentRow]:
    """Build the tree of each range and store the commitments; chain links also grow their logs
    and store the signed checkpoints with the commitments. Three statements whatever the number of
    ranges (leaf records, and for links the frontier tiles and the tile writes) and one more that
    writes every commitment and checkpoint.

    Caller holds the transaction and the ranges' streams' COMMITMENT_STREAM locks and checked the
    ranges (links: at most one per stream).
    """
    ranges = [StreamRange(s.tenant_id, s.store_id, s.sequence_start, s.sequence_end) for s in seals]
    leaves_of = leaf_hashes_of_ranges(kind=kind, ranges=ranges)
    trees = [_tree(kind, seal, leaves) for seal, leaves in zip(seals, leaves_of, strict=True)]
    links = [(seal, leaves) for seal, leaves in zip(seals, leaves_of, strict=True) if not seal.on_request]
    signed = iter(
        log_append_many(
            kind=kind,
            appends=[LogAppend(s.tenant_id, s.store_id, s.sequence_start - 1, leaves) for s, leaves in links],
        )
    )
    checkpoints = [None if seal.on_request else next(signed) for seal in seals]
    params: dict[str, Any] = {
        "stream_kind": int(kind),
        "ves_version": VES_VERSION,
        "batch_ids": [uuid.uuid4() for _ in seals],
        "tenant_ids": [s.tenant_id for s in seals],
        "store_ids": [s.store_id for s in seals],
        "tree_depths": [t.depth for t in trees],
        "leaf_counts": [t.count for t in trees],
        "padded_leaf_counts": [t.padded for t in trees],
        "merkle_roots": [t.root for t in trees],
        "prev_state_roots": [s.prev_state_root for s in seals],
        "new_state_roots": [t.new_state_root for t in trees],
        "sequence_starts": [s.sequence_start for s in seals],
        "sequence_ends": [s.sequence_end for s in seals],
        "on_requests": [s.on_request for s in seals],
        "tree_sizes": [c.tree_size if c else None for c in checkpoints],
        "root_hashes": [c.root_hash if c else None for c in checkpoints],
        "notes": [c.note if c else None for c in checkpoints],
    }
    with connection.cursor() as cursor:
        cursor.execute(INSERT_COMMITMENT, params)
        rows = [commitment_from_row(row) for row in cursor.fetchall()]
    anchoring = anchoring_configured()
    for row in rows:
        if anchoring:
            task_enqueue_on_commit("commitments.commitment_anchor", str(row.tenant_id), str(row.batch_id))
        logger.debug(
            "commitment sealed",
            extra={
                "batch_id": str(row.batch_id),
                "stream_kind": int(kind),
                "leaf_count": row.leaf_count,
                "on_request": row.on_request,
            },
        )
    return rows


@dataclass(frozen=True, slots=True)
class _Tree:
    root: bytes
    depth: int
    count: int
    padded: int
    new_state_root: bytes


def _tree(kind: StreamKind, seal: _Seal, leaves: list[bytes]) -> _Tree:
    """The range's Merkle tree and the state root it moves its stream to; raises when events of
    the range are missing."""
    count = seal.sequence_end - seal.sequence_start + 1
    if len(leaves) != count:
        raise errors.CommitmentEventsMissingError(
            f"Only {len(leaves)} of the {count} events of {seal.sequence_start}..{seal.sequence_end} are stored."
        )
    if kind is StreamKind.VES:
        root = ves_merkle.merkle_root(leaves)
        depth, padded = ves_merkle.tree_depth(count), ves_merkle.padded_leaf_count(count)
    else:
        root = legacy_merkle.events_root(leaves)
        depth, padded = max(count - 1, 0).bit_length(), count
    new_state = ves_merkle.state_root(
        stream_id=stream_id(seal.tenant_id, seal.store_id),
        prev_state_root=seal.prev_state_root,
        merkle_root=root,
        sequence_start=seal.sequence_start,
        sequence_end=seal.sequence_end,
        leaf_count=count,
    )
    return _Tree(root, depth, count, padded, new_state)


def commitment_seal_next(
    *, tenant_id: uuid.UUID, store_id: uuid.UUID, kind: StreamKind, max_events: int
) -> CommitmentResult | None:
    """Extend the chain by ``last_end + 1 .. min(head, last_end + max_events)``; ``None`` when nothing is new.

    What the automatic commitment task runs for one stream (:func:`commitment_seal_streams` of
    one): safe to run twice or concurrently, since the range is derived from the committed chain
    under the stream lock. An on-request commitment of the same range does not stand in for the
    chain's link.
    """
    rows = commitment_seal_streams(kind=kind, streams=[(tenant_id, store_id)], max_events=max_events)
    return CommitmentResult(rows[0], created=True) if rows else None


def commitment_seal_streams(
    *, kind: StreamKind, streams: Sequence[tuple[uuid.UUID, uuid.UUID]], max_events: int
) -> list[CommitmentRow]:
    """Extend the chains of several streams of one kind, each by ``last_end + 1 .. min(head,
    last_end + max_events)``, in one transaction; the new links (none for a stream with nothing
    new). :func:`commitment_extend_chains` without what is left."""
    return commitment_extend_chains(kind=kind, streams=streams, max_events=max_events).links


@dataclass(frozen=True, slots=True)
class ChainsExtended:
    """What :func:`commitment_extend_chains` sealed, and what it left."""

    links: list[CommitmentRow]
    # Events each stream still has past its new link, as its head stood under the lock: only
    # streams with some (a range capped at ``max_events``), keyed ``(tenant_id, store_id)``.
    left: dict[tuple[uuid.UUID, uuid.UUID], int]


def commitment_extend_chains(
    *, kind: StreamKind, streams: Sequence[tuple[uuid.UUID, uuid.UUID]], max_events: int
) -> ChainsExtended:
    """Extend the chains of several streams of one kind, each by ``last_end + 1 .. min(head,
    last_end + max_events)``, in one transaction; the new links and the events each stream still
    has beyond its link (the automatic sealers seal such a stream again: ``docs/commitments.md``,
    "Automatic commitments").

    Six statements whatever the number of streams: the streams' locks (ascending, so two callers
    never deadlock), their chain tips, and :func:`_seal_many`'s four. A seal's cost is then mostly
    its events', not a round trip per statement per stream: the commitment tick seals a
    transaction's worth of streams at once (``docs/commitments.md``). All or nothing: one stream's
    failure rolls every one of them back (the tick then seals them one by one).
    """
    if len(set(streams)) != len(streams):
        raise ValueError("each stream at most once")
    with transaction.atomic():
        _lock_streams(kind, streams)
        tips = chain_tips(kind=kind, streams=streams)
        seals = [
            _Seal(
                tenant_id,
                store_id,
                tip.next_start,
                min(tip.head, tip.next_start + max_events - 1, tip.next_start + MAX_COMMITMENT_EVENTS - 1),
                tip.last.new_state_root if tip.last is not None else ZERO_HASH,
                on_request=False,
            )
            for (tenant_id, store_id), tip in zip(streams, tips, strict=True)
            if tip.head >= tip.next_start
        ]
        links = _seal_many(kind, seals) if seals else []
    heads = {stream: tip.head for stream, tip in zip(streams, tips, strict=True)}
    left = {
        (link.tenant_id, link.store_id): heads[(link.tenant_id, link.store_id)] - link.sequence_end
        for link in links
        if heads[(link.tenant_id, link.store_id)] > link.sequence_end
    }
    return ChainsExtended(links, left)
