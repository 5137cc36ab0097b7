"""POST/GET /api/v1/x402/payments against PostgreSQL: sequencing, replay and validation."""

from __future__ import annotations

import time
import uuid

import pytest
from django.db import connection

from tests.conftest import Persona
from tests.payments.helpers import Payer, post_intent

pytestmark = pytest.mark.django_db


@pytest.fixture
def payer(owner: Persona) -> Payer:
    return Payer(owner).register()


def _x402_head(persona: Persona) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_sequence FROM sequence_counters WHERE tenant_id=%s AND store_id=%s AND stream_kind=3",
            [persona.tenant_id, persona.store_id],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def test_submit_sequences_gap_free_from_one(payer: Payer, owner: Persona) -> None:
    numbers = []
    for nonce in range(3):
        response = post_intent(owner.client, payer.intent(nonce=nonce))
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["status"] == "sequenced"
        assert body["batch_id"] is None
        numbers.append(body["sequence_number"])
    assert numbers == [1, 2, 3]
    assert _x402_head(owner) == 3
    detail = owner.client.get(f"/api/v1/x402/payments/{body['intent_id']}").json()
    assert detail == {**body, "sequenced_at": detail["sequenced_at"]}


def test_replayed_nonce_is_refused_and_burns_nothing(payer: Payer, owner: Persona) -> None:
    assert post_intent(owner.client, payer.intent(nonce=7)).status_code == 200
    replay = post_intent(owner.client, payer.intent(nonce=7, amount=5))
    assert replay.status_code == 400
    assert replay.json()["code"] == "nonce_already_used"
    assert _x402_head(owner) == 1
    following = post_intent(owner.client, payer.intent(nonce=8))
    assert following.json()["sequence_number"] == 2


def test_same_nonce_is_free_for_another_payer(payer: Payer, owner: Persona) -> None:
    other = Payer(owner).register()
    assert post_intent(owner.client, payer.intent(nonce=1)).status_code == 200
    assert post_intent(owner.client, other.intent(nonce=1)).status_code == 200


@pytest.mark.parametrize("offset", [-5, 86_400 + 120])
def test_validity_window(payer: Payer, owner: Persona, offset: int) -> None:
    response = post_intent(owner.client, payer.intent(nonce=1, valid_until=int(time.time()) + offset))
    assert response.status_code == 400
    assert response.json()["code"] == "payment_validity_window"


def test_bad_signature_is_refused(payer: Payer, owner: Persona) -> None:
    body = payer.intent(nonce=1)
    body["payer_signature"] = "0x" + "11" * 64
    response = post_intent(owner.client, body)
    assert response.status_code == 400
    assert response.json()["code"] == "payment_signature_invalid"


def test_signature_with_65th_byte_is_accepted(payer: Payer, owner: Persona) -> None:
    body = payer.intent(nonce=1)
    body["payer_signature"] += "1b"
    assert post_intent(owner.client, body).status_code == 200


def test_signing_hash_must_match_recomputation(payer: Payer, owner: Persona) -> None:
    body = payer.intent(nonce=1)
    body["amount"] = 999_999
    response = post_intent(owner.client, body)
    assert response.status_code == 400
    assert response.json()["code"] == "signing_hash_mismatch"


def test_supplied_public_key_must_be_the_registered_one(payer: Payer, owner: Persona) -> None:
    impostor = Payer(owner)  # not registered: signs with its own key
    body = impostor.intent(nonce=1)
    body["agent_id"] = str(payer.agent_id)
    body["payer_public_key"] = impostor.public_key.hex()
    response = post_intent(owner.client, body)
    assert response.status_code == 400
    assert response.json()["code"] == "payer_key_not_bound"
    good = payer.intent(nonce=2, payer_public_key=payer.public_key.hex())
    assert post_intent(owner.client, good).status_code == 200


def test_unregistered_agent_is_404(owner: Persona) -> None:
    response = post_intent(owner.client, Payer(owner).intent(nonce=1))
    assert response.status_code == 404
    assert response.json()["code"] == "payment_agent_key_not_found"


def test_a_revoked_key_is_refused_in_one_sentence(payer: Payer, owner: Persona) -> None:
    from tenants.services import agent_key_revoke

    agent_key_revoke(tenant_id=owner.tenant_id, agent_id=payer.agent_id, key_id=1, actor="test")
    response = post_intent(owner.client, payer.intent(nonce=1))

    assert response.status_code == 404
    assert response.json()["code"] == "payment_agent_key_not_found"
    assert response.json()["detail"] == f"Agent key has been revoked (agent {payer.agent_id}, key 1)."


