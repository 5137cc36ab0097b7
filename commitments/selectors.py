"""Reads of commitments, of the leaves they seal and of each stream's RFC 6962 log. Never write.

Commitment rows come from the primary (they are small and read right after creation); leaves
are packed by the database in one ordered range scan of the event table of the stream kind.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection

from commitments import errors
from commitments.models import Commitment
from commitments.sql import (
    SELECT_CHAIN_TIPS,
    SELECT_COMMITMENT_BY_ID,
    SELECT_COMMITMENT_BY_RANGE,
    SELECT_COMMITMENT_COVERING,
    SELECT_COMMITMENTS,
    SELECT_LEGACY_LEAF_RECORDS,
    SELECT_PENDING_ANCHORS,
    SELECT_PENDING_STREAMS,
    SELECT_STATE_ROOT_BEFORE,
    SELECT_TENANT_COMMITMENT_BY_ID,
    SELECT_VES_LEAF_RECORDS,
)
from commitments.transparency import CheckpointRow, checkpoint_get, log_open
from sequencer_project.db.tenant_scope import TenantScope, tenant_id_param, visible_or_not_found
from sequencer_project.db.tenant_scope import Visible as Visible  # re-exported: services name the scope type here
from streams.kinds import StreamKind, stream_params
from ves import leaf_records
from ves.hashes import ZERO_HASH


@dataclass(frozen=True, slots=True)
class CommitmentRow:
    """One sealed range. ``merkle_root`` is the VES root or the legacy ``events_root``.

    ``on_request``: a range a client asked for beside the stream's chain (ADR 0020); ``False``
    for the chain's links, which the RFC 6962 log and checkpoints are built from.
    """

    batch_id: uuid.UUID
    tenant_id: uuid.UUID
    store_id: uuid.UUID
    stream_kind: StreamKind
    ves_version: int
    tree_depth: int
    leaf_count: int
    padded_leaf_count: int
    merkle_root: bytes
    prev_state_root: bytes
    new_state_root: bytes
    sequence_start: int
    sequence_end: int
    committed_at: datetime
    chain_id: int | None
    chain_tx_hash: bytes | None
    chain_block_number: int | None
    anchored_at: datetime | None
    on_request: bool

    @property
    def is_anchored(self) -> bool:
        return self.chain_tx_hash is not None


@dataclass(frozen=True, slots=True)
class PendingStream:
    tenant_id: uuid.UUID
    store_id: uuid.UUID
    kind: StreamKind
    head: int
    last_end: int

    @property
    def backlog(self) -> int:
        """Sequenced events no commitment covers yet."""
        return self.head - self.last_end


def commitment_from_row(row: tuple[Any, ...]) -> CommitmentRow:
    return CommitmentRow(
        batch_id=row[0],
        tenant_id=row[1],
        store_id=row[2],
        stream_kind=StreamKind(row[3]),
        ves_version=row[4],
        tree_depth=row[5],
        leaf_count=row[6],
        padded_leaf_count=row[7],
        merkle_root=bytes(row[8]),
        prev_state_root=bytes(row[9]),
        new_state_root=bytes(row[10]),
        sequence_start=row[11],
        sequence_end=row[12],
        committed_at=row[13],
        chain_id=row[14],
        chain_tx_hash=bytes(row[15]) if row[15] is not None else None,
        chain_block_number=row[16],
        anchored_at=row[17],
        on_request=bool(row[18]),
    )


def _one(sql: str, params: dict[str, Any]) -> CommitmentRow | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return commitment_from_row(row) if row is not None else None


def tenant_has_commitments(*, tenant_id: uuid.UUID) -> bool:
    """Whether any commitment, of either stream kind, belongs to ``tenant_id``."""
    return Commitment.objects.filter(tenant_id=tenant_id).exists()


def commitment_get_for_tenant(*, tenant_id: TenantScope, batch_id: uuid.UUID, kind: StreamKind) -> CommitmentRow | None:
    """A commitment of ``tenant_id`` by id; ``None`` when absent, of another tenant or of the other
    stream kind. ``tenant_id`` is the caller's, or ``EVERY_TENANT`` for the bootstrap admin (a
    read by id alone). Callers still check the credential's store scope."""
    params: dict[str, Any] = {"batch_id": batch_id, "stream_kind": int(kind)}
    tenant = tenant_id_param(tenant_id)
    if tenant is None:
        return _one(SELECT_COMMITMENT_BY_ID, params)
    return _one(SELECT_TENANT_COMMITMENT_BY_ID, {**params, "tenant_id": tenant})


