"""The reference's legacy commitment tree (rs_merkle shape) against every shared case."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.ves.vectors import load, unhex
from ves.legacy_merkle import (
    EMPTY_ROOT,
    LegacyProofError,
    build_tree,
    events_root,
    leaf_hash,
    node_hash,
    proof_shape,
    verify_inclusion,
    verify_with_directions,
)

CASES: list[dict[str, Any]] = load("ves_merkle_cases.json")


def case_id(case: dict[str, Any]) -> str:
    return f"case{case['case']}-n{len(case['events'])}"


def legacy_leaves(case: dict[str, Any]) -> list[bytes]:
    tenant, store = uuid.UUID(case["tenant_id"]), uuid.UUID(case["store_id"])
    return [
        leaf_hash(
            tenant_id=tenant,
            store_id=store,
            sequence_number=event["sequence_number"],
            payload_hash=unhex(payload_hash),
            entity_type=event["entity_type"],
            entity_id=event["entity_id"],
        )
        for event, payload_hash in zip(case["events"], case["legacy"]["payload_hashes"], strict=True)
    ]


def random_leaves(count: int) -> list[bytes]:
    return [hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(count)]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_leaves_and_events_root_match_every_shared_case(case: dict[str, Any]) -> None:
    leaves = legacy_leaves(case)

    assert [leaf.hex() for leaf in leaves] == case["legacy"]["leaves"]
    assert events_root(leaves).hex() == case["legacy"]["events_root"]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_every_shared_proof_path_is_reproduced_and_verifies(case: dict[str, Any]) -> None:
    tree = build_tree(legacy_leaves(case))
    count = len(case["events"])
    assert len(case["legacy"]["proofs"]) == count

    for expected in case["legacy"]["proofs"]:
        index = expected["leaf_index"]
        proof = tree.proof(index)
        assert [element.hex() for element in proof.path] == expected["proof_path"]
        path = [unhex(element) for element in expected["proof_path"]]
        assert verify_inclusion(
            leaf_hash=proof.leaf_hash, root=tree.root, path=path, leaf_index=index, leaf_count=count
        )
        assert verify_with_directions(leaf_hash=proof.leaf_hash, root=tree.root, path=path, directions=proof.directions)


def test_an_odd_last_node_is_promoted_unchanged() -> None:
    a, b, c, d, e = random_leaves(5)

    assert events_root([]) == EMPTY_ROOT
    assert events_root([a]) == a
    assert events_root([a, b, c]) == node_hash(node_hash(a, b), c)
    assert events_root([a, b, c, d, e]) == node_hash(node_hash(node_hash(a, b), node_hash(c, d)), e)
    assert node_hash(a, b) == hashlib.sha256(a + b).digest()


def test_proofs_skip_levels_without_a_sibling() -> None:
    leaves = random_leaves(5)
    tree = build_tree(leaves)

    last = tree.proof(4)
    assert last.path == (node_hash(node_hash(leaves[0], leaves[1]), node_hash(leaves[2], leaves[3])),)
    assert last.directions == (False,)
    assert proof_shape(2, 3) == (False,)
    assert proof_shape(0, 3) == (True, True)
    assert proof_shape(4, 6) == (True, False)


@pytest.mark.parametrize(("count", "index"), [(3, 2), (5, 4), (6, 4), (6, 5), (7, 6), (9, 8)])
def test_positions_the_reference_verifier_rejects_verify_here(count: int, index: int) -> None:
    """VES.md §7 lists these: index-bit directions disagree with the skipped-level path."""
    tree = build_tree(random_leaves(count))
    proof = tree.proof(index)
    index_bit_directions = tuple(not (index >> level) & 1 for level in range(len(proof.path)))

    assert proof.directions != index_bit_directions
    assert not verify_with_directions(
        leaf_hash=proof.leaf_hash, root=tree.root, path=proof.path, directions=index_bit_directions
    )
    assert verify_with_directions(
        leaf_hash=proof.leaf_hash, root=tree.root, path=proof.path, directions=proof.directions
    )
    assert verify_inclusion(
        leaf_hash=proof.leaf_hash, root=tree.root, path=proof.path, leaf_index=index, leaf_count=count
    )


def _flip(value: bytes, bit: int) -> bytes:
    out = bytearray(value)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


@given(st.integers(min_value=1, max_value=150), st.data())
@settings(max_examples=150)
def test_every_position_verifies_and_tampering_fails(count: int, data: st.DataObject) -> None:
    tree = build_tree(random_leaves(count))
    index = data.draw(st.integers(min_value=0, max_value=count - 1))
    proof = tree.proof(index)
    bit = data.draw(st.integers(min_value=0, max_value=255))

    def check(leaf: bytes, root: bytes, path: tuple[bytes, ...], at: int = index, size: int = count) -> bool:
        return verify_inclusion(leaf_hash=leaf, root=root, path=path, leaf_index=at, leaf_count=size)

    assert len(proof.path) == len(proof.directions)
    assert check(proof.leaf_hash, tree.root, proof.path)
    assert not check(_flip(proof.leaf_hash, bit), tree.root, proof.path)
    assert not check(proof.leaf_hash, _flip(tree.root, bit), proof.path)
    if proof.path:
        at = data.draw(st.integers(min_value=0, max_value=len(proof.path) - 1))
        broken = (*proof.path[:at], _flip(proof.path[at], bit), *proof.path[at + 1 :])
        assert not check(proof.leaf_hash, tree.root, broken)
        assert not check(proof.leaf_hash, tree.root, proof.path[:-1])
    other = data.draw(st.integers(min_value=0, max_value=count - 1))
    if other != index:
        assert not check(proof.leaf_hash, tree.root, proof.path, at=other)
    assert not check(proof.leaf_hash, tree.root, proof.path, at=count)


def test_malformed_input_is_refused() -> None:
    leaf = random_leaves(1)[0]

    with pytest.raises(LegacyProofError, match="payload_hash"):
        leaf_hash(
            tenant_id=uuid.uuid4(),
            store_id=uuid.uuid4(),
            sequence_number=1,
            payload_hash=b"\x00",
            entity_type="t",
            entity_id="i",
        )
    with pytest.raises(LegacyProofError, match="at most 64"):
        verify_inclusion(leaf_hash=leaf, root=leaf, path=[leaf] * 65, leaf_index=0, leaf_count=1)
    with pytest.raises(LegacyProofError, match="root"):
        verify_with_directions(leaf_hash=leaf, root=b"", path=[], directions=[])
    with pytest.raises(LegacyProofError, match="outside"):
        build_tree([leaf]).proof(1)
    with pytest.raises(LegacyProofError, match="leaf hash"):
        build_tree([b"x"])


def test_strings_are_length_prefixed_utf8() -> None:
    tenant, store = uuid.UUID(int=1), uuid.UUID(int=2)
    expected = hashlib.sha256(
        b"STATESET_COMMITMENT_LEAF_V1"
        + tenant.bytes
        + store.bytes
        + (7).to_bytes(8, "big")
        + b"\x11" * 32
        + b"\x00\x00\x00\x02\xc3\xa9"
        + b"\x00\x00\x00\x00"
    ).digest()

    assert (
        leaf_hash(
            tenant_id=tenant,
            store_id=store,
            sequence_number=7,
            payload_hash=b"\x11" * 32,
            entity_type="é",
            entity_id="",
        )
        == expected
    )
