"""RFC 6962 / 9162 tree: the standard CT vectors, verifier properties, and the incremental store."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.ves.vectors import load
from ves.rfc6962 import (
    EMPTY_ROOT,
    CompactRange,
    InMemoryNodeStore,
    MerkleLog,
    NodeId,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    perfect_subtrees,
    root,
    verify_consistency,
    verify_inclusion,
)

VECTORS: dict[str, Any] = load("rfc6962.json")
NODES: list[list[bytes]] = [[bytes.fromhex(h) for h in level] for level in VECTORS["node_hashes"]]
LEAVES = [leaf_hash(bytes.fromhex(data)) for data in VECTORS["leaf_inputs"]]


def node(ref: Sequence[int]) -> bytes:
    return NODES[ref[0]][ref[1]]


def make_leaves(count: int, seed: int = 0) -> list[bytes]:
    return [leaf_hash(f"{seed}/{i}".encode()) for i in range(count)]


def log_of(leaves: Sequence[bytes], batches: Sequence[int] = ()) -> tuple[MerkleLog, InMemoryNodeStore]:
    store = InMemoryNodeStore()
    log = MerkleLog(store)
    position = 0
    for size in batches:
        log.append(leaves[position : position + size])
        position += size
    log.append(leaves[position:])
    return log, store


def flip(value: bytes, bit: int) -> bytes:
    out = bytearray(value)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


# --- the standard vectors ------------------------------------------------------------------------


def test_leaf_hashes_match_the_level_zero_vectors() -> None:
    assert [leaf.hex() for leaf in LEAVES] == VECTORS["node_hashes"][0]
    assert leaf_hash(b"") == bytes.fromhex("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
    assert node_hash(NODES[0][0], NODES[0][1]) == NODES[1][0]


@pytest.mark.parametrize("size", range(9))
def test_roots_match_the_vectors_for_every_size(size: int) -> None:
    expected = bytes.fromhex(VECTORS["roots"][size])
    log, _ = log_of(LEAVES[:size])

    assert root(LEAVES[:size]) == expected
    assert log.root() == expected
    assert size or expected == EMPTY_ROOT


@pytest.mark.parametrize("size", range(9))
def test_compact_ranges_match_the_vectors(size: int) -> None:
    frontier = CompactRange()
    for leaf in LEAVES[:size]:
        frontier.append(leaf)

    assert frontier.hashes == [node(ref) for ref in VECTORS["compact_ranges"][size]]
    assert CompactRange.node_ids_for(size) == [tuple(ref) for ref in VECTORS["compact_ranges"][size]]


@pytest.mark.parametrize(
    "vector", VECTORS["inclusion_proofs"], ids=lambda v: f"leaf{v['leaf_index']}-of{v['tree_size']}"
)
def test_inclusion_proofs_match_the_vectors(vector: dict[str, Any]) -> None:
    index, size = vector["leaf_index"], vector["tree_size"]
    expected = [node(ref) for ref in vector["path"]]
    log, _ = log_of(LEAVES)

    assert inclusion_proof(index, LEAVES[:size]) == expected
    assert log.inclusion_proof(index, size) == expected
    assert verify_inclusion(
        leaf_index=index, tree_size=size, leaf_hash=LEAVES[index], proof=expected, root=root(LEAVES[:size])
    )


@pytest.mark.parametrize("vector", VECTORS["consistency_proofs"], ids=lambda v: f"{v['old_size']}to{v['new_size']}")
def test_consistency_proofs_match_the_vectors(vector: dict[str, Any]) -> None:
    old, new = vector["old_size"], vector["new_size"]
    expected = [node(ref) for ref in vector["path"]]
    log, _ = log_of(LEAVES)

    assert consistency_proof(old, LEAVES[:new]) == expected
    assert log.consistency_proof(old, new) == expected
    assert verify_consistency(
        old_size=old, new_size=new, old_root=root(LEAVES[:old]), new_root=root(LEAVES[:new]), proof=expected
    )


# --- properties --------------------------------------------------------------------------------


@given(st.integers(min_value=1, max_value=260), st.data())
@settings(max_examples=200)
def test_every_inclusion_proof_verifies_and_any_flipped_bit_fails(size: int, data: st.DataObject) -> None:
    leaves = make_leaves(size)
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    tree_root = root(leaves)
    proof = inclusion_proof(index, leaves)
    bit = data.draw(st.integers(min_value=0, max_value=255))

    def check(leaf: bytes, path: list[bytes], head: bytes, at: int = index, n: int = size) -> bool:
        return verify_inclusion(leaf_index=at, tree_size=n, leaf_hash=leaf, proof=path, root=head)

    assert check(leaves[index], proof, tree_root)
    assert not check(flip(leaves[index], bit), proof, tree_root)
    assert not check(leaves[index], proof, flip(tree_root, bit))
    assert not check(leaves[index], [*proof, leaves[0]], tree_root)
    if proof:
        at = data.draw(st.integers(min_value=0, max_value=len(proof) - 1))
        assert not check(leaves[index], [*proof[:at], flip(proof[at], bit), *proof[at + 1 :]], tree_root)
        assert not check(leaves[index], proof[:-1], tree_root)
    other = data.draw(st.integers(min_value=0, max_value=size))
    if other != index:
        assert not check(leaves[index], proof, tree_root, at=other)


@given(st.integers(min_value=1, max_value=260), st.data())
@settings(max_examples=200)
def test_every_consistency_proof_verifies_and_any_flipped_bit_fails(new_size: int, data: st.DataObject) -> None:
    leaves = make_leaves(new_size)
    old_size = data.draw(st.integers(min_value=0, max_value=new_size))
    old_root, new_root = root(leaves[:old_size]), root(leaves)
    proof = consistency_proof(old_size, leaves)
    bit = data.draw(st.integers(min_value=0, max_value=255))

    def check(path: list[bytes], old: bytes, new: bytes, m: int = old_size, n: int = new_size) -> bool:
        return verify_consistency(old_size=m, new_size=n, old_root=old, new_root=new, proof=path)

    assert check(proof, old_root, new_root)
    if old_size == 0:
        assert proof == []
        return
    assert not check(proof, old_root, flip(new_root, bit))
    assert not check(proof, flip(old_root, bit), new_root)
    if proof:
        at = data.draw(st.integers(min_value=0, max_value=len(proof) - 1))
        assert not check([*proof[:at], flip(proof[at], bit), *proof[at + 1 :]], old_root, new_root)
        assert not check(proof[:-1], old_root, new_root)
        assert not check([*proof, new_root], old_root, new_root)
    if old_size < new_size:
        assert not check(proof, old_root, new_root, m=old_size + 1)


@given(
    st.integers(min_value=1, max_value=300),
    st.lists(st.integers(min_value=1, max_value=40), max_size=12),
    st.data(),
)
@settings(max_examples=150)
def test_the_incremental_store_gives_the_same_roots_and_proofs_as_full_recomputation(
    size: int, batches: list[int], data: st.DataObject
) -> None:
    leaves = make_leaves(size, seed=size)
    log, store = log_of(leaves, batches)
    at_size = data.draw(st.integers(min_value=0, max_value=size))
    old = data.draw(st.integers(min_value=0, max_value=at_size))

    assert log.size == size
    assert store.node_count() == 2 * size - size.bit_count()
    assert log.root() == root(leaves)
    assert log.root(at_size) == root(leaves[:at_size])
    assert log.consistency_proof(old, at_size) == consistency_proof(old, leaves[:at_size])
    if at_size:
        index = data.draw(st.integers(min_value=0, max_value=at_size - 1))
        assert log.inclusion_proof(index, at_size) == inclusion_proof(index, leaves[:at_size])
    reopened = MerkleLog(store, size)
    assert reopened.root() == log.root()
    assert reopened.frontier().hashes == log.frontier().hashes


@given(st.integers(min_value=0, max_value=200), st.lists(st.integers(min_value=0, max_value=30), max_size=8))
@settings(max_examples=150)
def test_batch_extend_equals_one_leaf_at_a_time(start: int, batches: list[int]) -> None:
    leaves = make_leaves(start + sum(batches), seed=start)
    single, batched = CompactRange(), CompactRange()
    single_nodes: list[tuple[NodeId, bytes]] = []
    batched_nodes: list[tuple[NodeId, bytes]] = []
    for leaf in leaves[:start]:
        single.append(leaf)
    batched.extend(leaves[:start])
    position = start
    for size in batches:
        for leaf in leaves[position : position + size]:
            single_nodes.extend(single.append(leaf))
        batched_nodes.extend(batched.extend(leaves[position : position + size]))
        position += size
        assert (batched.size, batched.hashes) == (single.size, single.hashes)

    assert sorted(batched_nodes) == sorted(single_nodes)
    assert batched.root() == root(leaves)


def test_proofs_from_a_large_log_need_only_logarithmically_many_lookups() -> None:
    size = 5000
    leaves = make_leaves(size)
    log, store = log_of(leaves, [1000] * 4)
    bound = 2 * size.bit_length() + 2

    for index in (0, 1, 2047, 2048, 4095, 4999):
        before = store.reads
        assert log.inclusion_proof(index) == inclusion_proof(index, leaves)
        assert store.reads - before <= bound
    for old in (1, 7, 2048, 3000, 4999):
        before = store.reads
        assert log.consistency_proof(old) == consistency_proof(old, leaves)
        assert store.reads - before <= bound
    before = store.reads
    assert log.root(3333) == root(leaves[:3333])
    assert store.reads - before == (3333).bit_count()


# --- edges and malformed input ---------------------------------------------------------------------


def test_perfect_subtrees_split_ranges_into_aligned_powers_of_two() -> None:
    assert perfect_subtrees(0, 0) == []
    assert perfect_subtrees(0, 13) == [(3, 0), (2, 2), (0, 12)]
    assert perfect_subtrees(8, 13) == [(2, 2), (0, 12)]
    assert perfect_subtrees(3, 9) == [(0, 3), (2, 1), (0, 8)]


def test_verifier_edge_cases() -> None:
    a, b = root(make_leaves(3)), root(make_leaves(5))

    assert verify_consistency(old_size=3, new_size=3, old_root=a, new_root=a, proof=[])
    assert not verify_consistency(old_size=3, new_size=3, old_root=a, new_root=b, proof=[])
    assert not verify_consistency(old_size=3, new_size=3, old_root=a, new_root=a, proof=[a])
    assert verify_consistency(old_size=0, new_size=5, old_root=EMPTY_ROOT, new_root=b, proof=[])
    assert not verify_consistency(old_size=0, new_size=5, old_root=EMPTY_ROOT, new_root=b, proof=[a])
    assert not verify_consistency(old_size=5, new_size=3, old_root=b, new_root=a, proof=[])
    assert not verify_consistency(old_size=3, new_size=5, old_root=a, new_root=b, proof=[])
    leaf = make_leaves(1)[0]
    assert verify_inclusion(leaf_index=0, tree_size=1, leaf_hash=leaf, proof=[], root=leaf)
    assert not verify_inclusion(leaf_index=0, tree_size=0, leaf_hash=leaf, proof=[], root=leaf)
    assert not verify_inclusion(leaf_index=1, tree_size=1, leaf_hash=leaf, proof=[], root=leaf)


def test_malformed_input_raises() -> None:
    leaf = make_leaves(1)[0]
    with pytest.raises(ProofError, match="proof element"):
        verify_inclusion(leaf_index=0, tree_size=2, leaf_hash=leaf, proof=[b"x"], root=leaf)
    with pytest.raises(ProofError, match="at most 128"):
        verify_inclusion(leaf_index=0, tree_size=2, leaf_hash=leaf, proof=[leaf] * 129, root=leaf)
    with pytest.raises(ProofError, match="at most 128"):
        verify_consistency(old_size=1, new_size=2, old_root=leaf, new_root=leaf, proof=[leaf] * 129)
    assert not verify_inclusion(leaf_index=0, tree_size=2, leaf_hash=leaf, proof=[leaf] * 128, root=leaf)
    with pytest.raises(ProofError, match="leaf_index"):
        verify_inclusion(leaf_index=-1, tree_size=2, leaf_hash=leaf, proof=[], root=leaf)
    with pytest.raises(ProofError, match="new_root"):
        verify_consistency(old_size=1, new_size=2, old_root=leaf, new_root=b"", proof=[])
    with pytest.raises(ProofError, match="outside"):
        inclusion_proof(3, make_leaves(3))
    with pytest.raises(ProofError, match="outside"):
        consistency_proof(4, make_leaves(3))
    log, _ = log_of(make_leaves(3))
    with pytest.raises(ProofError, match="outside"):
        log.inclusion_proof(0, 4)
    with pytest.raises(ProofError, match="outside"):
        log.consistency_proof(2, 1)
    with pytest.raises(ProofError, match="leaf hash"):
        log.append([b"short"])
    assert log.size == 3
    with pytest.raises(ProofError, match="subtree hashes"):
        CompactRange(3, [leaf])


def test_the_in_memory_store_refuses_rewrites_gaps_and_unknown_nodes() -> None:
    store = InMemoryNodeStore()
    a, b = make_leaves(2)
    store.put_nodes([((0, 0), a)])
    store.put_nodes([((0, 0), a)])

    with pytest.raises(ProofError, match="different hash"):
        store.put_nodes([((0, 0), b)])
    with pytest.raises(ProofError, match="out of order"):
        store.put_nodes([((0, 2), b)])
    with pytest.raises(KeyError):
        store.get_nodes([(0, 1)])
    with pytest.raises(KeyError):
        store.get_nodes([(5, 0)])
    with pytest.raises(KeyError):
        MerkleLog(store, 2)


def test_a_failed_store_write_leaves_the_log_unchanged() -> None:
    class FailingStore(InMemoryNodeStore):
        def put_nodes(self, nodes: Sequence[tuple[NodeId, bytes]]) -> None:
            raise OSError("database down")

    log = MerkleLog(FailingStore())
    with pytest.raises(OSError, match="down"):
        log.append(make_leaves(3))

    assert log.size == 0
    assert log.root() == EMPTY_ROOT
    assert hashlib.sha256(b"").digest() == EMPTY_ROOT


class DictNodeStore:
    """A store shaped like the planned database table: a key-value map with no ordering rules."""

    def __init__(self) -> None:
        self.rows: dict[NodeId, bytes] = {}
        self.calls = 0

    def get_nodes(self, ids: Sequence[NodeId]) -> list[bytes]:
        self.calls += 1
        return [self.rows[node] for node in ids]

    def put_nodes(self, nodes: Sequence[tuple[NodeId, bytes]]) -> None:
        for key, value in nodes:
            assert self.rows.setdefault(key, value) == value


@pytest.mark.parametrize("size", [1, 2, 3, 64, 65, 1000, 1023])
def test_any_node_store_implementation_serves_the_same_proofs_in_one_read(size: int) -> None:
    leaves = make_leaves(size, seed=3)
    store = DictNodeStore()
    log = MerkleLog(store)
    for offset in range(0, size, 100):
        log.append(leaves[offset : offset + 100])
    reopened = MerkleLog(store, size)

    assert len(store.rows) == 2 * size - size.bit_count()
    for index in {0, size // 2, size - 1}:
        calls = store.calls
        assert reopened.inclusion_proof(index) == inclusion_proof(index, leaves)
        assert store.calls - calls <= 1
    for old in {1, size // 3, size - 1}:
        calls = store.calls
        assert reopened.consistency_proof(old) == consistency_proof(old, leaves)
        assert store.calls - calls <= 1
