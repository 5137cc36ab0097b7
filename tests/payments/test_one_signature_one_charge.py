"""One payer signature is at most one intent (docs/payments.md, "One signature, one charge").

The x402 signing hash joins payer and payee with no length prefix (the reference's format), so
addresses are held to account forms whose join splits one way only; and the hash covers neither
tenant nor store, so a nonce is reserved per tenant: the same signed body sent to another store of
the tenant is 409 ``payment_signature_reused``. Another tenant is the reference's design (§5.2).
"""

from __future__ import annotations

import dataclasses
import importlib
import uuid
from typing import Any

import pytest
from django.db import connection

from payments.models import NonceReservation, PaymentIntent
from payments.services.payer_accounts import payer_account_grant
from tests.conftest import Persona, api_client
from tests.payments.helpers import Payer, post_intent
from tests.tenants.factories import issue_key, make_tenant

pytestmark = pytest.mark.django_db

A, B = "ab" * 20, "cd" * 20  # two EVM accounts, 40 hex digits each


def _problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    return body


@pytest.fixture
def payer(owner: Persona) -> Payer:
    return Payer(owner).register()


def _pays(payer: Payer, payer_address: str, payee_address: str, *, nonce: int = 1) -> dict[str, Any]:
    return dataclasses.replace(payer, address=payer_address).intent(nonce=nonce, payee_address=payee_address)


# --- addresses: one split of payer || payee ------------------------------------------------------


@pytest.mark.parametrize(
    ("signed", "split", "field"),
    [
        ((A, B), (A + "cd", "cd" * 19), "payer_address"),  # 42 + 38 bare digits
        ((A, B), ("ab" * 19, "ab" + B), "payer_address"),  # 38 + 42
        (("0x" + "ab" * 32, B), ("0x" + A, "ab" * 12 + B), "payee_address"),  # 0x+64 | 40 → 0x+40 | bare 64
    ],
)
def test_a_signature_cannot_be_split_into_other_addresses(
    owner: Persona, payer: Payer, signed: tuple[str, str], split: tuple[str, str], field: str
) -> None:
    original, resplit = _pays(payer, *signed), _pays(payer, *split)
    assert original["signing_hash"] == resplit["signing_hash"]  # one signature over both
    assert original["payer_signature"] == resplit["payer_signature"]

    assert post_intent(owner.client, original).status_code == 200
    refused = _problem(post_intent(owner.client, resplit), 400, "invalid_payment_field")

    assert refused["field"] == field
    assert PaymentIntent.objects.filter(tenant_id=owner.tenant_id).count() == 1


@pytest.mark.parametrize(
    "address",
    ["0x" + A, "0X" + A.upper(), A, "0x" + "ef" * 32],  # an EVM account; the reference client's 32-byte key
)
def test_the_account_forms_are_accepted(owner: Persona, payer: Payer, address: str) -> None:
    assert post_intent(owner.client, _pays(payer, address, "0x" + B)).status_code == 200


@pytest.mark.parametrize("address", ["ef" * 32, "0x" + "ef" * 19, "0x" + "ef" * 21, "ef" * 10, "0x" + "ef" * 31])
def test_other_lengths_are_refused_naming_the_field(owner: Persona, payer: Payer, address: str) -> None:
    as_payer = _problem(post_intent(owner.client, _pays(payer, address, "0x" + B)), 400, "invalid_payment_field")
    as_payee = _problem(post_intent(owner.client, _pays(payer, "0x" + A, address)), 400, "invalid_payment_field")
    assert (as_payer["field"], as_payee["field"]) == ("payer_address", "payee_address")


# --- nonces: once per tenant ---------------------------------------------------------------------


def _to_store(body: dict[str, Any], store_id: uuid.UUID) -> dict[str, Any]:
    return {**body, "store_id": str(store_id)}


def test_a_signed_payment_sent_to_another_store_is_refused(owner: Persona, payer: Payer) -> None:
    body = payer.intent(nonce=7)
    first = post_intent(owner.client, body)
    assert first.status_code == 200, first.content

    elsewhere = post_intent(owner.client, _to_store(body, uuid.uuid4()))
    again = post_intent(owner.client, body)  # the same stream: as before

    _problem(elsewhere, 409, "payment_signature_reused")
    _problem(again, 400, "nonce_already_used")
    assert PaymentIntent.objects.filter(tenant_id=owner.tenant_id).count() == 1


