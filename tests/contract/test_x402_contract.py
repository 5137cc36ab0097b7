"""x402 answers against the Rust reference's shapes, JSON types and status codes.

Every route of the reference's x402 router (``src/api/handlers/x402.rs`` ``x402_router``,
nested at ``/api/v1/x402`` by ``src/api/mod.rs``) is called the way the reference's own client
(``cli/src/x402/client.js``) calls it, and the answer is checked against the reference's
response structs (``src/domain/x402_payment.rs``; the settle and batch-create structs live in
the handler). The rules read from there:

* every reference field is present with its JSON type (extra fields are allowed: ours are
  documented in docs/payments.md); ``Option`` fields are ``null`` when empty, except the
  32-byte hashes marked ``skip_serializing_if``, which are left out;
* ``DateTime<Utc>`` is written by serde as RFC 3339 ending in ``Z``;
* ``signing_hash``, ``payer_signature``, receipt and create-batch roots carry ``0x``; the
  batch's roots and an intent's ``payer_public_key`` are plain hex;
* success is 200 everywhere; ``BATCH_TOO_LARGE`` is 413; errors stay problem+json.

The signing hash is recomputed here from the formula (not with the server's code), so these
tests also pin the byte format a reference client signs.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
import uuid
from typing import Any

import orjson
import pytest
from rest_framework.test import APIClient

from payments.receipts import receipt_verify
from tests.conftest import Persona
from tests.events.ves_helpers import register_key
from ves.signing import public_key_from_seed, sign

pytestmark = pytest.mark.django_db

X402 = "/api/v1/x402"
RFC3339_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$")
HEX64_0X = re.compile(r"^0x[0-9a-f]{64}$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")
SIG_0X = re.compile(r"^0x[0-9a-f]{128}$")
CHAIN_IDS = {"set_chain": 84532001, "base": 8453, "ethereum": 1}
PAYEE = "0x" + "cd" * 20

# The reference's structs, field by field (name → JSON type check).
SUBMIT_RESPONSE = ("intent_id", "status", "sequence_number", "sequenced_at", "batch_id")
INTENT_FIELDS = (
    "intent_id",
    "x402_version",
    "status",
    "tenant_id",
    "store_id",
    "source_agent_id",
    "agent_key_id",
    "payer_address",
    "payee_address",
    "amount",
    "asset",
    "network",
    "chain_id",
    "token_address",
    "created_at_unix",
    "valid_until",
    "nonce",
    "idempotency_key",
    "resource_uri",
    "description",
    "order_id",
    "merchant_id",
    "signing_hash",
    "payer_signature",
    "sequence_number",
    "sequenced_at",
    "batch_id",
    "tx_hash",
    "block_number",
    "settled_at",
    "metadata",
    "created_at",
    "updated_at",
)
BATCH_FIELDS = (
    "batch_id",
    "status",
    "tenant_id",
    "store_id",
    "network",
    "payment_count",
    "total_amounts",
    "sequence_start",
    "sequence_end",
    "intent_ids",
    "tx_hash",
    "block_number",
    "gas_used",
    "created_at",
    "committed_at",
    "submitted_at",
    "settled_at",
)
CREATE_BATCH_RESPONSE = ("batch_id", "status", "payment_count", "merkle_root", "sequence_range")
SETTLE_RESPONSE = ("batch_id", "status", "tx_hash", "block_number", "gas_used", "message")
RECEIPT_FIELDS = (
    "receipt_id",
    "intent_id",
    "sequence_number",
    "batch_id",
    "merkle_root",
    "inclusion_proof",
    "leaf_index",
    "total_leaves",
    "payer_address",
    "payee_address",
    "amount",
    "asset",
    "network",
    "chain_id",
    "nonce",
    "valid_until",
    "signing_hash",
    "payer_signature",
    "tx_hash",
    "block_number",
    "created_at",
)


def _u64(value: int) -> bytes:
    return value.to_bytes(8, "big")


def reference_signing_hash(
    payer: str, payee: str, amount: int, asset: str, network: str, valid_until: int, nonce: int
) -> bytes:
    """The reference's ``compute_signing_hash``: raw UTF-8 strings, big-endian u64 integers."""
    return hashlib.sha256(
        b"X402_PAYMENT_V1"
        + payer.encode()
        + payee.encode()
        + _u64(amount)
        + asset.encode()
        + network.encode()
        + _u64(CHAIN_IDS[network])
        + _u64(valid_until)
        + _u64(nonce)
    ).digest()