def test_idempotency_key(payer: Payer, owner: Persona) -> None:
    body = payer.intent(nonce=1, idempotency_key="order-1")  # once: valid_until is read from the clock
    first = post_intent(owner.client, body)
    assert first.status_code == 200
    again = post_intent(owner.client, body)
    assert again.status_code == 200
    assert again.json()["intent_id"] == first.json()["intent_id"]
    changed = post_intent(owner.client, payer.intent(nonce=2, idempotency_key="order-1"))
    assert changed.status_code == 409
    assert changed.json()["code"] == "idempotency_key_conflict"
    assert _x402_head(owner) == 1


@pytest.mark.parametrize(
    ("field", "value", "status"),
    [
        ("amount", 0, 400),
        ("amount", "12", 422),  # a string where the reference's serde wants a u64
        ("payer_address", "0xzz", 400),
        ("payer_address", "0x" + "a" * 65, 413),
        ("payee_address", None, 422),  # a missing member, as the reference's extractor answers
        ("asset", "doge", 400),
        ("network", "solana", 400),
        ("tenant_id", str(uuid.UUID(int=0)), 400),
        ("signing_hash", "0x1234", 400),
        ("description", "x" * 9000, 413),
    ],
)
def test_field_checks(payer: Payer, owner: Persona, field: str, value: object, status: int) -> None:
    body = payer.intent(nonce=1)
    body[field] = value
    response = post_intent(owner.client, body)
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("payer_address", 5),
        ("asset", ["usdc"]),
        ("signing_hash", None),
        ("payer_signature", 12),
        ("payer_public_key", {"hex": "00"}),
        ("description", 7),
        ("idempotency_key", False),
    ],
)
def test_a_missing_member_or_a_wrong_json_type_is_the_collectors_422(
    payer: Payer, owner: Persona, field: str, value: object
) -> None:
    """These answered 400 ``invalid_payment_field`` from a parser of their own."""
    body = payer.intent(nonce=1)
    body[field] = value
    response = post_intent(owner.client, body)
    assert (response.status_code, response.json()["code"]) == (422, "invalid_request"), response.content
    assert list(response.json()["errors"]) == [field]


def test_a_missing_agent_id_stays_400_as_the_contract_pins(payer: Payer, owner: Persona) -> None:
    body = payer.intent(nonce=1)
    del body["agent_id"]
    response = post_intent(owner.client, body)
    assert (response.status_code, response.json()["code"]) == (400, "invalid_payment_field")


@pytest.mark.parametrize("field", ["payer_address", "signing_hash", "payer_signature"])
def test_hex_with_a_blank_inside_is_refused(payer: Payer, owner: Persona, field: str) -> None:
    """``bytes.fromhex`` skips blanks, so these were read as hex; the shared hex reader refuses them."""
    body = payer.intent(nonce=1)
    body[field] = body[field][:6] + "  " + body[field][6:]
    response = post_intent(owner.client, body)
    assert (response.status_code, response.json()["code"]) == (400, "invalid_payment_field"), response.content
    assert list(response.json()["errors"]) == [field]


def test_an_optional_text_is_limited_in_bytes_not_characters(payer: Payer, owner: Persona) -> None:
    response = post_intent(owner.client, payer.intent(nonce=1, idempotency_key="é" * 200))  # 400 bytes > 255
    assert (response.status_code, response.json()["code"]) == (413, "payload_too_large"), response.content
    fits = post_intent(owner.client, payer.intent(nonce=1, idempotency_key="é" * 127))  # 254 bytes
    assert fits.status_code == 200, fits.content


def test_payer_equal_to_payee_is_refused(payer: Payer, owner: Persona) -> None:
    response = post_intent(owner.client, payer.intent(nonce=1, payee_address=payer.address.upper().replace("0X", "0x")))
    assert response.status_code == 400


def test_outsider_cannot_write_or_read(payer: Payer, owner: Persona, outsider: Persona) -> None:
    assert post_intent(outsider.client, payer.intent(nonce=1)).status_code == 403
    created = post_intent(owner.client, payer.intent(nonce=1)).json()
    assert outsider.client.get(f"/api/v1/x402/payments/{created['intent_id']}").status_code == 404
    listing = outsider.client.get(f"/api/v1/x402/payments?tenant_id={owner.tenant_id}")
    assert listing.status_code == 403