def test_an_idempotent_replay_stays_a_replay_and_another_store_is_refused(owner: Persona, payer: Payer) -> None:
    body = payer.intent(nonce=8, idempotency_key="order-8")
    first = post_intent(owner.client, body).json()

    replay = post_intent(owner.client, body)
    elsewhere = post_intent(owner.client, _to_store(body, uuid.uuid4()))

    assert (replay.status_code, replay.json()["intent_id"]) == (200, first["intent_id"])
    _problem(elsewhere, 409, "payment_signature_reused")
    assert PaymentIntent.objects.filter(tenant_id=owner.tenant_id).count() == 1


def test_a_store_scoped_key_of_another_store_cannot_resubmit_the_body(owner: Persona, payer: Payer) -> None:
    body = payer.intent(nonce=9)
    assert post_intent(owner.client, body).status_code == 200
    other_store = uuid.uuid4()
    store_key = api_client(issue_key(owner.tenant, can_write=True, store_ids=[other_store]))

    refused = _problem(post_intent(store_key, _to_store(body, other_store)), 409, "payment_signature_reused")

    assert str(owner.store_id) not in refused["detail"]  # names nothing of the other store
    assert not PaymentIntent.objects.filter(tenant_id=owner.tenant_id, store_id=other_store).exists()


def test_another_payment_with_a_used_nonce_is_refused_in_every_store(owner: Persona, payer: Payer) -> None:
    assert post_intent(owner.client, payer.intent(nonce=10)).status_code == 200
    other = payer.intent(nonce=10, amount=5)  # another signed payment, same payer and nonce

    _problem(post_intent(owner.client, _to_store(other, uuid.uuid4())), 400, "nonce_already_used")
    assert post_intent(owner.client, _to_store(payer.intent(nonce=11), uuid.uuid4())).status_code == 200


def test_another_tenant_with_the_same_agent_key_takes_the_body(owner: Persona, payer: Payer) -> None:
    """Tenant and store are outside the signed hash (REFERENCE.md §5.2): each tenant that
    registered the agent's key vouches for it and keeps its own nonces (docs/payments.md)."""
    body = payer.intent(nonce=12)
    assert post_intent(owner.client, body).status_code == 200
    tenant = make_tenant()
    admin = api_client(issue_key(tenant, can_write=True, can_admin=True))
    elsewhere = Persona(tenant, uuid.uuid4(), "", admin)
    dataclasses.replace(payer, persona=elsewhere).register()

    response = post_intent(admin, {**body, "tenant_id": str(tenant.id), "store_id": str(elsewhere.store_id)})

    assert response.status_code == 200, response.content


# --- migration 0006 ------------------------------------------------------------------------------


def test_the_migration_keeps_the_earliest_reservation_of_a_nonce_used_in_two_stores(
    owner: Persona, payer: Payer
) -> None:
    migration = importlib.import_module("payments.migrations.0006_nonce_reservations_per_tenant")
    first = post_intent(owner.client, payer.intent(nonce=5)).json()["intent_id"]
    second_store = uuid.uuid4()
    second = post_intent(owner.client, _to_store(payer.intent(nonce=6), second_store)).json()["intent_id"]
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the test's inserts: no deferred checks left to ALTER past
        cursor.execute(migration.KEY_PER_STREAM)  # the previous release's table
        cursor.execute("UPDATE x402_nonce_tracking SET nonce = 5 WHERE intent_id = %s", [second])  # the defect

        cursor.execute(migration.HOLD_WRITES)
        cursor.execute(migration.DROP_DUPLICATES_ACROSS_STORES)
        cursor.execute(migration.KEY_PER_TENANT)

    rows = NonceReservation.objects.filter(tenant_id=owner.tenant_id)
    assert [(r.store_id, r.nonce, str(r.intent_id)) for r in rows] == [(owner.store_id, 5, first)]
    assert PaymentIntent.objects.filter(tenant_id=owner.tenant_id).count() == 2  # intents stay


def test_the_same_terms_signed_by_another_agent_are_a_used_nonce_not_a_reused_signature(owner: Persona) -> None:
    # The signed hash leaves the agent out: another agent's key signing the same terms signs the
    # same hash, but it is another signature, so the answer is the used nonce (a live re-check).
    # The second agent may pay from the account: an operator granted it (ADR 0006, "Payer accounts").
    first = Payer(owner).register()
    elsewhere = dataclasses.replace(owner, store_id=uuid.uuid4())
    second = dataclasses.replace(Payer(elsewhere).register(), address=first.address)
    for agent in (first, second):
        payer_account_grant(tenant_id=owner.tenant_id, payer_address=first.address, agent_id=agent.agent_id, actor="t")
    valid_until = first.intent(nonce=9)["valid_until"]
    assert post_intent(owner.client, first.intent(nonce=9, valid_until=valid_until)).status_code == 200

    refused = post_intent(elsewhere.client, second.intent(nonce=9, valid_until=valid_until))

    _problem(refused, 400, "nonce_already_used")