class ReferenceAgent:
    """An agent that builds requests as the reference client does: its payer address is its
    Ed25519 public key in hex, and it always sends that key as ``payer_public_key``."""

    def __init__(self, persona: Persona) -> None:
        self.persona = persona
        self.agent_id = uuid.uuid4()
        self.seed = os.urandom(32)
        self.public_key = public_key_from_seed(self.seed)
        self.address = "0x" + self.public_key.hex()

    def register(self) -> ReferenceAgent:
        """What our server needs and the reference does not: the agent's key, registered by a
        tenant admin through the API (ADR 0006)."""
        response = register_key(self.persona.client, self.persona.tenant_id, self.agent_id, 1, self.public_key)
        assert response.status_code in (200, 201), response.content
        return self

    def body(self, *, nonce: int, amount: int = 1_000_000, asset: str = "usdc", **extra: Any) -> dict[str, Any]:
        valid_until = int(time.time()) + 3600
        hashed_asset = {"ss_usd": "ssusd", "wss_usd": "wssusd"}.get(
            asset, asset
        )  # the server hashes the canonical name
        digest = reference_signing_hash(self.address, PAYEE, amount, hashed_asset, "set_chain", valid_until, nonce)
        body = {
            "tenant_id": str(self.persona.tenant_id),
            "store_id": str(self.persona.store_id),
            "agent_id": str(self.agent_id),
            "agent_key_id": 1,
            "payer_address": self.address,
            "payee_address": PAYEE,
            "amount": amount,
            "asset": asset,
            "network": "set_chain",
            "valid_until": valid_until,
            "nonce": nonce,
            "signing_hash": "0x" + digest.hex(),
            "payer_signature": "0x" + sign(self.seed, digest).hex(),
            "payer_public_key": "0x" + self.public_key.hex(),
        }
        body.update(extra)
        return body


def _post(client: APIClient, path: str, body: Any) -> Any:
    return client.post(path, data=orjson.dumps(body), content_type="application/json")


