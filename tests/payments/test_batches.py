"""Batch assembly, manual batches, receipts with proofs, and record settlement (PostgreSQL)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import orjson
import pytest
from django.test import override_settings
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from payments.limits import MAX_VALIDITY_SECONDS
from payments.models import BatchStatus, IntentStatus, NonceReservation, PaymentBatch, PaymentIntent
from payments.receipts import receipt_verify
from payments.services.batches import BatchKey, batch_assemble, batches_assemble_due
from payments.tasks import batches_assemble, nonces_prune_task
from tests.conftest import Persona, api_client
from tests.payments.helpers import Payer, assembled_batch, post_intent
from tests.tenants.factories import issue_key
from ves.legacy_merkle import build_tree, verify_inclusion

pytestmark = pytest.mark.django_db


@pytest.fixture
def payer(owner: Persona) -> Payer:
    return Payer(owner).register()


def _submit(owner: Persona, payer: Payer, count: int, **extra: object) -> list[str]:
    ids = []
    for nonce in range(count):
        response = post_intent(owner.client, payer.intent(nonce=nonce, **extra))  # type: ignore[arg-type]
        assert response.status_code == 200, response.content
        ids.append(response.json()["intent_id"])
    return ids


def _key(owner: Persona, network: str = "set_chain") -> BatchKey:
    return BatchKey(owner.tenant_id, owner.store_id, network)


def test_not_due_until_full_or_waited(owner: Persona, payer: Payer) -> None:
    _submit(owner, payer, 3)
    assert batch_assemble(key=_key(owner), max_size=10, max_wait=timedelta(hours=1)) is None
    full = batch_assemble(key=_key(owner), max_size=2, max_wait=timedelta(hours=1))
    assert full is not None
    assert (full.payment_count, full.sequence_start, full.sequence_end) == (2, 1, 2)
    rest = batch_assemble(key=_key(owner), max_size=10, max_wait=timedelta(0))
    assert rest is not None
    assert (rest.payment_count, rest.sequence_start, rest.sequence_end) == (1, 3, 3)
    assert not PaymentIntent.objects.filter(tenant_id=owner.tenant_id, status=IntentStatus.SEQUENCED).exists()


@override_settings(X402_BATCH_MAX_SIZE=2, X402_BATCH_MAX_WAIT_SECONDS=0, X402_BATCH_NETWORKS=["set_chain"])
def test_periodic_task_batches_everything_due_per_network(owner: Persona, payer: Payer) -> None:
    _submit(owner, payer, 5)
    post_intent(owner.client, payer.intent(nonce=99, network="base"))
    committed = batches_assemble()
    assert committed is not None
    assert len(committed) == 3
    batches = PaymentBatch.objects.filter(tenant_id=owner.tenant_id).order_by("sequence_start")
    assert [(b.sequence_start, b.sequence_end) for b in batches] == [(1, 2), (3, 4), (5, 5)]
    assert all(b.status == BatchStatus.COMMITTED for b in batches)
    assert PaymentIntent.objects.get(network="base", tenant_id=owner.tenant_id).status == IntentStatus.SEQUENCED
    assert batches_assemble_due() == []


def test_totals_and_roots(owner: Persona, payer: Payer) -> None:
    _submit(owner, payer, 3, amount=250)
    batch = batch_assemble(key=_key(owner), max_size=3, max_wait=timedelta(0))
    assert batch is not None
    assert batch.total_amounts == [{"asset": "usdc", "total_amount": "750", "payment_count": 3}]  # stored exact
    wire = owner.client.get(f"/api/v1/x402/batches/{batch.batch_id}").json()["batch"]["total_amounts"]
    assert wire == [{"asset": "usdc", "total_amount": 750, "payment_count": 3}]
    assert batch.merkle_root is not None
    assert len(bytes(batch.merkle_root)) == 32
    assert len(bytes(batch.new_state_root or b"")) == 32


def test_manual_batch_receipt_proofs_and_record_settlement(owner: Persona, payer: Payer, admin_client: object) -> None:
    ids = _submit(owner, payer, 5)
    body = {"tenant_id": str(owner.tenant_id), "store_id": str(owner.store_id), "network": "set_chain"}
    created = owner.client.post(
        "/api/v1/x402/batches", data=orjson.dumps({**body, "intent_ids": ids[:3]}), content_type="application/json"
    )
    assert created.status_code == 200, created.content
    batch = created.json()
    assert batch["sequence_range"] == [1, 3]
    assert batch["status"] == "committed"
    detail = owner.client.get(f"/api/v1/x402/batches/{batch['batch_id']}").json()["batch"]
    assert detail["intent_ids"] == ids[:3]
    for intent_id in ids[:3]:
        receipt = owner.client.get(f"/api/v1/x402/payments/{intent_id}/receipt").json()["receipt"]
        assert receipt["merkle_root"] == batch["merkle_root"]
        assert receipt_verify(receipt)
        tampered = {**receipt, "amount": receipt["amount"] + 1}
        assert not receipt_verify(tampered)
    again = owner.client.post(
        "/api/v1/x402/batches", data=orjson.dumps({**body, "intent_ids": ids[2:4]}), content_type="application/json"
    )
    assert again.status_code == 400
    assert again.json()["code"] == "invalid_batch_request"

    settle = "/api/v1/x402/batches/settle"
    tx = "0x" + "ab" * 32

    def post(data: dict[str, object]) -> object:
        return owner.client.post(settle, data=orjson.dumps(data), content_type="application/json")

    assert post({"batch_id": batch["batch_id"], "block_number": 5}).status_code == 400  # type: ignore[attr-defined]
    submitted = post({"batch_id": batch["batch_id"], "tx_hash": tx})
    assert submitted.json()["status"] == "submitted"  # type: ignore[attr-defined]
    wrong = post({"batch_id": batch["batch_id"], "tx_hash": "0x" + "cd" * 32, "block_number": 9})
    assert wrong.json()["code"] == "invalid_state_transition"  # type: ignore[attr-defined]
    settled = post({"batch_id": batch["batch_id"], "block_number": 9, "gas_used": 21000})
    assert settled.json()["status"] == "settled"  # type: ignore[attr-defined]
    assert post({"batch_id": batch["batch_id"], "block_number": 9}).status_code == 200  # type: ignore[attr-defined]
    assert post({"batch_id": batch["batch_id"], "block_number": 10}).status_code == 400  # type: ignore[attr-defined]
    assert post({"batch_id": batch["batch_id"], "gas_used": 1}).status_code == 400  # type: ignore[attr-defined]
    statuses = set(PaymentIntent.objects.filter(batch_id=batch["batch_id"]).values_list("status", flat=True))
    assert statuses == {IntentStatus.SETTLED}
    receipt = owner.client.get(f"/api/v1/x402/payments/{ids[0]}/receipt").json()["receipt"]
    assert (receipt["tx_hash"], receipt["block_number"]) == (tx, 9)


def test_a_batch_settled_without_gas_used_refuses_a_later_one_and_keeps_none(owner: Persona, payer: Payer) -> None:
    ids = _submit(owner, payer, 1)
    body = {"tenant_id": str(owner.tenant_id), "store_id": str(owner.store_id), "network": "set_chain"}
    created = owner.client.post(
        "/api/v1/x402/batches", data=orjson.dumps({**body, "intent_ids": ids}), content_type="application/json"
    )
    batch_id = created.json()["batch_id"]

    def settle(data: dict[str, object]) -> Any:
        body = orjson.dumps({"batch_id": batch_id, **data})
        return owner.client.post("/api/v1/x402/batches/settle", data=body, content_type="application/json")

    tx = "0x" + "11" * 32
    assert settle({"tx_hash": tx, "block_number": 5}).json()["status"] == "settled"
    late = settle({"gas_used": 1})
    assert late.status_code == 400
    assert late.json()["code"] == "invalid_state_transition"
    assert late.json()["field"] == "gas_used"
    assert settle({"tx_hash": tx, "block_number": 5}).status_code == 200  # the same settlement again
    assert PaymentBatch.objects.get(tenant_id=owner.tenant_id, batch_id=batch_id).gas_used is None


def test_manual_batch_requires_admin(owner: Persona, member: Persona) -> None:
    body = {"tenant_id": str(owner.tenant_id), "store_id": str(member.store_id), "network": "set_chain"}
    response = member.client.post("/api/v1/x402/batches", data=orjson.dumps(body), content_type="application/json")
    assert response.status_code == 403
    empty = owner.client.post("/api/v1/x402/batches", data=orjson.dumps(body), content_type="application/json")
    assert empty.status_code == 400
    assert empty.json()["code"] == "invalid_batch_request"


def test_unknown_batch_is_404(owner: Persona) -> None:
    response = owner.client.get(f"/api/v1/x402/batches/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.json()["code"] == "batch_not_found"


def test_nonce_prune_forgets_only_old_reservations(owner: Persona, payer: Payer) -> None:
    _submit(owner, payer, 3)
    now = timezone.now()
    NonceReservation.objects.filter(nonce=0).update(created_at=now - timedelta(hours=49))
    # kept until twice the longest validity an intent can claim has passed
    NonceReservation.objects.filter(nonce=1).update(created_at=now - timedelta(seconds=2 * MAX_VALIDITY_SECONDS - 60))
    assert nonces_prune_task() == 1
    assert sorted(NonceReservation.objects.values_list("nonce", flat=True)) == [1, 2]


@given(count=st.integers(min_value=1, max_value=40), data=st.data())
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_every_leaf_proof_verifies_and_tampering_fails(count: int, data: st.DataObject) -> None:
    """Property: for any batch size, each receipt-shaped proof verifies and only for its own leaf."""
    leaves = [hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(count)]
    tree = build_tree(leaves)
    index = data.draw(st.integers(min_value=0, max_value=count - 1))
    proof = tree.proof(index)
    assert verify_inclusion(
        leaf_hash=leaves[index], root=tree.root, path=proof.path, leaf_index=index, leaf_count=count
    )
    other = data.draw(st.integers(min_value=0, max_value=count - 1))
    if other != index:
        assert not verify_inclusion(
            leaf_hash=leaves[other], root=tree.root, path=proof.path, leaf_index=index, leaf_count=count
        )


def _store_key(owner: Persona, store_id: uuid.UUID, *, can_admin: bool) -> Persona:
    key = issue_key(owner.tenant, can_write=True, can_admin=can_admin, store_ids=[store_id])
    return Persona(owner.tenant, store_id, key, api_client(key))


def _settle(persona: Persona, body: Mapping[str, object]) -> Any:
    data = orjson.dumps(body)
    return persona.client.post("/api/v1/x402/batches/settle", data=data, content_type="application/json")


def test_settle_finds_and_authorises_the_batch_itself(owner: Persona, member: Persona, outsider: Persona) -> None:
    batch = assembled_batch(owner, count=1)
    body = {"batch_id": str(batch.batch_id), "tx_hash": "0x" + "ab" * 32}
    assert _settle(outsider, body).json()["code"] == "batch_not_found"
    # a store-scoped key sees only its stores: another store's batch is not found, not forbidden
    assert _settle(member, body).json()["code"] == "batch_not_found"
    writer = _store_key(owner, batch.store_id, can_admin=False)
    assert (_settle(writer, body).status_code, _settle(writer, body).json()["code"]) == (403, "permission_denied")
    assert _settle(_store_key(owner, batch.store_id, can_admin=True), body).status_code == 200
    stored = PaymentBatch.objects.get(tenant_id=owner.tenant_id, batch_id=batch.batch_id)
    assert (stored.status, stored.tx_hash) == (BatchStatus.SUBMITTED, body["tx_hash"])


def test_settle_refuses_a_tx_hash_with_blanks_and_parses_before_looking_the_batch_up(owner: Persona) -> None:
    batch = assembled_batch(owner, count=1)
    spaced = _settle(owner, {"batch_id": str(batch.batch_id), "tx_hash": "0x" + "ab" * 31 + "  ab"})
    # bytes.fromhex skips blanks: this was recorded as the batch's transaction
    assert (spaced.status_code, spaced.json()["code"]) == (400, "invalid_state_transition"), spaced.content
    assert list(spaced.json()["errors"]) == ["tx_hash"]
    assert PaymentBatch.objects.get(tenant_id=owner.tenant_id, batch_id=batch.batch_id).status == BatchStatus.COMMITTED
    # the view parses the body, then calls the service: a mistyped member is 422 before any lookup
    unknown = _settle(owner, {"batch_id": str(uuid.uuid4()), "block_number": "9"})
    assert (unknown.status_code, unknown.json()["code"]) == (422, "invalid_request")