def commitment_get_visible(
    *, tenant_id: TenantScope, batch_id: uuid.UUID, kind: StreamKind, visible: Visible
) -> CommitmentRow:
    """:func:`commitment_get_for_tenant` inside the caller's scope ``visible``: 404
    ``commitment_not_found`` when absent, of another tenant or kind, or outside the scope."""
    return visible_or_not_found(
        commitment_get_for_tenant(tenant_id=tenant_id, batch_id=batch_id, kind=kind),
        visible,
        lambda: errors.CommitmentNotFoundError(f"No commitment {batch_id} is visible to this credential."),
    )


def commitment_get_by_range(
    *, tenant_id: uuid.UUID, store_id: uuid.UUID, kind: StreamKind, sequence_start: int, sequence_end: int
) -> CommitmentRow | None:
    """The commitment sealing exactly this range (an on-request one first), for idempotent creation."""
    params = {
        **stream_params(tenant_id, store_id, kind),
        "sequence_start": sequence_start,
        "sequence_end": sequence_end,
    }
    return _one(SELECT_COMMITMENT_BY_RANGE, params)


def state_root_before(*, tenant_id: uuid.UUID, store_id: uuid.UUID, kind: StreamKind, sequence_start: int) -> bytes:
    """The state root an on-request commitment from ``sequence_start`` follows (zeros when none ends before)."""
    with connection.cursor() as cursor:
        cursor.execute(
            SELECT_STATE_ROOT_BEFORE, {**stream_params(tenant_id, store_id, kind), "sequence_start": sequence_start}
        )
        row = cursor.fetchone()
    return bytes(row[0]) if row is not None else ZERO_HASH


@dataclass(frozen=True, slots=True)
class ChainTip:
    """Where a stream's chain stands: its latest link (``None`` before the first) and the head."""

    last: CommitmentRow | None
    head: int

    @property
    def next_start(self) -> int:
        """The first sequence number the chain's next link seals."""
        return 1 if self.last is None else self.last.sequence_end + 1


@dataclass(frozen=True, slots=True)
class StreamRange:
    """``sequence_start .. sequence_end`` of one stream (the kind is the caller's)."""

    tenant_id: uuid.UUID
    store_id: uuid.UUID
    sequence_start: int
    sequence_end: int


def chain_tips(*, kind: StreamKind, streams: Sequence[tuple[uuid.UUID, uuid.UUID]]) -> list[ChainTip]:
    """Each stream's chain's latest commitment and head (``(tenant_id, store_id)`` pairs of one
    kind), in one round trip and one snapshot, in the order given."""
    params: dict[str, Any] = {
        "stream_kind": int(kind),
        "tenant_ids": [tenant_id for tenant_id, _ in streams],
        "store_ids": [store_id for _, store_id in streams],
    }
    with connection.cursor() as cursor:
        cursor.execute(SELECT_CHAIN_TIPS, params)
        rows = cursor.fetchall()
    return [ChainTip(commitment_from_row(row) if row[0] is not None else None, int(row[19])) for row in rows]


def chain_tip(*, tenant_id: uuid.UUID, store_id: uuid.UUID, kind: StreamKind) -> ChainTip:
    """The stream's chain's latest commitment and the stream's head, in one round trip (the
    callers that extend or anchor the chain need both)."""
    return chain_tips(kind=kind, streams=[(tenant_id, store_id)])[0]


def commitment_covering(
    *, tenant_id: uuid.UUID, store_id: uuid.UUID, kind: StreamKind, sequence_number: int
) -> CommitmentRow | None:
    """The chain commitment whose range holds ``sequence_number``."""
    return _one(
        SELECT_COMMITMENT_COVERING, {**stream_params(tenant_id, store_id, kind), "sequence_number": sequence_number}
    )


