"""The RFC 6962 log of every stream, stored in PostgreSQL (``docs/adr/0005-transparency-log-entries.md``).

Entry ``i`` of a stream's log is the commitment leaf of sequence ``i + 1`` (the VES leaf for a
VES stream, the legacy leaf for a legacy stream); the log's leaf hash is
``H(0x00 || entry)``. The log grows only when a commitment is sealed, in the same transaction and
under the same stream lock, so its size is always the last commitment's ``sequence_end`` and
every commitment has a checkpoint. The nodes are stored as tiles (``ves.tiles``, ADR 0013).
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import accumulate
from typing import Any

from django.conf import settings
from django.db import connection

from commitments.sql import SELECT_LOG_CHECKPOINT, SELECT_LOG_TILES, UPSERT_LOG_TILES
from streams.kinds import StreamKind, stream_params
from ves import rfc6962
from ves.checkpoint import key_id, sign_checkpoint
from ves.signing import public_key_from_seed
from ves.tiles import TILE_HEIGHT, TILE_WIDTH, TiledNodeStore, TileKey, TileWrite, node_location

# Full tiles (256 hashes) never change, so every process keeps the most recently read ones:
# the upper tiles of a stream, which nearly every proof touches, are then read once. 1,024 tiles
# of 8 KB = 8 MB a process at most. Partial tiles (a stream's right edge) are always read afresh.
FULL_TILE_CACHE_SIZE = 1024
_FULL_TILE_BYTES = TILE_WIDTH * 32
_full_tiles: OrderedDict[tuple[uuid.UUID, uuid.UUID, int, int, int], bytes] = OrderedDict()
_full_tiles_lock = threading.Lock()


_TileRef = tuple[uuid.UUID, uuid.UUID, TileKey]  # a tile of one stream's log: tenant, store, key


def _read_tiles(kind: StreamKind, wanted: Sequence[_TileRef]) -> dict[_TileRef, bytes]:
    """Tiles of the logs of one kind, several streams' in one query; absent ones are left out.
    Full tiles come from (and go to) the process cache."""
    found: dict[_TileRef, bytes] = {}
    with _full_tiles_lock:
        for tenant_id, store_id, key in wanted:
            cache_key = (tenant_id, store_id, int(kind), *key)
            cached = _full_tiles.get(cache_key)
            if cached is not None:
                _full_tiles.move_to_end(cache_key)
                found[(tenant_id, store_id, key)] = cached
    missing = [ref for ref in dict.fromkeys(wanted) if ref not in found]
    if not missing:
        return found
    params: dict[str, Any] = {
        "stream_kind": int(kind),
        "tenant_ids": [ref[0] for ref in missing],
        "store_ids": [ref[1] for ref in missing],
        "tile_levels": [ref[2][0] for ref in missing],
        "tile_indexes": [ref[2][1] for ref in missing],
    }
    with connection.cursor() as cursor:
        cursor.execute(SELECT_LOG_TILES, params)
        read = {missing[position - 1]: bytes(hashes) for position, hashes in cursor.fetchall()}
    with _full_tiles_lock:
        for (tenant_id, store_id, key), packed in read.items():
            if len(packed) == _FULL_TILE_BYTES:
                _full_tiles[(tenant_id, store_id, int(kind), *key)] = packed
        while len(_full_tiles) > FULL_TILE_CACHE_SIZE:
            _full_tiles.popitem(last=False)
    return found | read


def _write_tiles(kind: StreamKind, writes: Sequence[tuple[uuid.UUID, uuid.UUID, TileWrite]]) -> None:
    """Store tile writes of several streams' logs in one statement. Caller holds each stream's
    COMMITMENT_STREAM lock (a tile grows only at its end)."""
    if not writes:
        return
    params: dict[str, Any] = {
        "stream_kind": int(kind),
        "tenant_ids": [tenant_id for tenant_id, _, _ in writes],
        "store_ids": [store_id for _, store_id, _ in writes],
        "tile_levels": [w.key[0] for _, _, w in writes],
        "tile_indexes": [w.key[1] for _, _, w in writes],
        "byte_offsets": [w.offset * 32 for _, _, w in writes],
        "packed": b"".join(w.hashes for _, _, w in writes),
        "starts": list(accumulate((len(w.hashes) for _, _, w in writes[:-1]), initial=0)),
        "lengths": [len(w.hashes) for _, _, w in writes],
    }
    with connection.cursor() as cursor:
        cursor.execute(UPSERT_LOG_TILES, params)
        written = int(cursor.fetchone()[0])
    if written != len(writes):
        raise rfc6962.ProofError(f"{len(writes) - written} of {len(writes)} log tile writes would leave a gap")


class PostgresTileStore:
    """:class:`ves.tiles.TileStore` over ``log_tiles`` for one stream: one query per call (ADR 0013)."""

    def __init__(self, tenant_id: uuid.UUID, store_id: uuid.UUID, kind: StreamKind) -> None:
        self.tenant_id, self.store_id, self.kind = tenant_id, store_id, kind

    def read_tiles(self, keys: Sequence[TileKey]) -> dict[TileKey, bytes]:
        read = _read_tiles(self.kind, [(self.tenant_id, self.store_id, key) for key in keys])
        return {ref[2]: packed for ref, packed in read.items()}

    def write_tiles(self, writes: Sequence[TileWrite]) -> None:
        """Caller holds the stream's COMMITMENT_STREAM lock (a tile grows only at its end)."""
        _write_tiles(self.kind, [(self.tenant_id, self.store_id, w) for w in writes])


