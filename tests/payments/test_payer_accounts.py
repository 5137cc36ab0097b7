"""One payer account, one nonce space, however its address is spelled (ADR 0006 §4, amended);
addresses are 20-byte accounts (``0x`` optional) or ``0x`` and 32 bytes (``payments/addresses.py``).

An address's case and its ``0x`` carry nothing, so they must not open a second nonce space;
what the client signed (the address as submitted) is still what is hashed, stored and answered.
"""

from __future__ import annotations

import dataclasses
import importlib
import time
import uuid
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from payments import errors
from payments.addresses import address_key
from payments.intent_requests import parse_payment_request
from payments.models import NonceReservation, PaymentIntent
from payments.receipts import receipt_verify
from payments.services.intents import SubmittedIntent, payment_intent_submit
from sequencer_project.api.fields import BIGINT_MAX
from tests.conftest import Persona
from tests.payments.helpers import PAYEE, Payer, post_intent

pytestmark = pytest.mark.django_db

ACCOUNT = "abcdef0123" * 4
MIXED = "".join(c.upper() if i % 3 else c for i, c in enumerate(ACCOUNT))


@pytest.fixture
def payer(owner: Persona) -> Payer:
    return Payer(owner).register()


@st.composite
def spellings(draw: st.DrawFn, raw: bytes) -> str:
    """``raw`` as hex with any mix of letter cases, after ``0x``, ``0X`` or nothing."""
    digits = raw.hex()
    upper = draw(st.lists(st.booleans(), min_size=len(digits), max_size=len(digits)))
    prefix = draw(st.sampled_from(["", "0x", "0X"]))
    return prefix + "".join(c.upper() if up else c for c, up in zip(digits, upper, strict=True))


def _spelled(payer: Payer, store: Persona, address: str) -> Payer:
    """The same agent and key, paying from ``address`` in ``store``'s stream."""
    return dataclasses.replace(payer, persona=store, address=address)


def _fresh_store(owner: Persona) -> Persona:
    return dataclasses.replace(owner, store_id=uuid.uuid4())


def _fresh_nonces(owner: Persona) -> None:
    """Forget the tenant's nonce reservations: nonces are reserved per tenant (ADR 0006), and
    hypothesis repeats addresses and nonces across examples (and shrinks to them)."""
    NonceReservation.objects.filter(tenant_id=owner.tenant_id).delete()


def _submit(payer: Payer, *, nonce: int, **extra: Any) -> SubmittedIntent:
    return payment_intent_submit(request=parse_payment_request(payer.intent(nonce=nonce, **extra)), actor="test")


# --- the service layer -------------------------------------------------------------------------


@given(data=st.data(), raw=st.binary(min_size=20, max_size=20), nonce=st.integers(0, BIGINT_MAX - 1))
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_two_spellings_of_one_address_share_one_nonce_space(
    owner: Persona, payer: Payer, data: st.DataObject, raw: bytes, nonce: int
) -> None:
    first, second = data.draw(spellings(raw)), data.draw(spellings(raw))
    assume(address_key(first) != address_key(PAYEE))
    store = _fresh_store(owner)  # examples repeat addresses (and shrink to them): one stream each
    _fresh_nonces(owner)

    used = _submit(_spelled(payer, store, first), nonce=nonce)
    with pytest.raises(errors.NonceAlreadyUsedError):
        _submit(_spelled(payer, store, second), nonce=nonce)
    following = _submit(_spelled(payer, store, second), nonce=nonce + 1)

    assert (used.sequence_number, following.sequence_number) == (1, 2)  # the refusal burned no number
    stored = PaymentIntent.objects.filter(tenant_id=owner.tenant_id, store_id=store.store_id)
    assert sorted(stored.values_list("payer_address", flat=True)) == sorted([first, second])  # as signed
    reserved = NonceReservation.objects.filter(tenant_id=owner.tenant_id, store_id=store.store_id)
    assert set(reserved.values_list("payer_address", flat=True)) == {"0x" + raw.hex()}


