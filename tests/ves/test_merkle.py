"""The VES commitment tree against the 30 shared cases, plus its edge rules and both verifiers."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.ves.vectors import load, unhex
from ves.merkle import (
    EMPTY_ROOT,
    MAX_PROOF_ELEMENTS,
    PAD_LEAF,
    MerkleProofError,
    build_tree,
    directions_for_index,
    leaf_hash,
    merkle_root,
    node_hash,
    padded_leaf_count,
    state_root,
    tree_depth,
    verify_inclusion_reference,
    verify_inclusion_strict,
)

CASES: list[dict[str, Any]] = load("ves_merkle_cases.json")


def case_id(case: dict[str, Any]) -> str:
    return f"case{case['case']}-n{len(case['events'])}"


def leaves_of(case: dict[str, Any]) -> list[bytes]:
    tenant, store = uuid.UUID(case["tenant_id"]), uuid.UUID(case["store_id"])
    return [
        leaf_hash(
            tenant_id=tenant,
            store_id=store,
            sequence_number=event["sequence_number"],
            event_signing_hash=unhex(event["event_signing_hash"]),
            agent_signature=unhex(event["agent_signature"]),
        )
        for event in case["events"]
    ]


def stream_id(case: dict[str, Any]) -> bytes:
    return hashlib.sha256(
        b"VES_STREAM_V1" + uuid.UUID(case["tenant_id"]).bytes + uuid.UUID(case["store_id"]).bytes
    ).digest()


def random_leaves(count: int, seed: int = 0) -> list[bytes]:
    return [hashlib.sha256(f"{seed}:{i}".encode()).digest() for i in range(count)]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_leaf_hashes_match_every_shared_event(case: dict[str, Any]) -> None:
    assert [leaf.hex() for leaf in leaves_of(case)] == [event["leaf_hash"] for event in case["events"]]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_root_depth_and_padded_count_match_every_shared_commitment(case: dict[str, Any]) -> None:
    tree = build_tree(leaves_of(case))
    commitment = case["commitment"]

    assert tree.root.hex() == commitment["merkle_root"]
    assert merkle_root(leaves_of(case)).hex() == commitment["merkle_root"]
    assert tree.tree_depth == commitment["tree_depth"]
    assert tree.padded_leaf_count == commitment["padded_leaf_count"]
    assert tree.leaf_count == commitment["leaf_count"]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_state_roots_match_every_shared_first_commitment(case: dict[str, Any]) -> None:
    commitment = case["commitment"]
    assert stream_id(case).hex() == case["stream_id"]
    assert commitment["prev_state_root"] == "00" * 32

    new_root = state_root(
        stream_id=stream_id(case),
        prev_state_root=EMPTY_ROOT,
        merkle_root=build_tree(leaves_of(case)).root,
        sequence_start=commitment["sequence_start"],
        sequence_end=commitment["sequence_end"],
        leaf_count=commitment["leaf_count"],
    )

    assert new_root.hex() == commitment["new_state_root"]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_every_shared_proof_is_reproduced_and_verifies(case: dict[str, Any]) -> None:
    tree = build_tree(leaves_of(case))
    depth = case["commitment"]["tree_depth"]
    assert len(case["proofs"]) == len(case["events"])

    for expected in case["proofs"]:
        proof = tree.proof(expected["leaf_index"])
        assert [element.hex() for element in proof.path] == expected["proof_path"]
        assert list(proof.directions) == expected["directions"]
        assert proof.leaf_hash.hex() == case["events"][expected["leaf_index"]]["leaf_hash"]
        path = [unhex(element) for element in expected["proof_path"]]
        common: dict[str, Any] = {"leaf_hash": proof.leaf_hash, "merkle_root": tree.root, "proof_path": path}
        assert verify_inclusion_reference(leaf_index=expected["leaf_index"], **common)
        assert verify_inclusion_strict(
            leaf_index=expected["leaf_index"],
            tree_depth=depth,
            leaf_count=len(case["events"]),
            directions=expected["directions"],
            **common,
        )


def test_the_pad_leaf_and_the_node_golden_values() -> None:
    assert PAD_LEAF.hex() == "d9dd0e003ba5370a698013c48ed69c6c41d9ebc1236d44b280c52ceacfdad524"
    assert CASES[0]["pad_leaf"] == PAD_LEAF.hex()
    assert (
        node_hash(b"\x01" * 32, b"\x02" * 32).hex()
        == "5186fbc7094f70b9fc71bcf269fda0530c1c2bd675de918ef39562a6f18752fd"
    )


def test_empty_single_and_padded_shapes() -> None:
    one = random_leaves(1)
    three = random_leaves(3)

    assert merkle_root([]) == EMPTY_ROOT
    assert merkle_root(one) == one[0]
    assert merkle_root(three) == node_hash(node_hash(three[0], three[1]), node_hash(three[2], PAD_LEAF))
    assert [padded_leaf_count(n) for n in (0, 1, 2, 3, 4, 5, 8, 9)] == [1, 1, 2, 4, 4, 8, 8, 16]
    assert [tree_depth(n) for n in (1, 2, 3, 4, 5, 1024, 1025)] == [0, 1, 2, 2, 3, 10, 11]


def _naive_root(leaves: list[bytes]) -> bytes:
    """The tree exactly as VES.md words it: pad every level fully, hash pairwise."""
    if not leaves:
        return EMPTY_ROOT
    level = leaves + [PAD_LEAF] * (padded_leaf_count(len(leaves)) - len(leaves))
    while len(level) > 1:
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


@given(st.integers(min_value=0, max_value=300), st.integers(min_value=0, max_value=2**16))
@settings(max_examples=120)
def test_the_pad_skipping_build_equals_the_fully_padded_tree(count: int, seed: int) -> None:
    leaves = random_leaves(count, seed)
    tree = build_tree(leaves)

    assert tree.root == _naive_root(leaves)
    assert len(tree.levels) == (tree.tree_depth + 1 if count else 1)


@given(st.integers(min_value=1, max_value=200), st.data())
@settings(max_examples=150)
def test_every_proof_verifies_and_any_flipped_bit_fails(count: int, data: st.DataObject) -> None:
    leaves = random_leaves(count)
    tree = build_tree(leaves)
    index = data.draw(st.integers(min_value=0, max_value=count - 1))
    proof = tree.proof(index)
    depth = tree.tree_depth
    assert len(proof.path) == depth
    assert proof.directions == directions_for_index(index, depth)

    def strict(leaf: bytes, root: bytes, path: list[bytes]) -> bool:
        return verify_inclusion_strict(
            leaf_hash=leaf, merkle_root=root, proof_path=path, leaf_index=index, tree_depth=depth, leaf_count=count
        )

    path = list(proof.path)
    assert strict(proof.leaf_hash, tree.root, path)
    bit = data.draw(st.integers(min_value=0, max_value=255))
    flipped_leaf = _flip(proof.leaf_hash, bit)
    assert not strict(flipped_leaf, tree.root, path)
    assert not strict(proof.leaf_hash, _flip(tree.root, bit), path)
    assert not verify_inclusion_reference(
        leaf_hash=flipped_leaf, merkle_root=tree.root, proof_path=path, leaf_index=index
    )
    if path:
        at = data.draw(st.integers(min_value=0, max_value=len(path) - 1))
        broken = [*path[:at], _flip(path[at], bit), *path[at + 1 :]]
        assert not strict(proof.leaf_hash, tree.root, broken)
        assert not verify_inclusion_reference(
            leaf_hash=proof.leaf_hash, merkle_root=tree.root, proof_path=broken, leaf_index=index
        )


def _flip(value: bytes, bit: int) -> bytes:
    out = bytearray(value)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def test_the_reference_verifier_ignores_index_bits_above_the_path() -> None:
    tree = build_tree(random_leaves(8))
    proof = tree.proof(1)
    args: dict[str, Any] = {"leaf_hash": proof.leaf_hash, "merkle_root": tree.root, "proof_path": proof.path}

    assert verify_inclusion_reference(leaf_index=1, **args)
    assert verify_inclusion_reference(leaf_index=9, **args)
    assert verify_inclusion_reference(leaf_index=1 + 2**63, **args)
    assert not verify_inclusion_reference(leaf_index=3, **args)
    assert not verify_inclusion_strict(leaf_index=9, tree_depth=3, **args)
    assert verify_inclusion_strict(leaf_index=1, tree_depth=3, **args)


def test_the_reference_verifier_accepts_a_truncated_path_that_the_strict_one_refuses() -> None:
    """A proof against an inner node verifies with the reference: nothing ties the path to the depth."""
    tree = build_tree(random_leaves(8))
    proof = tree.proof(2)
    inner = tree.levels[1][1]
    args: dict[str, Any] = {
        "leaf_hash": proof.leaf_hash,
        "merkle_root": inner,
        "proof_path": proof.path[:1],
        "leaf_index": 2,
    }

    assert verify_inclusion_reference(**args)
    assert not verify_inclusion_strict(tree_depth=3, **args)
    assert not verify_inclusion_strict(tree_depth=1, leaf_count=8, **args)


def test_the_strict_verifier_binds_depth_count_and_directions() -> None:
    tree = build_tree(random_leaves(5))
    proof = tree.proof(4)
    args: dict[str, Any] = {
        "leaf_hash": proof.leaf_hash,
        "merkle_root": tree.root,
        "proof_path": proof.path,
        "leaf_index": 4,
    }

    assert verify_inclusion_strict(tree_depth=3, leaf_count=5, directions=proof.directions, **args)
    assert not verify_inclusion_strict(tree_depth=2, **args)
    assert not verify_inclusion_strict(tree_depth=4, **args)
    assert not verify_inclusion_strict(tree_depth=3, leaf_count=4, **args)
    assert not verify_inclusion_strict(tree_depth=3, leaf_count=9, **args)
    assert not verify_inclusion_strict(tree_depth=3, directions=[True, True, True], **args)


def test_the_strict_verifier_refuses_a_pad_position() -> None:
    tree = build_tree(random_leaves(5))
    pad_path = [tree.levels[0][4], node_hash(PAD_LEAF, PAD_LEAF), tree.levels[2][0]]
    args: dict[str, Any] = {"leaf_hash": PAD_LEAF, "merkle_root": tree.root, "proof_path": pad_path, "leaf_index": 5}

    assert verify_inclusion_strict(tree_depth=3, **args)
    assert not verify_inclusion_strict(tree_depth=3, leaf_count=5, **args)


def test_the_reference_verifier_rejects_more_than_64_elements_and_bad_lengths() -> None:
    leaf = random_leaves(1)[0]
    path = random_leaves(MAX_PROOF_ELEMENTS + 1)

    assert not verify_inclusion_reference(leaf_hash=leaf, merkle_root=leaf, proof_path=path[:64], leaf_index=0)
    with pytest.raises(MerkleProofError, match="at most 64"):
        verify_inclusion_reference(leaf_hash=leaf, merkle_root=leaf, proof_path=path, leaf_index=0)
    with pytest.raises(MerkleProofError, match="at most 64"):
        verify_inclusion_strict(leaf_hash=leaf, merkle_root=leaf, proof_path=path, leaf_index=0, tree_depth=65)
    with pytest.raises(MerkleProofError, match="proof element"):
        verify_inclusion_reference(leaf_hash=leaf, merkle_root=leaf, proof_path=[b"\x00" * 31], leaf_index=0)
    with pytest.raises(MerkleProofError, match="merkle_root"):
        verify_inclusion_reference(leaf_hash=leaf, merkle_root=b"", proof_path=[], leaf_index=0)
    with pytest.raises(MerkleProofError, match="64-bit"):
        verify_inclusion_reference(leaf_hash=leaf, merkle_root=leaf, proof_path=[], leaf_index=-1)


def test_a_single_leaf_proof_is_empty_and_verifies_only_against_itself() -> None:
    leaf = random_leaves(1)[0]
    proof = build_tree([leaf]).proof(0)

    assert proof.path == ()
    assert proof.directions == ()
    assert verify_inclusion_strict(leaf_hash=leaf, merkle_root=leaf, proof_path=[], leaf_index=0, tree_depth=0)
    assert not verify_inclusion_strict(
        leaf_hash=leaf, merkle_root=random_leaves(1, seed=1)[0], proof_path=[], leaf_index=0, tree_depth=0
    )


@pytest.mark.parametrize("index", [-1, 5])
def test_a_proof_for_an_index_outside_the_leaves_is_refused(index: int) -> None:
    with pytest.raises(MerkleProofError, match="outside"):
        build_tree(random_leaves(5)).proof(index)


def test_malformed_tree_inputs_are_refused() -> None:
    tenant, store = uuid.uuid4(), uuid.uuid4()
    good: dict[str, Any] = {"tenant_id": tenant, "store_id": store, "sequence_number": 1}

    with pytest.raises(MerkleProofError, match="event_signing_hash"):
        leaf_hash(event_signing_hash=b"\x00" * 33, agent_signature=b"\x00" * 64, **good)
    with pytest.raises(MerkleProofError, match="agent_signature"):
        leaf_hash(event_signing_hash=b"\x00" * 32, agent_signature=b"\x00" * 63, **good)
    with pytest.raises(MerkleProofError, match="64-bit"):
        leaf_hash(
            tenant_id=tenant,
            store_id=store,
            sequence_number=2**64,
            event_signing_hash=b"\x00" * 32,
            agent_signature=b"\x00" * 64,
        )
    with pytest.raises(MerkleProofError, match="leaf hash"):
        build_tree([b"short"])
    with pytest.raises(MerkleProofError, match="32-bit"):
        state_root(
            stream_id=EMPTY_ROOT,
            prev_state_root=EMPTY_ROOT,
            merkle_root=EMPTY_ROOT,
            sequence_start=1,
            sequence_end=1,
            leaf_count=2**32,
        )


def test_the_state_root_chains_over_the_previous_root() -> None:
    leaves = random_leaves(4)
    first = state_root(
        stream_id=EMPTY_ROOT,
        prev_state_root=EMPTY_ROOT,
        merkle_root=merkle_root(leaves[:2]),
        sequence_start=1,
        sequence_end=2,
        leaf_count=2,
    )
    second = state_root(
        stream_id=EMPTY_ROOT,
        prev_state_root=first,
        merkle_root=merkle_root(leaves[2:]),
        sequence_start=3,
        sequence_end=4,
        leaf_count=2,
    )
    preimage = (
        b"VES_STATE_ROOT_V1"
        + EMPTY_ROOT
        + first
        + merkle_root(leaves[2:])
        + (3).to_bytes(8, "big")
        + (4).to_bytes(8, "big")
        + (2).to_bytes(4, "big")
    )

    assert len(preimage) == 133
    assert second == hashlib.sha256(preimage).digest()
    assert second != first
