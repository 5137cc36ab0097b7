"""The RFC 6962 log of each stream: stored nodes, signed checkpoints, inclusion and consistency."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from commitments.transparency import PostgresTileStore, log_open
from streams.kinds import StreamKind
from tests.commitments.helpers import create, ingest_ves_case
from tests.ves.ves_case_vectors import CASES
from ves import rfc6962
from ves.checkpoint import verify_checkpoint
from ves.signing import public_key_from_seed
from ves.tiles import TILE_HEIGHT, TiledNodeStore

pytestmark = pytest.mark.django_db

SEED = bytes(range(32))
NAME = "seq.test"


def _get(client: APIClient, path: str, **params: Any) -> Any:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return client.get(f"{path}?{query}")


@override_settings(VES_SEQUENCER_SIGNING_KEY=SEED.hex(), CHECKPOINT_SEQUENCER_NAME=NAME)
def test_checkpoints_and_proofs_of_a_ves_stream(admin_client: APIClient) -> None:
    case = CASES[3]  # 9 events
    ingest_ves_case(admin_client, case)
    t, s = case["tenant_id"], case["store_id"]
    create(admin_client, "ves/", t, s, 1, 4)
    create(admin_client, "ves/", t, s, 5, 9)
    entries = [rfc6962.leaf_hash(bytes.fromhex(e["leaf_hash"])) for e in case["events"]]

    latest = _get(admin_client, "/api/v1/ves/log/checkpoint", tenant_id=t, store_id=s).json()
    signed = verify_checkpoint(latest["checkpoint"], public_key_from_seed(SEED), key_name=NAME)
    assert signed.checkpoint.origin == f"{NAME}/ves/{t}/{s}"
    assert (signed.checkpoint.tree_size, signed.checkpoint.root_hash) == (9, rfc6962.root(entries))
    assert latest["tree_size"] == 9
    assert latest["root_hash"] == rfc6962.root(entries).hex()
    at4 = _get(admin_client, "/api/v1/ves/log/checkpoint", tenant_id=t, store_id=s, tree_size=4).json()
    assert at4["root_hash"] == rfc6962.root(entries[:4]).hex()
    assert _get(admin_client, "/api/v1/ves/log/checkpoint", tenant_id=t, store_id=s, tree_size=5).status_code == 404
    assert _get(admin_client, "/api/v1/ves/log/checkpoint", tenant_id=t, store_id=s, tree_size=10).status_code == 400

    for size in (4, 7, 9):
        for seq in range(1, size + 1):
            body = _get(
                admin_client,
                "/api/v1/ves/log/proofs/inclusion",
                tenant_id=t,
                store_id=s,
                sequence_number=seq,
                tree_size=size,
            ).json()
            proof = [bytes.fromhex(p) for p in body["proof"]]
            assert proof == rfc6962.inclusion_proof(seq - 1, entries[:size])
            assert body["leaf_hash"] == entries[seq - 1].hex()
            assert rfc6962.verify_inclusion(
                leaf_index=seq - 1,
                tree_size=size,
                leaf_hash=entries[seq - 1],
                proof=proof,
                root=rfc6962.root(entries[:size]),
            )
    for first in range(0, 10):
        body = _get(admin_client, "/api/v1/ves/log/proofs/consistency", tenant_id=t, store_id=s, first=first).json()
        proof = [bytes.fromhex(p) for p in body["proof"]]
        if 0 < first < 9:
            assert proof == rfc6962.consistency_proof(first, entries)
        assert rfc6962.verify_consistency(
            old_size=first,
            new_size=9,
            old_root=bytes.fromhex(body["first_root"]),
            new_root=signed.checkpoint.root_hash,
            proof=proof,
        )
    bad = _get(admin_client, "/api/v1/ves/log/proofs/inclusion", tenant_id=t, store_id=s, sequence_number=10)
    assert bad.status_code == 400
    assert bad.json()["code"] == "invalid_tree_size"


@override_settings(VES_SEQUENCER_SIGNING_KEY="")
def test_without_a_signing_key_checkpoints_answer_503(admin_client: APIClient) -> None:
    case = CASES[0]
    ingest_ves_case(admin_client, case)
    create(admin_client, "ves/", case["tenant_id"], case["store_id"], 1, 1)
    response = _get(admin_client, "/api/v1/ves/log/checkpoint", tenant_id=case["tenant_id"], store_id=case["store_id"])
    assert response.status_code == 503
    assert response.json()["code"] == "checkpoint_signing_unconfigured"
    empty = _get(admin_client, "/api/v1/log/checkpoint", tenant_id=case["tenant_id"], store_id=case["store_id"])
    assert empty.status_code == 404


@override_settings(VES_SEQUENCER_SIGNING_KEY=SEED.hex(), CHECKPOINT_SEQUENCER_NAME=NAME)
def test_log_reads_of_an_empty_log_and_beyond_its_size_are_refused(admin_client: APIClient) -> None:
    case = CASES[0]
    ingest_ves_case(admin_client, case)
    t, s = case["tenant_id"], case["store_id"]
    base = "/api/v1/ves/log/"
    for path, params in (
        ("checkpoint", {}),
        ("proofs/inclusion", {"sequence_number": 1}),
        ("proofs/consistency", {"first": 0}),
    ):
        empty = _get(admin_client, base + path, tenant_id=t, store_id=s, **params)
        assert (empty.status_code, empty.json()["code"]) == (404, "checkpoint_not_found"), path
    create(admin_client, "ves/", t, s, 1, 1)
    beyond = _get(admin_client, base + "proofs/consistency", tenant_id=t, store_id=s, first=0, second=2)
    assert (beyond.status_code, beyond.json()["code"], beyond.json()["tree_size"]) == (400, "invalid_tree_size", 1)
    crossed = _get(admin_client, base + "proofs/consistency", tenant_id=t, store_id=s, first=1, second=0)
    assert (crossed.status_code, crossed.json()["code"]) == (400, "invalid_tree_size")
    whole = _get(admin_client, base + "proofs/consistency", tenant_id=t, store_id=s, first=1).json()
    assert (whole["first"], whole["second"], whole["proof"]) == (1, 1, [])
    assert (
        whole["first_root"]
        == whole["second_root"]
        == rfc6962.leaf_hash(bytes.fromhex(case["events"][0]["leaf_hash"])).hex()
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=40), min_size=1, max_size=6))
def test_postgres_log_matches_the_rfc_definitions(db: None, batches: list[list[bytes]]) -> None:
    tenant, store = uuid.uuid4(), uuid.uuid4()
    leaves: list[bytes] = []
    sizes: list[int] = []
    for batch in batches:
        log = log_open(tenant_id=tenant, store_id=store, kind=StreamKind.LEGACY, size=len(leaves))
        hashed = [rfc6962.leaf_hash(b) for b in batch]
        log.append(hashed)
        leaves += hashed
        sizes.append(len(leaves))
    store_ = TiledNodeStore(PostgresTileStore(tenant, store, StreamKind.LEGACY))
    log = rfc6962.MerkleLog(store_, len(leaves), level_stride=TILE_HEIGHT)
    for size in sizes:
        assert log.root(size) == rfc6962.root(leaves[:size])
        index = size // 2
        assert log.inclusion_proof(index, size) == rfc6962.inclusion_proof(index, leaves[:size])
        if size < len(leaves):
            assert log.consistency_proof(size, len(leaves)) == rfc6962.consistency_proof(size, leaves)
    n = len(leaves)
    assert store_.reads <= 5 * len(sizes) * (2 * n.bit_length() + 2)  # O(log n) reads, never a rehash


def test_proofs_over_full_tiles_read_one_query_and_equal_the_rfc_definitions(
    db: None, django_assert_max_num_queries: Any
) -> None:
    """1,300 entries fill five level-0 tiles; proofs-only logs read only the tiles they need, once."""
    tenant, store = uuid.uuid4(), uuid.uuid4()
    leaves = [rfc6962.leaf_hash(i.to_bytes(4, "big")) for i in range(1_300)]
    log_open(tenant_id=tenant, store_id=store, kind=StreamKind.VES, size=0).append(leaves[:700])
    log_open(tenant_id=tenant, store_id=store, kind=StreamKind.VES, size=700).append(leaves[700:])
    for _ in range(2):  # the second round serves the full tiles from the process cache
        for index, size in ((0, 1_300), (511, 1_000), (1_299, 1_300), (700, 701), (5, 256)):
            with django_assert_max_num_queries(1):
                log = log_open(tenant_id=tenant, store_id=store, kind=StreamKind.VES, size=1_300, proofs_only=True)
                proof = log.inclusion_proof(index, size)
                leaf = log.store.get_nodes([(0, index)])[0]
                root = log.root(size)
            assert proof == rfc6962.inclusion_proof(index, leaves[:size])
            assert (leaf, root) == (leaves[index], rfc6962.root(leaves[:size]))
        log = log_open(tenant_id=tenant, store_id=store, kind=StreamKind.VES, size=1_300, proofs_only=True)
        assert log.consistency_proof(300, 1_300) == rfc6962.consistency_proof(300, leaves)
