"""VES and legacy commitments and proofs through the API, against all 30 shared cases."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.commitments.helpers import create, ingest_legacy_case, ingest_ves_case, post_json
from tests.ves.ves_case_vectors import CASES

pytestmark = pytest.mark.django_db

COMMITMENT_FIELDS = (
    "tenant_id",
    "store_id",
    "ves_version",
    "tree_depth",
    "leaf_count",
    "padded_leaf_count",
    "merkle_root",
    "prev_state_root",
    "new_state_root",
    "sequence_start",
    "sequence_end",
)


@pytest.mark.parametrize("case", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_ves_commitment_and_proofs_byte_equal_the_shared_case(admin_client: APIClient, case: dict[str, Any]) -> None:
    ingest_ves_case(admin_client, case)
    expected = case["commitment"]

    response = create(admin_client, "ves/", case["tenant_id"], case["store_id"], 1, len(case["events"]))

    assert response.status_code == 200, response.content  # the reference answers 200
    body = response.json()
    assert {k: body[k] for k in COMMITMENT_FIELDS} == {k: expected[k] for k in COMMITMENT_FIELDS}
    assert body["is_anchored"] is False
    batch_id = body["batch_id"]

    detail = admin_client.get(f"/api/v1/ves/commitments/{batch_id}").json()
    assert {k: detail[k] for k in COMMITMENT_FIELDS} == {k: expected[k] for k in COMMITMENT_FIELDS}
    assert (detail["chain_tx_hash"], detail["chain_id"], detail["anchored_at"]) == (None, None, None)

    for event, proof in zip(case["events"], case["proofs"], strict=True):
        seq = event["sequence_number"]
        url = f"/api/v1/ves/proofs/{seq}?tenant_id={case['tenant_id']}&store_id={case['store_id']}"
        served = admin_client.get(url + f"&batch_id={batch_id}").json()
        assert served == {
            "sequence_number": seq,
            "batch_id": batch_id,
            "merkle_root": expected["merkle_root"],
            "leaf_hash": event["leaf_hash"],
            "leaf_index": proof["leaf_index"],
            "proof_path": proof["proof_path"],
            "directions": proof["directions"],
        }
        assert admin_client.get(url).json() == served  # found by covering range without batch_id
        verdict = post_json(
            admin_client,
            "/api/v1/ves/proofs/verify",
            {k: served[k] for k in ("leaf_hash", "merkle_root", "proof_path", "leaf_index")},
        ).json()
        assert verdict == {"valid": True, "leaf_hash": event["leaf_hash"], "merkle_root": expected["merkle_root"]}
        strict = post_json(
            admin_client,
            "/api/v1/ves/proofs/verify",
            {**served, "tree_depth": expected["tree_depth"], "leaf_count": expected["leaf_count"]},
        ).json()
        assert strict["valid"] is True


@pytest.mark.parametrize("case", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_legacy_commitment_and_proofs_equal_the_shared_case(admin_client: APIClient, case: dict[str, Any]) -> None:
    ingest_legacy_case(admin_client, case)
    legacy = case["legacy"]
    n = len(case["events"])

    body = create(admin_client, "", case["tenant_id"], case["store_id"], 1, n).json()

    assert body["events_root"] == legacy["events_root"]
    assert (body["event_count"], body["sequence_start"], body["sequence_end"]) == (n, 1, n)
    assert body["prev_state_root"] == "00" * 32
    for i, proof in enumerate(legacy["proofs"]):
        url = f"/api/v1/proofs/{i + 1}?tenant_id={case['tenant_id']}&store_id={case['store_id']}"
        served = admin_client.get(url).json()
        assert served["events_root"] == legacy["events_root"]
        assert served["leaf_hash"] == legacy["leaves"][i]
        assert served["proof_path"] == proof["proof_path"]
        check = {k: served[k] for k in ("leaf_hash", "events_root", "proof_path", "leaf_index")}
        bound = post_json(admin_client, "/api/v1/proofs/verify", {**check, "leaf_count": n}).json()
        assert bound["valid"] is True
        with_dirs = post_json(admin_client, "/api/v1/proofs/verify", {**check, "directions": served["directions"]})
        assert with_dirs.json()["valid"] is True
        moved = post_json(admin_client, "/api/v1/proofs/verify", {**check, "leaf_index": (i + 1) % n, "leaf_count": n})
        assert moved.json()["valid"] is (n == 1)
