"""The trees kept for proofs: packed, bounded in bytes, and serving the proofs a fresh tree would.

A growth audit kept six 200,000-leaf trees in each web process (~110-160 MB each of resident
memory) when the cache counted trees; it is now bounded by ``PROOF_TREE_CACHE_BYTES``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from django.test import override_settings
from hypothesis import given, settings
from hypothesis import strategies as st

from commitments import proofs
from tests.commitments.helpers import create
from tests.conftest import Persona, legacy_event
from ves import legacy_merkle
from ves import merkle as ves_merkle
from ves.packed_hashes import HASH_SIZE, PackedHashes

LEAVES = st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=70)


@given(LEAVES)
@settings(max_examples=60, deadline=None)
def test_packed_hashes_read_as_the_tuple_they_hold(leaves: list[bytes]) -> None:
    packed = PackedHashes(leaves)
    assert len(packed) == len(leaves)
    assert packed.nbytes == HASH_SIZE * len(leaves)
    assert list(packed) == leaves
    assert packed[-1] == leaves[-1]
    assert packed[1::2] == leaves[1::2]
    with pytest.raises(IndexError):
        packed[len(leaves)]


def test_packed_hashes_refuse_a_short_hash() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        PackedHashes([os.urandom(32), os.urandom(31)])


@given(LEAVES)
@settings(max_examples=60, deadline=None)
def test_a_packed_tree_proves_what_the_built_tree_proves(leaves: list[bytes]) -> None:
    for build in (ves_merkle.build_tree, legacy_merkle.build_tree):
        tree: Any = build(leaves)
        packed = type(tree)(**{**_fields(tree), "levels": tuple(PackedHashes(level) for level in tree.levels)})
        assert packed.root == tree.root
        for index in range(len(leaves)):
            assert packed.proof(index) == tree.proof(index)


def _fields(tree: Any) -> dict[str, Any]:
    return {name: getattr(tree, name) for name in tree.__slots__}


def _tree_bytes(leaf_count: int) -> int:
    leaves = [bytes(32)] * leaf_count
    return sum(len(level) for level in legacy_merkle.build_tree(leaves).levels) * HASH_SIZE


@pytest.fixture
def empty_cache() -> Iterator[None]:
    with proofs._trees_lock:
        proofs._trees.clear()
        proofs._trees_bytes = 0
    yield
    with proofs._trees_lock:
        proofs._trees.clear()
        proofs._trees_bytes = 0


@pytest.mark.django_db(transaction=True)
def test_the_cache_keeps_recent_trees_within_its_bytes(owner: Persona, empty_cache: None) -> None:
    events = [legacy_event(owner.tenant_id, owner.store_id) for _ in range(40)]
    response = owner.client.post(
        "/api/v1/events/ingest", data=orjson.dumps({"events": events}), content_type="application/json"
    )
    assert response.status_code == 200, response.content
    batches = {}
    for end in (10, 20, 40):
        response = create(owner.client, "", owner.tenant_id, owner.store_id, 1, end)
        assert response.status_code == 200, response.content
        batches[end] = response.json()["batch_id"]

    def proof(end: int) -> dict[str, Any]:
        query = f"tenant_id={owner.tenant_id}&store_id={owner.store_id}&batch_id={batches[end]}"
        answer = owner.client.get(f"/api/v1/proofs/5?{query}")
        assert answer.status_code == 200, answer.content
        body: dict[str, Any] = answer.json()
        return body

    budget = _tree_bytes(20)
    with override_settings(PROOF_TREE_CACHE_BYTES=budget):
        first = {end: proof(end) for end in (10, 20)}
        # The 20-leaf tree fills the budget: the 10-leaf one, least recently used, is dropped.
        assert list(proofs._trees) == [uuid.UUID(batches[20])]
        assert proofs.tree_cache_bytes() == budget
        too_large = proof(40)  # over the whole budget: served, not kept
        assert list(proofs._trees) == [uuid.UUID(batches[20])]
        assert proofs.tree_cache_bytes() == budget
        # Served from the kept (packed) tree and rebuilt alike: the same proofs.
        assert proof(20) == first[20]
        assert proof(10) == first[10]
        assert proof(40) == too_large
        assert list(proofs._trees) == [uuid.UUID(batches[10])]
        assert proofs.tree_cache_bytes() == _tree_bytes(10)
    with override_settings(PROOF_TREE_CACHE_BYTES=0):
        proofs._trees.clear()
        proofs._trees_bytes = 0
        assert proof(20) == first[20]
        assert proofs.tree_cache_bytes() == 0