@given(
    data=st.data(),
    addresses=st.lists(st.binary(min_size=20, max_size=20), min_size=2, max_size=2, unique=True),
    nonce=st.integers(0, BIGINT_MAX),
)
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_different_addresses_keep_their_own_nonce_spaces(
    owner: Persona, payer: Payer, data: st.DataObject, addresses: list[bytes], nonce: int
) -> None:
    spelled = [data.draw(spellings(raw)) for raw in addresses]
    assume(all(address_key(s) != address_key(PAYEE) for s in spelled))
    store = _fresh_store(owner)
    _fresh_nonces(owner)

    numbers = [_submit(_spelled(payer, store, s), nonce=nonce).sequence_number for s in spelled]

    assert numbers == [1, 2]


def test_a_zero_padded_address_is_another_payer(owner: Persona, payer: Payer) -> None:
    # Addresses are bytes, not EVM accounts: the reference's client pays from 32-byte public
    # keys, so 12 leading zero bytes are not read as padding (payments/addresses.py).
    store = _fresh_store(owner)
    _submit(_spelled(payer, store, "0x" + ACCOUNT), nonce=5)

    padded = _submit(_spelled(payer, store, "0x" + "00" * 12 + ACCOUNT), nonce=5)

    assert padded.sequence_number == 2


# --- the API -----------------------------------------------------------------------------------


def test_one_account_spelled_four_ways_uses_a_nonce_once(owner: Persona, payer: Payer) -> None:
    # The outside testers' case: four 200s (sequence 1..4) before.
    payee = "0x" + "cd" * 20
    spelled = ["0x" + "ab" * 20, "0x" + "AB" * 20, "0x" + "aB" * 20, "ab" * 20]
    answers = [
        post_intent(owner.client, _spelled(payer, owner, s).intent(nonce=5, payee_address=payee)) for s in spelled
    ]

    assert [a.status_code for a in answers] == [200, 400, 400, 400]
    assert answers[0].json()["sequence_number"] == 1
    for refused in answers[1:]:
        assert refused.json()["code"] == "nonce_already_used"
        assert refused.json()["detail"] == f"Nonce 5 was already used by payer 0x{'ab' * 20}."
    following = post_intent(owner.client, _spelled(payer, owner, "AB" * 20).intent(nonce=6, payee_address=payee))
    assert (following.status_code, following.json()["sequence_number"]) == (200, 2)


def test_payer_and_payee_are_one_account_in_any_spelling(owner: Persona, payer: Payer) -> None:
    body = _spelled(payer, owner, "0X" + ACCOUNT.upper()).intent(nonce=1, payee_address=MIXED)
    response = post_intent(owner.client, body)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_payment_field"


def test_the_intent_keeps_the_address_as_signed_and_its_receipt_verifies(owner: Persona, payer: Payer) -> None:
    spelled = "0X" + MIXED
    submitted = post_intent(owner.client, _spelled(payer, owner, spelled).intent(nonce=1))
    assert submitted.status_code == 200, submitted.content
    intent_id = submitted.json()["intent_id"]
    batch = {"tenant_id": str(owner.tenant_id), "store_id": str(owner.store_id), "intent_ids": [intent_id]}
    created = owner.client.post("/api/v1/x402/batches", data=batch, format="json")
    assert created.status_code == 200, created.content

    listed = owner.client.get("/api/v1/x402/payments", {"tenant_id": str(owner.tenant_id)}).json()
    receipt = owner.client.get(f"/api/v1/x402/payments/{intent_id}/receipt").json()["receipt"]

    assert [i["payer_address"] for i in listed] == [spelled]
    assert receipt["payer_address"] == spelled
    assert receipt_verify(receipt)  # the leaf hashes the address as the client signed it

    # The list's address filters find the account in any spelling, and no other account.
    def listed_ids(**address: str) -> list[str]:
        query = {"tenant_id": str(owner.tenant_id), **address}
        answer = owner.client.get("/api/v1/x402/payments", query)
        assert answer.status_code == 200, answer.content
        return [i["intent_id"] for i in answer.json()]

    for spelling in (spelled, "0x" + MIXED.lower(), "0x" + MIXED.upper(), MIXED.lower()):
        assert listed_ids(payer_address=spelling) == [intent_id], spelling
    assert listed_ids(payer_address="0x" + MIXED.lower()[:-1] + ("0" if MIXED[-1] != "0" else "1")) == []
    assert listed_ids(payer_address="0x" + MIXED.lower()[:-2]) == []  # a prefix of the account is another
    assert listed_ids(payer_address="not an address.*") == []
    payee = listed[0]["payee_address"]
    assert listed_ids(payee_address=payee.upper().replace("0X", "0x", 1)) == [intent_id]