def _problem(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    assert (response.json()["status"], response.json()["code"]) == (status, code)


def _is_uuid(value: object) -> bool:
    return isinstance(value, str) and str(uuid.UUID(value)) == value


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _optional(value: object, check: Any) -> bool:
    return value is None or check(value)


def _timestamp(value: object) -> bool:
    return isinstance(value, str) and RFC3339_Z.match(value) is not None


def _has_fields(body: dict[str, Any], names: tuple[str, ...]) -> None:
    missing = [n for n in names if n not in body]
    assert not missing, f"missing reference fields {missing} in {sorted(body)}"


@pytest.fixture
def agent(owner: Persona) -> ReferenceAgent:
    return ReferenceAgent(owner).register()


def _submit(agent: ReferenceAgent, nonce: int, **extra: Any) -> dict[str, Any]:
    response = _post(agent.persona.client, f"{X402}/payments", agent.body(nonce=nonce, **extra))
    assert response.status_code == 200, response.content
    return dict(response.json())


def _batch(agent: ReferenceAgent) -> dict[str, Any]:
    body = {"tenant_id": str(agent.persona.tenant_id), "store_id": str(agent.persona.store_id), "network": "set_chain"}
    response = _post(agent.persona.client, f"{X402}/batches", {**body, "max_size": 100})
    assert response.status_code == 200, response.content
    return dict(response.json())


# --- POST /api/v1/x402/payments -------------------------------------------------------------


def test_submit_answers_200_with_the_reference_response(agent: ReferenceAgent) -> None:
    body = _submit(agent, 1)

    _has_fields(body, SUBMIT_RESPONSE)
    assert _is_uuid(body["intent_id"])
    assert body["status"] == "sequenced"
    assert body["sequence_number"] == 1
    assert _timestamp(body["sequenced_at"]), body["sequenced_at"]
    assert body["batch_id"] is None


def test_an_idempotent_replay_also_answers_200_with_the_same_intent(agent: ReferenceAgent) -> None:
    request = agent.body(nonce=1, idempotency_key="order-1")
    first = _post(agent.persona.client, f"{X402}/payments", request)
    again = _post(agent.persona.client, f"{X402}/payments", request)

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()


def test_source_agent_id_is_an_alias_of_agent_id(agent: ReferenceAgent) -> None:
    request = agent.body(nonce=1)
    request["source_agent_id"] = request.pop("agent_id")
    assert _post(agent.persona.client, f"{X402}/payments", request).status_code == 200

    both = agent.body(nonce=2, source_agent_id=str(agent.agent_id))
    assert _post(agent.persona.client, f"{X402}/payments", both).status_code == 200

    differing = agent.body(nonce=3, source_agent_id=str(uuid.uuid4()))
    _problem(_post(agent.persona.client, f"{X402}/payments", differing), 400, "invalid_payment_field")
    missing = agent.body(nonce=4)
    del missing["agent_id"]
    _problem(_post(agent.persona.client, f"{X402}/payments", missing), 400, "invalid_payment_field")


@pytest.mark.parametrize("name", ["idempotency_key", "resource_uri", "description", "merchant_id", "order_id"])
def test_a_blank_optional_text_is_refused_as_the_reference_does(agent: ReferenceAgent, name: str) -> None:
    body = agent.body(nonce=1)
    body[name] = "  "
    _problem(_post(agent.persona.client, f"{X402}/payments", body), 400, "invalid_payment_field")


@pytest.mark.parametrize(("sent", "stored"), [("ss_usd", "ssusd"), ("wss_usd", "wssusd"), ("ssusd", "ssusd")])
def test_the_reference_asset_aliases_are_accepted_and_answered_canonically(
    agent: ReferenceAgent, sent: str, stored: str
) -> None:
    created = _submit(agent, 1, asset=sent)
    listed = agent.persona.client.get(
        f"{X402}/payments", {"tenant_id": str(agent.persona.tenant_id), "store_id": str(agent.persona.store_id)}
    ).json()

    assert [(i["intent_id"], i["asset"]) for i in listed] == [(created["intent_id"], stored)]
    by_alias = agent.persona.client.get(
        f"{X402}/payments", {"tenant_id": str(agent.persona.tenant_id), "asset": sent}
    ).json()
    assert [i["intent_id"] for i in by_alias] == [created["intent_id"]]


# --- GET /api/v1/x402/payments/{intent_id} --------------------------------------------------


def test_get_intent_is_the_flat_status_object(agent: ReferenceAgent) -> None:
    created = _submit(agent, 1)

    response = agent.persona.client.get(f"{X402}/payments/{created['intent_id']}")

    assert response.status_code == 200
    assert response.json() == created
    _problem(agent.persona.client.get(f"{X402}/payments/{uuid.uuid4()}"), 404, "payment_not_found")


# --- GET /api/v1/x402/payments ----------------------------------------------------------------


def test_list_is_a_bare_array_of_full_intents(agent: ReferenceAgent) -> None:
    _submit(agent, 1, description="api access", resource_uri="https://example.com/r/1")
    plain = agent.body(nonce=2)
    del plain["payer_public_key"]
    assert _post(agent.persona.client, f"{X402}/payments", plain).status_code == 200

    response = agent.persona.client.get(
        f"{X402}/payments", {"tenant_id": str(agent.persona.tenant_id), "store_id": str(agent.persona.store_id)}
    )

    assert response.status_code == 200
    listed = response.json()
    assert isinstance(listed, list)
    assert [i["nonce"] for i in listed] == [2, 1]  # newest first
    for intent in listed:
        _has_fields(intent, INTENT_FIELDS)
        assert all(_is_uuid(intent[n]) for n in ("intent_id", "tenant_id", "store_id", "source_agent_id"))
        assert intent["source_agent_id"] == str(agent.agent_id)
        ints = ("x402_version", "agent_key_id", "amount", "chain_id", "created_at_unix", "valid_until", "nonce")
        assert all(_is_int(intent[n]) for n in (*ints, "sequence_number"))
        assert (intent["x402_version"], intent["agent_key_id"], intent["chain_id"]) == (1, 1, 84532001)
        assert (intent["asset"], intent["network"], intent["status"]) == ("usdc", "set_chain", "sequenced")
        assert intent["token_address"] == "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"
        assert HEX64_0X.match(intent["signing_hash"])
        assert SIG_0X.match(intent["payer_signature"])
        assert all(_timestamp(intent[n]) for n in ("sequenced_at", "created_at", "updated_at"))
        assert all(intent[n] is None for n in ("batch_id", "tx_hash", "block_number", "settled_at", "metadata"))
    newest, oldest = listed
    assert "payer_public_key" not in newest  # serde skips an absent key rather than writing null
    assert oldest["payer_public_key"] == agent.public_key.hex()  # plain hex, no 0x
    assert (oldest["description"], oldest["resource_uri"]) == ("api access", "https://example.com/r/1")


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ({"limit": "1001"}, 413, "batch_too_large"),
        ({"limit": "0"}, 400, "invalid_parameter"),
        ({"offset": "10001"}, 400, "invalid_parameter"),
        ({"status": "lost"}, 400, "invalid_parameter"),
        ({"network": "solana"}, 400, "invalid_parameter"),
        ({"asset": "doge"}, 400, "invalid_parameter"),
        ({"from_date": "2026-01-02T00:00:00Z", "to_date": "2026-01-01T00:00:00Z"}, 400, "invalid_parameter"),
    ],
)
def test_list_refuses_what_the_reference_refuses(owner: Persona, query: dict[str, str], status: int, code: str) -> None:
    params = {"tenant_id": str(owner.tenant_id), "store_id": str(owner.store_id), **query}
    _problem(owner.client.get(f"{X402}/payments", params), status, code)