def commitment_list(
    *,
    kind: StreamKind,
    tenant_id: TenantScope,
    store_id: uuid.UUID | None,
    store_ids: frozenset[uuid.UUID] | None = None,
    anchored: bool | None,
    limit: int,
    offset: int,
) -> list[CommitmentRow]:
    """All commitments of a kind, oldest range first, filtered by tenant (``EVERY_TENANT``: the
    bootstrap admin's list across tenants), store, anchored and a store scope (``store_ids``: only
    those stores; ``None`` or empty: every store)."""
    params: dict[str, Any] = {
        "stream_kind": int(kind),
        "tenant_id": tenant_id_param(tenant_id),
        "store_id": store_id,
        "store_ids": sorted(store_ids) if store_ids else None,
        "anchored": anchored,
        "limit": limit,
        "offset": offset,
    }
    with connection.cursor() as cursor:
        cursor.execute(SELECT_COMMITMENTS, params)
        return [commitment_from_row(row) for row in cursor.fetchall()]


def commitments_pending_anchor(*, limit: int) -> list[CommitmentRow]:
    """Unanchored VES commitments of every tenant, oldest first (the separate anchor service's queue)."""
    with connection.cursor() as cursor:
        cursor.execute(SELECT_PENDING_ANCHORS, {"limit": limit})
        return [commitment_from_row(row) for row in cursor.fetchall()]


def leaf_hashes(
    *, tenant_id: uuid.UUID, store_id: uuid.UUID, kind: StreamKind, sequence_start: int, sequence_end: int
) -> list[bytes]:
    """The leaf hashes of the stored events of ``sequence_start .. sequence_end``, in order
    (:func:`leaf_hashes_of_ranges` for one range)."""
    return leaf_hashes_of_ranges(kind=kind, ranges=[StreamRange(tenant_id, store_id, sequence_start, sequence_end)])[0]


def leaf_hashes_of_ranges(*, kind: StreamKind, ranges: Sequence[StreamRange]) -> list[list[bytes]]:
    """The leaf hashes of the stored events of each range (streams of one kind), in one round
    trip, in the order given.

    VES: ``VES_LEAF_V1`` over the stored signing hash and agent signature. Legacy:
    ``STATESET_COMMITMENT_LEAF_V1`` over the stored payload hash and entity. The database packs
    each range's inputs into one value (``select_*_leaf_records.sql``) and :mod:`ves.leaf_records`
    hashes them; fewer leaves than a range holds means events are missing (callers compare the
    count).
    """
    params: dict[str, Any] = {
        "tenant_ids": [r.tenant_id for r in ranges],
        "store_ids": [r.store_id for r in ranges],
        "sequence_starts": [r.sequence_start for r in ranges],
        "sequence_ends": [r.sequence_end for r in ranges],
    }
    is_ves = kind is StreamKind.VES
    with connection.cursor() as cursor:
        cursor.execute(SELECT_VES_LEAF_RECORDS if is_ves else SELECT_LEGACY_LEAF_RECORDS, params)
        packed = [bytes(row[0]) for row in cursor.fetchall()]
    hash_records = leaf_records.ves_leaves if is_ves else leaf_records.legacy_leaves
    return [
        hash_records(tenant_id=r.tenant_id, store_id=r.store_id, first=r.sequence_start, packed=p)
        for r, p in zip(ranges, packed, strict=True)
    ]


def pending_streams(*, limit: int) -> tuple[list[PendingStream], int]:
    """Up to ``limit`` streams with sequenced events that no commitment covers yet, the least
    recently sealed first (so none waits behind busier ones for more than a few ticks), and the
    largest backlog of any such stream, listed or not (0 when none)."""
    with connection.cursor() as cursor:
        cursor.execute(SELECT_PENDING_STREAMS, {"limit": limit})
        rows = cursor.fetchall()
    streams = [PendingStream(t, s, StreamKind(k), int(head), int(last)) for t, s, k, head, last, _ in rows]
    return streams, int(rows[0][5]) if rows else 0


# --- the RFC 6962 log of a stream (``commitments.transparency``) ----------------------------


def _log_latest(*, tenant_id: uuid.UUID, store_id: uuid.UUID, kind: StreamKind) -> CheckpointRow:
    """The stream's latest checkpoint: 404 ``checkpoint_not_found`` while its log is empty."""
    latest = checkpoint_get(tenant_id=tenant_id, store_id=store_id, kind=kind, tree_size=None)
    if latest is None:
        raise errors.CheckpointNotFoundError("This stream has no commitment yet, so its log is empty.")
    return latest