def test_an_idempotency_key_resent_with_another_spelling_is_a_conflict(owner: Persona, payer: Payer) -> None:
    # Another spelling is another signed request (its signing hash differs), never a second intent.
    key = "pay-once"
    valid_until = int(time.time()) + 3600  # once: two reads of the clock may straddle a second
    body = _spelled(payer, owner, "0x" + ACCOUNT).intent(nonce=3, idempotency_key=key, valid_until=valid_until)
    first = post_intent(owner.client, body)
    assert first.status_code == 200

    same = post_intent(owner.client, body)
    spelled = _spelled(payer, owner, ACCOUNT.upper())
    other = post_intent(owner.client, spelled.intent(nonce=3, idempotency_key=key, valid_until=valid_until))

    assert (same.status_code, same.json()["intent_id"]) == (200, first.json()["intent_id"])
    assert (other.status_code, other.json()["code"]) == (409, "idempotency_key_conflict")
    assert PaymentIntent.objects.filter(tenant_id=owner.tenant_id).count() == 1


# --- migration 0004 ----------------------------------------------------------------------------


def test_the_migration_keys_old_reservations_by_account_and_keeps_the_earliest(owner: Persona, payer: Payer) -> None:
    migration = importlib.import_module("payments.migrations.0004_nonce_reservations_by_account")
    bodies = {
        spelled: _spelled(payer, owner, spelled).intent(nonce=nonce)
        for spelled, nonce in (("0x" + ACCOUNT.upper(), 5), (ACCOUNT, 6), ("0X" + "Cd" * 20, 7))
    }
    ids = {}
    for spelled, body in bodies.items():
        response = post_intent(owner.client, body)
        assert response.status_code == 200, response.content
        ids[spelled] = response.json()["intent_id"]
    # As the previous release reserved them: the address as submitted; and the defect's
    # duplicate: nonce 5 of one account reserved twice, under two spellings (the second intent
    # was sent with nonce 6; its reservation is moved to 5).
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the test's inserts: no deferred checks left to ALTER past
        cursor.execute(migration.ACCOUNT_KEYS_ONLY_REVERSE)  # the previous release's table
        for spelled in bodies:
            cursor.execute(
                "UPDATE x402_nonce_tracking SET payer_address = %s WHERE intent_id = %s", [spelled, ids[spelled]]
            )
        cursor.execute("UPDATE x402_nonce_tracking SET nonce = 5 WHERE intent_id = %s", [ids[ACCOUNT]])

        cursor.execute(migration.HOLD_WRITES)
        cursor.execute(migration.DROP_DUPLICATE_SPELLINGS)
        cursor.execute(migration.KEY_BY_ACCOUNT)
        cursor.execute(migration.ACCOUNT_KEYS_ONLY)  # every row it left holds (validated as added)
        with pytest.raises(IntegrityError), transaction.atomic():  # the previous release's reservation
            cursor.execute(
                "UPDATE x402_nonce_tracking SET payer_address = %s WHERE intent_id = %s",
                ["0x" + ACCOUNT.upper(), ids["0x" + ACCOUNT.upper()]],
            )

    rows = NonceReservation.objects.filter(tenant_id=owner.tenant_id).order_by("nonce")
    assert [(r.payer_address, r.nonce, str(r.intent_id)) for r in rows] == [
        ("0x" + ACCOUNT, 5, ids["0x" + ACCOUNT.upper()]),
        ("0x" + "cd" * 20, 7, ids["0X" + "Cd" * 20]),
    ]
    for spelled, body in bodies.items():  # an exact resend finds its reservation under the key
        if spelled != ACCOUNT:  # its nonce 6 was freed by the test's own edit
            assert post_intent(owner.client, body).json()["code"] == "nonce_already_used"