def test_list_limit_of_1000_is_allowed(owner: Persona) -> None:
    response = owner.client.get(f"{X402}/payments", {"tenant_id": str(owner.tenant_id), "limit": "1000"})
    assert (response.status_code, response.json()) == (200, [])


# --- POST /api/v1/x402/batches ----------------------------------------------------------------


def test_create_batch_answers_200_with_the_reference_response(agent: ReferenceAgent) -> None:
    _submit(agent, 1)
    _submit(agent, 2)

    created = _batch(agent)

    _has_fields(created, CREATE_BATCH_RESPONSE)
    assert _is_uuid(created["batch_id"])
    assert (created["status"], created["payment_count"], created["sequence_range"]) == ("committed", 2, [1, 2])
    assert HEX64_0X.match(created["merkle_root"])


def test_create_batch_with_an_empty_intent_list_selects_the_oldest(agent: ReferenceAgent) -> None:
    _submit(agent, 1)
    body = {"tenant_id": str(agent.persona.tenant_id), "store_id": str(agent.persona.store_id), "network": "set_chain"}
    response = _post(agent.persona.client, f"{X402}/batches", {**body, "intent_ids": []})
    assert (response.status_code, response.json()["payment_count"]) == (200, 1)


def test_create_batch_refuses_what_the_reference_refuses(agent: ReferenceAgent) -> None:
    first = _submit(agent, 1)
    stream = {
        "tenant_id": str(agent.persona.tenant_id),
        "store_id": str(agent.persona.store_id),
        "network": "set_chain",
    }
    client = agent.persona.client

    _problem(_post(client, f"{X402}/batches", {**stream, "max_size": 1001}), 413, "batch_too_large")
    _problem(_post(client, f"{X402}/batches", {**stream, "max_size": 0}), 400, "invalid_batch_request")
    two = [first["intent_id"], str(uuid.uuid4())]
    _problem(_post(client, f"{X402}/batches", {**stream, "max_size": 1, "intent_ids": two}), 413, "batch_too_large")
    _problem(_post(client, f"{X402}/batches", {**stream, "intent_ids": [str(uuid.uuid4())]}), 404, "payment_not_found")
    twice = [first["intent_id"], first["intent_id"]]
    _problem(_post(client, f"{X402}/batches", {**stream, "intent_ids": twice}), 400, "invalid_batch_request")
    _problem(_post(client, f"{X402}/batches", {**stream, "network": "base"}), 400, "invalid_batch_request")