def test_the_list_resolves_its_tenant_and_store_scope(payer: Payer, owner: Persona, member: Persona) -> None:
    assert post_intent(owner.client, payer.intent(nonce=1)).status_code == 200
    path = "/api/v1/x402/payments"
    whole = member.client.get(path, {"tenant_id": str(owner.tenant_id)})
    assert (whole.status_code, whole.json()["parameter"]) == (400, "store_id")
    assert member.client.get(path, {"tenant_id": str(owner.tenant_id), "store_id": str(member.store_id)}).json() == []
    other = member.client.get(path, {"tenant_id": str(owner.tenant_id), "store_id": str(owner.store_id)})
    assert (other.status_code, other.json()["code"]) == (403, "store_access_denied")
    assert len(owner.client.get(path, {"tenant_id": str(owner.tenant_id)}).json()) == 1
    unnamed = owner.client.get(path)  # the tenant is required, not the credential's by default
    assert (unnamed.status_code, unnamed.json()["parameter"]) == (400, "tenant_id")


def test_list_filters_and_paging(payer: Payer, owner: Persona) -> None:
    for nonce in range(4):
        post_intent(owner.client, payer.intent(nonce=nonce, asset="usdc" if nonce % 2 else "dai"))
    base = f"/api/v1/x402/payments?tenant_id={owner.tenant_id}&store_id={owner.store_id}"
    everything = owner.client.get(base).json()
    assert [i["sequence_number"] for i in everything] == [4, 3, 2, 1]
    assert [i["sequence_number"] for i in owner.client.get(base + "&asset=USDC").json()] == [4, 2]
    assert [i["sequence_number"] for i in owner.client.get(base + "&limit=2&offset=1").json()] == [3, 2]
    assert owner.client.get(base + "&offset=20000").status_code == 400


def test_list_dates_are_rfc_3339_as_every_timestamp_the_api_reads(payer: Payer, owner: Persona) -> None:
    post_intent(owner.client, payer.intent(nonce=1))
    base = {"tenant_id": str(owner.tenant_id), "store_id": str(owner.store_id)}

    def listed(**dates: str) -> list[int]:
        response = owner.client.get("/api/v1/x402/payments", {**base, **dates})
        assert response.status_code == 200, response.content
        return [i["sequence_number"] for i in response.json()]

    assert listed(from_date="2000-01-01T00:00:00Z", to_date="2999-01-01T00:00:00+02:00") == [1]
    assert listed(from_date="2999-01-01t00:00:00z") == []  # RFC 3339 allows the lower case
    # ISO 8601 forms that are not RFC 3339 (datetime.fromisoformat read them): 400 as elsewhere.
    for raw in ("2000-01-01", "2000-01-01T00:00:00", "20000101T000000Z", "2000-01-01T00:00Z"):
        response = owner.client.get("/api/v1/x402/payments", {**base, "from_date": raw})
        assert response.status_code == 400, raw
        assert (response.json()["code"], response.json()["parameter"]) == ("invalid_parameter", "from_date")


@pytest.mark.parametrize("name", ["payer_address", "payee_address", "status", "network", "asset"])
def test_a_nul_in_a_list_filter_is_an_invalid_parameter(owner: Persona, name: str) -> None:
    """Found by schemathesis: PostgreSQL refused the NUL, a 500."""
    response = owner.client.get(
        "/api/v1/x402/payments", {"tenant_id": str(owner.tenant_id), "store_id": str(owner.store_id), name: "a\x00"}
    )

    assert response.status_code == 400, response.content
    assert (response.json()["code"], response.json()["parameter"]) == ("invalid_parameter", name)


def test_receipt_before_batching_is_409(payer: Payer, owner: Persona) -> None:
    created = post_intent(owner.client, payer.intent(nonce=1)).json()
    response = owner.client.get(f"/api/v1/x402/payments/{created['intent_id']}/receipt")
    assert response.status_code == 409
    body = response.json()
    # The problem's status member is the HTTP status; the intent's own state has its own member.
    assert (body["code"], body["status"], body["intent_status"]) == ("payment_not_batched", 409, "sequenced")
