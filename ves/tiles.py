"""Tiles: how an RFC 6962 log stores only every eighth level of its node tree.

A log of ``n`` leaves has ``2n - popcount(n)`` complete perfect-subtree nodes
(:mod:`ves.rfc6962`). Storing each as a row costs one index entry per node: 20,000 rows for a
10,000-event commitment. Tiles (the layout of Go's sumdb and of Tessera) keep only the levels
``0, H, 2H, …`` (``H = TILE_HEIGHT = 8``), packed ``TILE_WIDTH = 256`` hashes to a blob:

* tile ``(t, k)`` holds the hashes of nodes ``(t·H, k·256) … (t·H, k·256 + 255)``, 32 bytes each, in
  index order. It fills left to right as the log grows; a *partial* tile (fewer than 256 hashes)
  only ever gains hashes at its end, so every prefix of a stored tile is final.
* Any other complete node ``(t·H + r, i)``, ``0 < r < H``, is the root of the ``2^r`` level-``t·H``
  nodes ``i·2^r … (i+1)·2^r - 1``, which sit in one tile (``2^r ≤ 128`` and aligned), so it is
  recomputed from that tile with ``2^r - 1`` hashes (at most 127).

A 10,000-leaf append therefore writes about 41 tiles instead of 19,996 nodes, and an inclusion
proof in a 1,000,000-leaf log reads about three tiles and hashes a few hundred times. The byte
formats of roots and proofs are unchanged: a :class:`TiledNodeStore` is a
:class:`ves.rfc6962.NodeStore` and gives every node the same hash as a store of every node.

Pure Python, no Django: the server keeps tiles in PostgreSQL (``commitments.transparency``),
tests and benchmarks in :class:`InMemoryTileStore`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from ves.rfc6962 import NodeId, ProofError

__all__ = [
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "InMemoryTileStore",
    "TileKey",
    "TileStore",
    "TileWrite",
    "TiledNodeStore",
    "node_location",
    "subtree_root",
    "tile_nodes",
    "tile_writes",
]

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
_HASH_LEN = 32
_sha256 = hashlib.sha256

#: ``(tile_level, tile_index)``: tile ``k`` of the stored level ``tile_level · TILE_HEIGHT``.
TileKey = tuple[int, int]


@dataclass(frozen=True, slots=True)
class TileWrite:
    """Hashes to store in tile ``key`` from hash position ``offset`` on (``hashes`` is packed)."""

    key: TileKey
    offset: int
    hashes: bytes


def node_location(node: NodeId) -> tuple[TileKey, int, int]:
    """Where node ``(level, index)`` lives: its tile, the first hash position in it, and how many
    consecutive hashes of the tile it is the root of (1 for a node of a stored level)."""
    level, index = node
    tile_level, rise = divmod(level, TILE_HEIGHT)
    first = index << rise
    return (tile_level, first >> TILE_HEIGHT), first & (TILE_WIDTH - 1), 1 << rise


def subtree_root(packed: bytes | bytearray | memoryview, offset: int, count: int) -> bytes:
    """The root of the perfect subtree over ``count`` (a power of two) hashes of a packed tile,
    starting at hash position ``offset``: ``count - 1`` RFC 6962 node hashes."""
    start = offset * _HASH_LEN
    run = [bytes(packed[p : p + _HASH_LEN]) for p in range(start, start + count * _HASH_LEN, _HASH_LEN)]
    if len(run) != count:
        raise KeyError(offset + count - 1)
    sha256, prefix = _sha256, b"\x01"
    while len(run) > 1:
        run = [sha256(prefix + left + right).digest() for left, right in zip(run[0::2], run[1::2], strict=True)]
    return run[0]


def tile_writes(nodes: Iterable[tuple[NodeId, bytes]]) -> list[TileWrite]:
    """The tile writes that persist ``nodes`` (the output of ``CompactRange.extend``).

    Nodes of levels that are not multiples of ``TILE_HEIGHT`` are dropped (they are recomputed on
    read). Within a level, nodes must come in consecutive index order, as ``extend`` creates them.
    A tight loop: 10,000 leaves of one append are sliced into about 40 writes.
    """
    writes: list[TileWrite] = []
    seen: set[TileKey] = set()
    run: list[bytes] = []
    key: TileKey = (-1, -1)
    first = level_of_run = next_index = -1
    for (level, index), value in nodes:
        if level % TILE_HEIGHT:
            continue
        if level == level_of_run and index == next_index and index & (TILE_WIDTH - 1):
            run.append(value)
            next_index += 1
            continue
        if run:
            writes.append(TileWrite(key, first, b"".join(run)))
        key = (level // TILE_HEIGHT, index >> TILE_HEIGHT)
        if key in seen:
            raise ProofError(f"node {(level, index)} does not follow the previous node of its tile")
        seen.add(key)
        run, first, level_of_run, next_index = [value], index & (TILE_WIDTH - 1), level, index + 1
    if run:
        writes.append(TileWrite(key, first, b"".join(run)))
    return writes


def tile_nodes(key: TileKey, packed: bytes) -> list[tuple[NodeId, bytes]]:
    """Every complete node a stored tile determines: its own hashes and the levels above them up
    to the next stored level (used to expand tiles back into a node-per-row table)."""
    tile_level, tile_index = key
    base = tile_level * TILE_HEIGHT
    run = [packed[p : p + _HASH_LEN] for p in range(0, len(packed), _HASH_LEN)]
    out: list[tuple[NodeId, bytes]] = []
    for rise in range(TILE_HEIGHT):
        first = (tile_index << TILE_HEIGHT) >> rise
        out.extend(((base + rise, first + offset), value) for offset, value in enumerate(run))
        run = [node(left, right) for left, right in zip(run[0::2], run[1::2], strict=False)]
    return out


def node(left: bytes, right: bytes) -> bytes:
    return _sha256(b"\x01" + left + right).digest()


class TileStore(Protocol):
    """Where tiles are kept: one packed blob per :data:`TileKey`."""

    def read_tiles(self, keys: Sequence[TileKey]) -> dict[TileKey, bytes]:
        """The stored tiles among ``keys`` (absent ones are left out)."""
        ...

    def write_tiles(self, writes: Sequence[TileWrite]) -> None:
        """Store hashes at their offsets, extending tiles (idempotent for hashes already stored)."""
        ...


class InMemoryTileStore:
    """A :class:`TileStore` in a dict; refuses a write that would leave a gap or change a hash."""

    def __init__(self) -> None:
        self.tiles: dict[TileKey, bytes] = {}

    def read_tiles(self, keys: Sequence[TileKey]) -> dict[TileKey, bytes]:
        """See :meth:`TileStore.read_tiles`."""
        return {key: self.tiles[key] for key in keys if key in self.tiles}

    def write_tiles(self, writes: Sequence[TileWrite]) -> None:
        """See :meth:`TileStore.write_tiles`."""
        for write in writes:
            old = self.tiles.get(write.key, b"")
            start = write.offset * _HASH_LEN
            if start > len(old):
                raise ProofError(
                    f"tile {write.key} has {len(old) // _HASH_LEN} hashes; a write at {write.offset} leaves a gap"
                )
            overlap = old[start : start + len(write.hashes)]
            if overlap != write.hashes[: len(overlap)]:
                raise ProofError(f"tile {write.key} already holds different hashes at {write.offset}")
            self.tiles[write.key] = old[:start] + write.hashes + old[start + len(write.hashes) :]


class TiledNodeStore:
    """A :class:`ves.rfc6962.NodeStore` over a :class:`TileStore`.

    ``get_nodes`` reads every tile the requested nodes need in one ``read_tiles`` call and keeps
    the tiles for the life of the object (a stored prefix never changes), so a log opened for one
    request reads each tile once. ``reads`` counts node lookups, ``tile_reads`` tiles fetched.
    """

    def __init__(self, tiles: TileStore) -> None:
        self.tiles = tiles
        self.reads = 0
        self.tile_reads = 0
        self._cache: dict[TileKey, bytes] = {}
        self._derived: dict[NodeId, bytes] = {}

    def get_nodes(self, ids: Sequence[NodeId]) -> list[bytes]:
        """See :meth:`ves.rfc6962.NodeStore.get_nodes`."""
        located = [node_location(i) for i in ids]
        missing = list(dict.fromkeys(key for key, _, _ in located if key not in self._cache))
        if missing:
            self._cache.update(self.tiles.read_tiles(missing))
            self.tile_reads += len(missing)
        out: list[bytes] = []
        for node_id, (key, offset, count) in zip(ids, located, strict=True):
            packed = self._cache.get(key)
            if packed is None or (offset + count) * _HASH_LEN > len(packed):
                raise KeyError(node_id)
            if count == 1:
                out.append(packed[offset * _HASH_LEN : (offset + 1) * _HASH_LEN])
                continue
            derived = self._derived.get(node_id)
            if derived is None:
                # A proof and the root of the same size share their right-edge subtrees.
                derived = self._derived[node_id] = subtree_root(packed, offset, count)
            out.append(derived)
        self.reads += len(ids)
        return out

    def put_nodes(self, nodes: Sequence[tuple[NodeId, bytes]]) -> None:
        """See :meth:`ves.rfc6962.NodeStore.put_nodes`: one ``write_tiles`` call."""
        writes = tile_writes(nodes)
        if writes:
            self.tiles.write_tiles(writes)
        for write in writes:
            self._cache.pop(write.key, None)
        self._derived.clear()