# --- GET /api/v1/x402/batches/{batch_id} ----------------------------------------------------


def test_get_batch_is_wrapped_with_the_reference_fields(agent: ReferenceAgent) -> None:
    ids = [_submit(agent, n, amount=n * 1_000_000)["intent_id"] for n in (1, 2)]
    created = _batch(agent)

    response = agent.persona.client.get(f"{X402}/batches/{created['batch_id']}")

    assert response.status_code == 200
    assert list(response.json()) == ["batch"]
    batch = response.json()["batch"]
    _has_fields(batch, BATCH_FIELDS)
    assert (batch["batch_id"], batch["status"], batch["network"]) == (created["batch_id"], "committed", "set_chain")
    assert (batch["tenant_id"], batch["store_id"]) == (str(agent.persona.tenant_id), str(agent.persona.store_id))
    assert (batch["payment_count"], batch["sequence_start"], batch["sequence_end"]) == (2, 1, 2)
    assert batch["total_amounts"] == [{"asset": "usdc", "total_amount": 3_000_000, "payment_count": 2}]
    assert "0x" + batch["merkle_root"] == created["merkle_root"]  # plain hex here, 0x when created
    assert HEX64.match(batch["new_state_root"])
    assert "prev_state_root" not in batch  # never set; serde skips it
    assert batch["intent_ids"] in ([], ids)  # the reference always answers []; we list the leaves
    assert (batch["tx_hash"], batch["block_number"], batch["gas_used"]) == (None, None, None)
    assert _timestamp(batch["created_at"])
    assert _timestamp(batch["committed_at"])
    assert (batch["submitted_at"], batch["settled_at"]) == (None, None)
    _problem(agent.persona.client.get(f"{X402}/batches/{uuid.uuid4()}"), 404, "batch_not_found")


# --- POST /api/v1/x402/batches/settle -------------------------------------------------------


def test_settle_answers_the_flat_reference_response_in_every_state(agent: ReferenceAgent) -> None:
    _submit(agent, 1)
    batch_id = _batch(agent)["batch_id"]
    tx = "0x" + "ab" * 32
    client = agent.persona.client

    def settle(**body: Any) -> dict[str, Any]:
        response = _post(client, f"{X402}/batches/settle", {"batch_id": batch_id, **body})
        assert response.status_code == 200, response.content
        answer = dict(response.json())
        assert list(answer) == list(SETTLE_RESPONSE)
        return answer

    submitted = settle(tx_hash=tx, gas_used=5)
    assert submitted == {
        "batch_id": batch_id,
        "status": "submitted",
        "tx_hash": tx,
        "block_number": None,
        "gas_used": None,
        "message": "Batch submission recorded",
    }
    confirmed = settle(block_number=42, gas_used=21_000)
    assert (confirmed["status"], confirmed["tx_hash"], confirmed["block_number"], confirmed["gas_used"]) == (
        "settled",
        tx,
        42,
        21_000,
    )
    assert confirmed["message"] == "Batch settlement confirmed"
    again = settle(tx_hash=tx)
    assert {**again, "message": None} == {**confirmed, "message": None}
    assert again["message"] == "Batch already settled"
    _problem(
        _post(client, f"{X402}/batches/settle", {"batch_id": batch_id, "gas_used": 1}), 400, "invalid_state_transition"
    )

    intent = client.get(f"{X402}/payments", {"tenant_id": str(agent.persona.tenant_id)}).json()[0]
    assert (intent["status"], intent["tx_hash"], intent["block_number"]) == ("settled", tx, 42)
    assert _timestamp(intent["settled_at"])