class _AppendingTileStore(PostgresTileStore):
    """One stream's tiles while :func:`log_append_many` grows several logs: reads come from the
    tiles read for all of them at once (the database for any other), writes wait in ``pending``
    for the one statement that stores them all."""

    def __init__(
        self,
        tenant_id: uuid.UUID,
        store_id: uuid.UUID,
        kind: StreamKind,
        read: dict[_TileRef, bytes],
        pending: list[tuple[uuid.UUID, uuid.UUID, TileWrite]],
    ) -> None:
        super().__init__(tenant_id, store_id, kind)
        self._read, self._pending = read, pending

    def read_tiles(self, keys: Sequence[TileKey]) -> dict[TileKey, bytes]:
        found = {key: self._read[ref] for key in keys if (ref := (self.tenant_id, self.store_id, key)) in self._read}
        unread = [key for key in keys if (self.tenant_id, self.store_id, key) not in self._read]
        return found | (super().read_tiles(unread) if unread else {})

    def write_tiles(self, writes: Sequence[TileWrite]) -> None:
        self._pending.extend((self.tenant_id, self.store_id, w) for w in writes)


def log_open(
    *, tenant_id: uuid.UUID, store_id: uuid.UUID, kind: StreamKind, size: int, proofs_only: bool = False
) -> rfc6962.MerkleLog:
    """The stream's log at ``size`` leaves.

    Appending needs the frontier (one tile query, here). ``proofs_only`` skips it: a proof or
    root then reads just the tiles it needs, in one query, and the log's node store keeps them,
    so the leaf and root of the same request usually need no further query.
    """
    store = TiledNodeStore(PostgresTileStore(tenant_id, store_id, kind))
    return rfc6962.MerkleLog(store, size, level_stride=TILE_HEIGHT, load_frontier=not proofs_only)


def log_origin_name(kind: StreamKind) -> str:
    """The ``<sequencer>`` part of the origin line: the configured name and the stream kind."""
    return f"{settings.CHECKPOINT_SEQUENCER_NAME}/{'ves' if kind is StreamKind.VES else 'legacy'}"


def signing_seed() -> bytes | None:
    raw = settings.VES_SEQUENCER_SIGNING_KEY.removeprefix("0x")
    return bytes.fromhex(raw) if raw else None


def previous_signing_seeds() -> tuple[bytes, ...]:
    """The seeds of ``VES_SEQUENCER_PREVIOUS_SIGNING_KEYS`` (comma-separated hex, blanks skipped):
    keys rotated out that still cosign every new checkpoint during the rotation window, so a
    verifier holding only an old public key is not stranded (``docs/proofs.md``, "Rotating the
    sequencer key"). ``sequencer.E017`` refuses a malformed value at start."""
    return tuple(
        bytes.fromhex(part.strip().removeprefix("0x"))
        for part in settings.VES_SEQUENCER_PREVIOUS_SIGNING_KEYS.split(",")
        if part.strip()
    )


