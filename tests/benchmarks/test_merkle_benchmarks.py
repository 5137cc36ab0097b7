"""``merkle_tree_build`` (library) and ``merkle_proof_gen`` (through the API, on a stream with a log)."""

from __future__ import annotations

import hashlib
import itertools
import uuid

import orjson
import pytest
from rest_framework.test import APIClient

from tests.benchmarks.conftest import Calibrated, payload_of_size, post_json
from tests.conftest import legacy_event
from ves import merkle

LOG_EVENTS = 1_000


@pytest.mark.parametrize(("leaves", "rounds"), [(100, 300), (1_000, 80), (10_000, 40)], ids=["100", "1000", "10000"])
def test_merkle_tree_build(calibrated: Calibrated, leaves: int, rounds: int) -> None:
    """``ves.merkle.build_tree`` over ``leaves`` leaf hashes (the VES commitment tree)."""
    hashes = [hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(leaves)]

    tree = calibrated(lambda: merkle.build_tree(hashes), rounds=rounds, cpu_clock=leaves >= 1_000)

    assert tree.proof(leaves - 1).leaf_hash == hashes[-1]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    ["/api/v1/log/proofs/inclusion?sequence_number={seq}&{stream}", "/api/v1/proofs/{seq}?{stream}"],
    ids=["log_inclusion", "commitment"],
)
def test_merkle_proof_gen(calibrated: Calibrated, admin_client: APIClient, path: str, data_scale: int) -> None:
    """One proof through the API: RFC 6962 log inclusion, or the commitment's own Merkle path.

    The stream holds 1,000 legacy events (100 in the xdist smoke run) sealed by one commitment,
    which also appended them to the stream's RFC 6962 log. Positions rotate; the warm-up rounds
    fill the commitment tree cache.
    """
    tenant_id, store_id = uuid.uuid4(), uuid.uuid4()
    payload = payload_of_size(100)
    count = LOG_EVENTS // data_scale
    events = [legacy_event(tenant_id, store_id, payload=payload) for _ in range(count)]
    assert post_json(admin_client, "/api/v1/events/ingest", orjson.dumps({"events": events})).status_code == 200
    seal = {"tenant_id": str(tenant_id), "store_id": str(store_id), "sequence_start": 1, "sequence_end": count}
    assert post_json(admin_client, "/api/v1/commitments", orjson.dumps(seal)).status_code == 200
    stream = f"tenant_id={tenant_id}&store_id={store_id}"
    urls = itertools.cycle(path.format(seq=seq, stream=stream) for seq in range(1, count + 1, 13))

    def prove() -> int:
        return admin_client.get(next(urls)).status_code

    assert calibrated(prove, rounds=300, warmup_rounds=5, database=True) == 200
