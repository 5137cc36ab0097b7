"""Tiles (``ves.tiles``): a log that stores every eighth level proves exactly like one that stores all."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ves import rfc6962
from ves.tiles import (
    TILE_HEIGHT,
    TILE_WIDTH,
    InMemoryTileStore,
    TiledNodeStore,
    TileWrite,
    node_location,
    tile_nodes,
    tile_writes,
)


def leaves(count: int, seed: int = 0) -> list[bytes]:
    return [rfc6962.leaf_hash(hashlib.sha256(f"{seed}:{i}".encode()).digest()) for i in range(count)]


def tiled_log(batches: list[int], seed: int = 0) -> tuple[rfc6962.MerkleLog, InMemoryTileStore, list[bytes]]:
    tiles = InMemoryTileStore()
    data = leaves(sum(batches), seed)
    size = 0
    for batch in batches:
        log = rfc6962.MerkleLog(TiledNodeStore(tiles), size, level_stride=TILE_HEIGHT)
        log.append(data[size : size + batch])
        size += batch
    return rfc6962.MerkleLog(TiledNodeStore(tiles), size, level_stride=TILE_HEIGHT), tiles, data


@settings(max_examples=40, deadline=None)
@given(
    batches=st.lists(st.integers(min_value=1, max_value=700), min_size=1, max_size=5),
    picks=st.lists(st.integers(min_value=0, max_value=10**9), min_size=4, max_size=4),
)
def test_tiled_roots_and_proofs_equal_the_rfc_definitions(batches: list[int], picks: list[int]) -> None:
    log, _, data = tiled_log(batches)
    n = len(data)
    for size in {1, n, 1 + picks[0] % n, 1 + picks[1] % n}:
        assert log.root(size) == rfc6962.root(data[:size])
        index = picks[2] % size
        assert log.inclusion_proof(index, size) == rfc6962.inclusion_proof(index, data[:size])
        old = picks[3] % (size + 1)
        assert log.consistency_proof(old, size) == rfc6962.consistency_proof(old, data[:size])


def test_a_log_past_two_tile_levels_matches_the_node_per_row_store() -> None:
    """70,000 leaves reach level 16 (the third stored level); every node agrees with a full store."""
    count = 70_000
    _, tiles, data = tiled_log([30_000, 1, 39_999])
    full = rfc6962.InMemoryNodeStore()
    rfc6962.MerkleLog(full, 0).append(data)
    assert {key[0] for key in tiles.tiles} == {0, 1, 2}
    assert len(tiles.tiles) == -(-count // TILE_WIDTH) + -(-(count >> 8) // TILE_WIDTH) + 1
    expanded = dict(node for key, packed in tiles.tiles.items() for node in tile_nodes(key, packed))
    assert len(expanded) == full.node_count() - sum(1 for level in range(17, 64) if count >> level)
    for node_id, value in expanded.items():
        assert full.get_nodes([node_id]) == [value]
    reader = TiledNodeStore(tiles)
    for index in (0, 255, 256, 65_535, 65_536, count - 1):
        proof = rfc6962.MerkleLog(reader, count, level_stride=TILE_HEIGHT).inclusion_proof(index)
        assert proof == rfc6962.MerkleLog(full, count).inclusion_proof(index)
    assert reader.tile_reads <= 12  # a handful of tiles, never a rehash of the stream


def test_a_tile_write_that_would_leave_a_gap_or_change_a_hash_is_refused() -> None:
    tiles = InMemoryTileStore()
    tiles.write_tiles([TileWrite((0, 0), 0, b"\x01" * 64)])
    tiles.write_tiles([TileWrite((0, 0), 1, b"\x01" * 32 + b"\x02" * 32)])  # idempotent overlap, then growth
    assert tiles.tiles[(0, 0)] == b"\x01" * 64 + b"\x02" * 32
    with pytest.raises(rfc6962.ProofError, match="gap"):
        tiles.write_tiles([TileWrite((0, 0), 4, b"\x03" * 32)])
    with pytest.raises(rfc6962.ProofError, match="different"):
        tiles.write_tiles([TileWrite((0, 0), 0, b"\x09" * 32)])


def test_nodes_are_located_in_the_tile_of_their_stored_level() -> None:
    assert node_location((0, 300)) == ((0, 1), 44, 1)
    assert node_location((3, 37)) == ((0, 1), 40, 8)
    assert node_location((8, 5)) == ((1, 0), 5, 1)
    assert node_location((15, 3)) == ((1, 1), 128, 128)


def test_tile_writes_keep_only_stored_levels_and_refuse_out_of_order_nodes() -> None:
    h = [bytes([i]) * 32 for i in range(4)]
    writes = tile_writes([((0, 255), h[0]), ((0, 256), h[1]), ((1, 128), h[2]), ((8, 0), h[3])])
    assert writes == [TileWrite((0, 0), 255, h[0]), TileWrite((0, 1), 0, h[1]), TileWrite((1, 0), 0, h[3])]
    with pytest.raises(rfc6962.ProofError):
        tile_writes([((0, 0), h[0]), ((0, 2), h[1])])


def test_a_missing_node_is_a_key_error() -> None:
    log, tiles, _ = tiled_log([10])
    store = TiledNodeStore(tiles)
    with pytest.raises(KeyError):
        store.get_nodes([(0, 10)])
    with pytest.raises(KeyError):
        store.get_nodes([(3, 1)])  # leaves 8..15: only 10 stored
    assert log.size == 10