@dataclass(frozen=True, slots=True)
class SequencerKey:
    """One Ed25519 key the sequencer signs with: its public key and the key id its note signature
    lines carry (``ves.checkpoint.key_id``: the first 4 bytes of SHA-256 over the key name, 0x0A,
    0x01 and the key)."""

    public_key: bytes
    note_key_id: bytes
    current: bool


def sequencer_keys() -> list[SequencerKey]:
    """The keys checkpoints are signed with now: ``VES_SEQUENCER_SIGNING_KEY`` (which also signs
    VES receipts) first, then the rotated-out ones that still cosign (none without a signing key)."""
    seed = signing_seed()
    if seed is None:
        return []
    name = settings.CHECKPOINT_SEQUENCER_NAME
    publics = [(public_key_from_seed(s), i == 0) for i, s in enumerate((seed, *previous_signing_seeds()))]
    return [SequencerKey(public, key_id(name, public), current) for public, current in publics]


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    """A log's new size and root with its signed note (``None`` without a signing key): what
    the commitment that grew the log stores beside itself (``insert_commitment.sql``)."""

    tree_size: int
    root_hash: bytes
    note: str | None


@dataclass(frozen=True, slots=True)
class LogAppend:
    """Leaves to append to one stream's log, which has ``old_size`` of them now."""

    tenant_id: uuid.UUID
    store_id: uuid.UUID
    old_size: int
    entries: Sequence[bytes]


def log_append_many(*, kind: StreamKind, appends: Sequence[LogAppend]) -> list[SignedCheckpoint]:
    """Append to the logs of several streams of one kind (each at most once) and sign each new
    checkpoint, in two statements whatever their number: one reads every log's frontier tiles,
    one writes every completed tile. The callers store the checkpoints with their commitments.

    Caller holds each stream's COMMITMENT_STREAM lock inside the commitments' transaction.
    """
    streams = [(a.tenant_id, a.store_id) for a in appends]
    if len(set(streams)) != len(streams):
        raise ValueError("a stream's log is appended to at most once per call")
    read = _read_tiles(kind, [(a.tenant_id, a.store_id, key) for a in appends for key in _frontier_tiles(a.old_size)])
    pending: list[tuple[uuid.UUID, uuid.UUID, TileWrite]] = []
    seed = signing_seed()
    previous = previous_signing_seeds() if seed is not None else ()
    checkpoints: list[SignedCheckpoint] = []
    for a in appends:
        store = TiledNodeStore(_AppendingTileStore(a.tenant_id, a.store_id, kind, read, pending))
        log = rfc6962.MerkleLog(store, a.old_size, level_stride=TILE_HEIGHT)
        size = log.append([rfc6962.leaf_hash(e) for e in a.entries])
        root = log.root()  # from the in-memory frontier: the pending writes are never read back
        note = (
            sign_checkpoint(
                seed,
                key_name=settings.CHECKPOINT_SEQUENCER_NAME,
                sequencer=log_origin_name(kind),
                tenant_id=a.tenant_id,
                store_id=a.store_id,
                tree_size=size,
                root_hash=root,
                also_by=previous,
            )
            if seed is not None
            else None
        )
        checkpoints.append(SignedCheckpoint(size, root, note))
    _write_tiles(kind, pending)
    return checkpoints


def _frontier_tiles(size: int) -> list[TileKey]:
    """The tiles holding the frontier of a log of ``size`` leaves (what an append reads)."""
    return list(dict.fromkeys(node_location(node)[0] for node in rfc6962.CompactRange.node_ids_for(size)))


@dataclass(frozen=True, slots=True)
class CheckpointRow:
    tree_size: int
    root_hash: bytes
    note: str | None
    batch_id: uuid.UUID
    created_at: datetime


def checkpoint_get(
    *, tenant_id: uuid.UUID, store_id: uuid.UUID, kind: StreamKind, tree_size: int | None
) -> CheckpointRow | None:
    """The checkpoint at ``tree_size`` (the latest when ``None``)."""
    with connection.cursor() as cursor:
        cursor.execute(SELECT_LOG_CHECKPOINT, {**stream_params(tenant_id, store_id, kind), "tree_size": tree_size})
        row = cursor.fetchone()
    if row is None:
        return None
    return CheckpointRow(int(row[0]), bytes(row[1]), row[2], row[3], row[4])
