"""Anchoring on a real in-process EVM (eth-tester + py-evm): send, record, read back, refuse."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from django.db import connection
from django.test import override_settings
from eth_abi.abi import decode
from hexbytes import HexBytes
from rest_framework.test import APIClient

from commitments.anchor_chain import MAGIC, RECORD_TYPES, _web3
from sequencer_project.resilience import get_breaker
from tests.commitments.helpers import create, ingest_ves_case, post_json
from tests.conftest import api_client
from tests.sequencer_project.ops_helpers import closed_port
from tests.tenants.factories import issue_key, make_tenant
from tests.ves.ves_case_vectors import CASES
from ves.bundle import verify_bundle
from ves.hashes import stream_id
from ves.signing import public_key_from_seed

pytestmark = pytest.mark.django_db

ANCHOR_KEY = "0x" + bytes(range(1, 33)).hex()
SEED = bytes(range(32))
CHAIN = {"ANCHOR_RPC_URL": "eth-tester://", "ANCHOR_PRIVATE_KEY": ANCHOR_KEY, "VES_SEQUENCER_SIGNING_KEY": SEED.hex()}


@pytest.fixture(autouse=True)
def _closed_breaker() -> Iterator[None]:
    get_breaker("anchor", failure_threshold=5, reset_timeout=60.0).reset()
    yield
    get_breaker("anchor", failure_threshold=5, reset_timeout=60.0).reset()


def test_without_configuration_a_caller_without_the_right_is_refused_first(admin_client: APIClient) -> None:
    # The rights of the operation come before the 503: a read-only key of another tenant gets
    # the refusal it would get with anchoring configured, not a word about the service.
    case = CASES[0]
    ingest_ves_case(admin_client, case)
    batch = create(admin_client, "ves/", case["tenant_id"], case["store_id"], 1, 1).json()["batch_id"]
    outsider = make_tenant()
    reader = api_client(issue_key(outsider))
    for response, code in (
        (
            post_json(
                reader, "/api/v1/ves/commitments/anchor", {"tenant_id": case["tenant_id"], "store_id": case["store_id"]}
            ),
            "tenant_access_denied",
        ),
        (post_json(reader, "/api/v1/ves/anchor", {"batch_id": batch}), "permission_denied"),
        (post_json(reader, "/api/v1/anchor", {"batch_id": batch}), "permission_denied"),
    ):
        assert (response.status_code, response.json()["code"]) == (403, code)


def test_without_configuration_anchoring_answers_503(admin_client: APIClient) -> None:
    case = CASES[0]
    ingest_ves_case(admin_client, case)
    batch = create(admin_client, "ves/", case["tenant_id"], case["store_id"], 1, 1).json()["batch_id"]
    for response in (
        post_json(
            admin_client,
            "/api/v1/ves/commitments/anchor",
            {"tenant_id": case["tenant_id"], "store_id": case["store_id"]},
        ),
        post_json(admin_client, "/api/v1/ves/anchor", {"batch_id": batch}),
        admin_client.get(f"/api/v1/ves/anchor/{batch}/verify"),
    ):
        assert response.status_code == 503
        assert response.json()["code"] == "anchoring_unconfigured"
    assert admin_client.get("/api/v1/anchor/status").json()["anchor_enabled"] is False


@override_settings(**CHAIN)
def test_anchor_record_and_read_back_from_the_chain(admin_client: APIClient) -> None:
    case = CASES[3]  # 9 events
    ingest_ves_case(admin_client, case)
    t, s = case["tenant_id"], case["store_id"]

    first = post_json(admin_client, "/api/v1/ves/commitments/anchor", {"tenant_id": t, "store_id": s, "max_events": 4})
    assert first.status_code == 200, first.content
    body = first.json()
    assert (body["status"], body["sequence_start"], body["sequence_end"]) == ("anchored", 1, 4)
    assert len(body["chain_tx_hash"]) == 64
    w3 = _web3()
    assert body["chain_id"] == w3.eth.chain_id

    # the transaction on chain records the stream, range and roots
    tx = w3.eth.get_transaction(HexBytes(body["chain_tx_hash"]))
    data = bytes(tx["input"])
    assert data.startswith(MAGIC)
    fields = decode(RECORD_TYPES, data[len(MAGIC) :])
    assert fields[0] == stream_id(uuid.UUID(t), uuid.UUID(s))
    assert fields[2] == uuid.UUID(body["batch_id"]).bytes
    assert (fields[3], fields[4]) == (1, 4)
    assert (fields[5].hex(), fields[6].hex()) == (body["merkle_root"], body["new_state_root"])
    assert w3.eth.get_transaction_receipt(HexBytes(body["chain_tx_hash"]))["blockNumber"] == body["chain_block_number"]

    second = post_json(admin_client, "/api/v1/ves/commitments/anchor", {"tenant_id": t, "store_id": s}).json()
    assert (second["sequence_start"], second["sequence_end"], second["status"]) == (5, 9, "anchored")
    assert second["prev_state_root"] == body["new_state_root"]
    again = post_json(admin_client, "/api/v1/ves/anchor", {"batch_id": body["batch_id"]}).json()
    assert (again["status"], again["chain_tx_hash"]) == ("already_anchored", body["chain_tx_hash"])

    verified = admin_client.get(f"/api/v1/ves/anchor/{body['batch_id']}/verify").json()
    assert (verified["anchored_on_chain"], verified["reason"]) == (True, "ok")
    detail = admin_client.get(f"/api/v1/ves/commitments/{body['batch_id']}").json()
    assert (detail["is_anchored"], detail["chain_tx_hash"]) == (True, body["chain_tx_hash"])
    assert detail["anchored_at"] is not None
    listed = admin_client.get(f"/api/v1/ves/commitments?tenant_id={t}&store_id={s}&anchored=true").json()
    assert listed["count"] == 2

    bundle = json.loads(
        admin_client.get(f"/api/v1/ves/events/{case['events'][0]['event_id']}/bundle?tenant_id={t}").content
    )
    assert bundle["anchor"]["chain_tx_hash"] == body["chain_tx_hash"]
    assert [r.name for r in verify_bundle(bundle, public_key_from_seed(SEED)) if not r.ok] == []

    # a commitment whose stored root no longer matches the chain is reported, not confirmed
    with connection.cursor() as cursor:
        cursor.execute("UPDATE commitments SET merkle_root = %s WHERE batch_id = %s", [b"\x07" * 32, body["batch_id"]])
    tampered = admin_client.get(f"/api/v1/ves/anchor/{body['batch_id']}/verify").json()
    assert tampered["anchored_on_chain"] is False
    assert "calldata" in tampered["reason"]


@override_settings(**{**CHAIN, "ANCHOR_RPC_URL": f"http://127.0.0.1:{closed_port()}", "ANCHOR_RETRY_ATTEMPTS": 2})
def test_an_unreachable_chain_is_503_and_nothing_is_recorded(admin_client: APIClient) -> None:
    case = CASES[0]
    ingest_ves_case(admin_client, case)
    batch = create(admin_client, "ves/", case["tenant_id"], case["store_id"], 1, 1).json()["batch_id"]
    for _ in range(5):  # retried with backoff each time, then the breaker opens
        response = post_json(admin_client, "/api/v1/ves/anchor", {"batch_id": batch})
        assert response.status_code == 503
        assert response.json()["code"] == "anchor_unavailable"
    assert get_breaker("anchor").state.value == "open"
    assert "Retry-After" in post_json(admin_client, "/api/v1/ves/anchor", {"batch_id": batch})
    assert admin_client.get(f"/api/v1/ves/commitments/{batch}").json()["is_anchored"] is False


@override_settings(**CHAIN)
def test_commit_and_anchor_refuses_its_members_naming_them(admin_client: APIClient) -> None:
    url = "/api/v1/ves/commitments/anchor"
    stream = {"tenant_id": str(uuid.uuid4()), "store_id": str(uuid.uuid4())}
    for given, missing in (("sequence_start", "sequence_end"), ("sequence_end", "sequence_start")):
        response = post_json(admin_client, url, stream | {given: 1})
        assert (response.status_code, response.json()["code"]) == (422, "invalid_request")
        assert list(response.json()["errors"]) == [missing]
    zero = post_json(admin_client, url, stream | {"max_events": 0})
    assert (zero.status_code, zero.json()["code"], list(zero.json()["errors"])) == (
        400,
        "invalid_field_value",
        ["max_events"],
    )
    # with both bounds max_events is not read: the empty stream's range is refused instead
    bounded = post_json(admin_client, url, stream | {"sequence_start": 1, "sequence_end": 1, "max_events": 0})
    assert (bounded.status_code, bounded.json()["code"]) == (400, "commitment_beyond_head")


def test_a_malformed_anchor_notice_names_its_member(admin_client: APIClient) -> None:
    url = f"/v1/commitments/{uuid.uuid4()}/anchored"
    for body, member in (
        ({"chain_tx_hash": "ab" * 31, "chain_id": 1}, "chain_tx_hash"),
        ({"chain_tx_hash": "ab" * 16 + " " + "ab" * 16, "chain_id": 1}, "chain_tx_hash"),
        ({"chain_tx_hash": "ab" * 32, "chain_id": 2**32}, "chain_id"),
    ):
        response = post_json(admin_client, url, body)
        assert (response.status_code, response.json()["code"]) == (400, "invalid_anchor_record"), body
        assert (response.json()["field"], list(response.json()["errors"])) == (member, [member])
    # blanks around the hash are ignored (the anchor-service contract); the batch is then unknown
    padded = post_json(admin_client, url, {"chain_tx_hash": " 0x" + "ab" * 32 + "\n", "chain_id": 1})
    assert (padded.status_code, padded.json()["code"]) == (404, "commitment_not_found")


def test_an_anchor_notice_refuses_wrong_types_before_out_of_range_values(admin_client: APIClient) -> None:
    """The reference's extractor reads every member's type (422) before its handler checks the
    values (400): a chain id beyond u32 beside an ill-typed block number is the 422."""
    url = f"/v1/commitments/{uuid.uuid4()}/anchored"
    for body, member in (
        ({"chain_tx_hash": "ab" * 32, "chain_id": 2**32, "block_number": "x"}, "block_number"),
        ({"chain_tx_hash": 5, "chain_id": 2**32}, "chain_tx_hash"),
        ({"chain_tx_hash": "ab" * 32, "chain_id": -1}, "chain_id"),
    ):
        response = post_json(admin_client, url, body)
        assert (response.status_code, response.json()["code"]) == (422, "invalid_request"), body
        assert list(response.json()["errors"]) == [member]
