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

from django.conf import settings
from django.db import connection

from commitments.sql import SELECT_LOG_CHECKPOINT, SELECT_LOG_TILES, UPSERT_LOG_TILES
from streams.kinds import StreamKind, stream_params
from ves import rfc6962
from ves.checkpoint import sign_checkpoint
from ves.tiles import TILE_HEIGHT, TILE_WIDTH, TiledNodeStore, TileKey, TileWrite

# Full tiles (256 hashes) never change, so every process keeps the most recently read ones:
# the upper tiles of a stream, which nearly every proof touches, are then read once. 1,024 tiles
# of 8 KB = 8 MB a process at most. Partial tiles (a stream's right edge) are always read afresh.
FULL_TILE_CACHE_SIZE = 1024
_FULL_TILE_BYTES = TILE_WIDTH * 32
_full_tiles: OrderedDict[tuple[uuid.UUID, uuid.UUID, int, int, int], bytes] = OrderedDict()
_full_tiles_lock = threading.Lock()


class PostgresTileStore:
    """:class:`ves.tiles.TileStore` over ``log_tiles`` for one stream: one query per call (ADR 0013)."""

    def __init__(self, tenant_id: uuid.UUID, store_id: uuid.UUID, kind: StreamKind) -> None:
        self.stream = stream_params(tenant_id, store_id, kind)
        self._prefix = (tenant_id, store_id, int(kind))

    def read_tiles(self, keys: Sequence[TileKey]) -> dict[TileKey, bytes]:
        found: dict[TileKey, bytes] = {}
        with _full_tiles_lock:
            for key in keys:
                cached = _full_tiles.get((*self._prefix, *key))
                if cached is not None:
                    _full_tiles.move_to_end((*self._prefix, *key))
                    found[key] = cached
        missing = [key for key in keys if key not in found]
        if not missing:
            return found
        params = {**self.stream, "tile_levels": [k[0] for k in missing], "tile_indexes": [k[1] for k in missing]}
        with connection.cursor() as cursor:
            cursor.execute(SELECT_LOG_TILES, params)
            read = {(level, index): bytes(hashes) for level, index, hashes in cursor.fetchall()}
        with _full_tiles_lock:
            for key, packed in read.items():
                if len(packed) == _FULL_TILE_BYTES:
                    _full_tiles[(*self._prefix, *key)] = packed
            while len(_full_tiles) > FULL_TILE_CACHE_SIZE:
                _full_tiles.popitem(last=False)
        return found | read

    def write_tiles(self, writes: Sequence[TileWrite]) -> None:
        """Caller holds the stream's COMMITMENT_STREAM lock (a tile grows only at its end)."""
        if not writes:
            return
        params = {
            **self.stream,
            "tile_levels": [w.key[0] for w in writes],
            "tile_indexes": [w.key[1] for w in writes],
            "byte_offsets": [w.offset * 32 for w in writes],
            "packed": b"".join(w.hashes for w in writes),
            "starts": list(accumulate((len(w.hashes) for w in writes[:-1]), initial=0)),
            "lengths": [len(w.hashes) for w in writes],
        }
        with connection.cursor() as cursor:
            cursor.execute(UPSERT_LOG_TILES, params)
            written = int(cursor.fetchone()[0])
        if written != len(writes):
            raise rfc6962.ProofError(f"{len(writes) - written} of {len(writes)} log tile writes would leave a gap")


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


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    """A log's new size and root with its signed note (``None`` without a signing key): what
    the commitment that grew the log stores beside itself (``insert_commitment.sql``)."""

    tree_size: int
    root_hash: bytes
    note: str | None


def log_append(
    *, tenant_id: uuid.UUID, store_id: uuid.UUID, kind: StreamKind, old_size: int, entries: Sequence[bytes]
) -> SignedCheckpoint:
    """Append ``entries`` (commitment leaves) to the stream's log and sign the checkpoint of the
    new size; the caller stores it with the commitment, in the same statement.

    Caller holds the stream's COMMITMENT_STREAM lock inside the commitment's transaction.
    """
    log = log_open(tenant_id=tenant_id, store_id=store_id, kind=kind, size=old_size)
    size = log.append([rfc6962.leaf_hash(e) for e in entries])
    root = log.root()
    seed = signing_seed()
    note = (
        sign_checkpoint(
            seed,
            key_name=settings.CHECKPOINT_SEQUENCER_NAME,
            sequencer=log_origin_name(kind),
            tenant_id=tenant_id,
            store_id=store_id,
            tree_size=size,
            root_hash=root,
        )
        if seed is not None
        else None
    )
    return SignedCheckpoint(size, root, note)


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