def _log_size(name: str, size: int | None, latest: CheckpointRow) -> int:
    """The size a client named as ``name`` (the latest when ``None``): 400 ``invalid_tree_size``
    beyond the log's size."""
    if size is None:
        return latest.tree_size
    if size > latest.tree_size:
        raise errors.InvalidTreeSizeError(
            f"'{name}' {size} is beyond the log's size {latest.tree_size}.", tree_size=latest.tree_size
        )
    return size


def log_checkpoint_get(
    *, tenant_id: uuid.UUID, store_id: uuid.UUID, kind: StreamKind, tree_size: int | None
) -> CheckpointRow:
    """The stream's signed checkpoint at ``tree_size`` (the latest when ``None``).

    404 ``checkpoint_not_found`` when the log is empty or no checkpoint was signed at that size,
    400 ``invalid_tree_size`` beyond the log's size, 503 ``checkpoint_signing_unconfigured`` when
    the checkpoint carries no signed note.
    """
    checkpoint = _log_latest(tenant_id=tenant_id, store_id=store_id, kind=kind)
    if tree_size is not None:
        size = _log_size("tree_size", tree_size, checkpoint)
        found = checkpoint_get(tenant_id=tenant_id, store_id=store_id, kind=kind, tree_size=size)
        if found is None:
            raise errors.CheckpointNotFoundError(f"No checkpoint was signed at size {size}.")
        checkpoint = found
    if checkpoint.note is None:
        raise errors.CheckpointUnsignedError("Set VES_SEQUENCER_SIGNING_KEY to sign checkpoints.")
    return checkpoint


@dataclass(frozen=True, slots=True)
class LogInclusionProof:
    """The log entry of ``sequence_number`` (``leaf_index``) and its proof under the log's
    first ``tree_size`` entries, whose root is ``root_hash``."""

    sequence_number: int
    leaf_index: int
    tree_size: int
    leaf_hash: bytes
    root_hash: bytes
    proof: tuple[bytes, ...]


def log_inclusion_proof(
    *, tenant_id: uuid.UUID, store_id: uuid.UUID, kind: StreamKind, sequence_number: int, tree_size: int | None
) -> LogInclusionProof:
    """The inclusion proof of sequence ``sequence_number`` (from 1) in the stream's log at
    ``tree_size`` (the latest when ``None``).

    404 ``checkpoint_not_found`` while the log is empty; 400 ``invalid_tree_size`` for a size
    beyond the log's or a sequence number beyond the size.
    """
    latest = _log_latest(tenant_id=tenant_id, store_id=store_id, kind=kind)
    size = _log_size("tree_size", tree_size, latest)
    if sequence_number > size:
        raise errors.InvalidTreeSizeError(f"Sequence {sequence_number} is not in the log's first {size} entries.")
    index = sequence_number - 1
    log = log_open(tenant_id=tenant_id, store_id=store_id, kind=kind, size=latest.tree_size, proofs_only=True)
    proof = log.inclusion_proof(index, size)
    leaf = log.store.get_nodes([(0, index)])[0]
    return LogInclusionProof(sequence_number, index, size, leaf, log.root(size), tuple(proof))


@dataclass(frozen=True, slots=True)
class LogConsistencyProof:
    """The proof that the log's first ``first`` entries (root ``first_root``) are a prefix of
    its first ``second`` (root ``second_root``)."""

    first: int
    second: int
    first_root: bytes
    second_root: bytes
    proof: tuple[bytes, ...]


def log_consistency_proof(
    *, tenant_id: uuid.UUID, store_id: uuid.UUID, kind: StreamKind, first: int, second: int | None
) -> LogConsistencyProof:
    """The consistency proof between sizes ``first`` and ``second`` (the latest when ``None``) of
    the stream's log.

    404 ``checkpoint_not_found`` while the log is empty; 400 ``invalid_tree_size`` for a
    ``second`` beyond the log's size or a ``first`` beyond ``second``.
    """
    latest = _log_latest(tenant_id=tenant_id, store_id=store_id, kind=kind)
    second = _log_size("second", second, latest)
    if first > second:
        raise errors.InvalidTreeSizeError(f"'first' {first} is beyond 'second' {second}.")
    log = log_open(tenant_id=tenant_id, store_id=store_id, kind=kind, size=latest.tree_size, proofs_only=True)
    proof = log.consistency_proof(first, second) if 0 < first < second else []
    return LogConsistencyProof(first, second, log.root(first), log.root(second), tuple(proof))