def test_settle_of_a_committed_batch_with_its_block_settles_at_once(agent: ReferenceAgent) -> None:
    _submit(agent, 1)
    batch_id = _batch(agent)["batch_id"]
    tx = "0x" + "ef" * 32

    response = _post(
        agent.persona.client, f"{X402}/batches/settle", {"batch_id": batch_id, "tx_hash": tx, "block_number": 7}
    )

    assert response.status_code == 200
    assert response.json() == {
        "batch_id": batch_id,
        "status": "settled",
        "tx_hash": tx,
        "block_number": 7,
        "gas_used": None,
        "message": "Batch submitted and settled",
    }


def test_settle_refuses_what_the_reference_refuses(agent: ReferenceAgent) -> None:
    _submit(agent, 1)
    batch_id = _batch(agent)["batch_id"]
    client = agent.persona.client

    _problem(_post(client, f"{X402}/batches/settle", {"batch_id": batch_id}), 400, "invalid_state_transition")
    bad_hash = {"batch_id": batch_id, "tx_hash": "0x1234"}
    _problem(_post(client, f"{X402}/batches/settle", bad_hash), 400, "invalid_state_transition")
    unknown = {"batch_id": str(uuid.uuid4()), "tx_hash": "0x" + "ab" * 32}
    _problem(_post(client, f"{X402}/batches/settle", unknown), 404, "batch_not_found")


# --- GET /api/v1/x402/payments/{intent_id}/receipt --------------------------------------------


def test_receipt_is_wrapped_with_the_reference_fields_and_verifies(agent: ReferenceAgent) -> None:
    ids = [_submit(agent, n)["intent_id"] for n in (1, 2, 3)]
    created = _batch(agent)

    response = agent.persona.client.get(f"{X402}/payments/{ids[1]}/receipt")

    assert response.status_code == 200
    assert list(response.json()) == ["receipt"]
    receipt = response.json()["receipt"]
    _has_fields(receipt, RECEIPT_FIELDS)
    assert _is_uuid(receipt["receipt_id"])
    assert (receipt["intent_id"], receipt["batch_id"]) == (ids[1], created["batch_id"])
    assert (receipt["sequence_number"], receipt["leaf_index"], receipt["total_leaves"]) == (2, 1, 3)
    assert receipt["merkle_root"] == created["merkle_root"]
    assert all(HEX64_0X.match(p) for p in receipt["inclusion_proof"])
    assert len(receipt["inclusion_proof"]) == 2
    assert (receipt["payer_address"], receipt["payee_address"]) == (agent.address, PAYEE)
    assert (receipt["amount"], receipt["asset"], receipt["network"], receipt["chain_id"]) == (
        1_000_000,
        "usdc",
        "set_chain",
        84532001,
    )
    assert _is_int(receipt["nonce"])
    assert _is_int(receipt["valid_until"])
    assert HEX64_0X.match(receipt["signing_hash"])
    assert SIG_0X.match(receipt["payer_signature"])
    assert (receipt["tx_hash"], receipt["block_number"]) == (None, None)
    assert _timestamp(receipt["created_at"])
    assert receipt_verify(receipt)
    again = agent.persona.client.get(f"{X402}/payments/{ids[1]}/receipt").json()["receipt"]
    assert again["receipt_id"] != receipt["receipt_id"]  # a new receipt on every call, as the reference


def test_receipt_settlement_fields_follow_the_intent(agent: ReferenceAgent) -> None:
    intent_id = _submit(agent, 1)["intent_id"]
    batch_id = _batch(agent)["batch_id"]
    client = agent.persona.client
    tx = "0x" + "12" * 32

    assert _post(client, f"{X402}/batches/settle", {"batch_id": batch_id, "tx_hash": tx}).status_code == 200
    submitted = client.get(f"{X402}/payments/{intent_id}/receipt").json()["receipt"]
    assert (submitted["tx_hash"], submitted["block_number"]) == (None, None)  # the intent is not settled yet

    assert _post(client, f"{X402}/batches/settle", {"batch_id": batch_id, "block_number": 9}).status_code == 200
    settled = client.get(f"{X402}/payments/{intent_id}/receipt").json()["receipt"]
    assert (settled["tx_hash"], settled["block_number"]) == (tx, 9)
