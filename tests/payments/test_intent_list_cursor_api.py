"""``GET /api/v1/x402/payments?before=<intent_id>``: a keyset cursor that reaches every intent,
however many there are (``offset`` stops at 10,000), each once, whatever is submitted between two
pages; a cursor that names no intent of the list is a 400 problem, never a 500."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from payments.models import PaymentIntent
from tests.conftest import Persona, api_client
from tests.payments.helpers import Payer, post_intent
from tests.tenants.factories import issue_key, make_tenant

pytestmark = pytest.mark.django_db

PATH = "/api/v1/x402/payments"


@pytest.fixture
def payer(owner: Persona) -> Payer:
    return Payer(owner).register()


def _page(persona: Persona, **params: Any) -> list[dict[str, Any]]:
    response = persona.client.get(PATH, {"tenant_id": str(persona.tenant_id), **params})
    assert response.status_code == 200, response.content
    return response.json()  # type: ignore[no-any-return]


def _submit(persona: Persona, payer: Payer, nonces: range) -> None:
    for nonce in nonces:
        response = post_intent(persona.client, payer.intent(nonce=nonce))
        assert response.status_code == 200, response.content


def _walk(persona: Persona, *, limit: int, between: Any = None, **filters: str) -> list[str]:
    """Every intent id the cursor reaches, page after page (``between()`` runs after each page)."""
    seen: list[str] = []
    page = _page(persona, limit=limit, **filters)
    while page:
        seen += [i["intent_id"] for i in page]
        if between is not None:
            between()
        page = _page(persona, limit=limit, before=seen[-1], **filters)
    return seen


def test_the_cursor_reaches_every_intent_once_while_new_ones_arrive(owner: Persona, payer: Payer) -> None:
    _submit(owner, payer, range(1, 12))
    everything = [i["intent_id"] for i in _page(owner)]
    arriving = iter(range(100, 200))

    walked = _walk(owner, limit=3, between=lambda: _submit(owner, payer, range(next(arriving), next(arriving))))

    assert walked == everything  # in order, none twice, none left out, none of the later ones
    assert len(_page(owner, limit=1000)) == 11 + 4  # one arrived after each of the four pages


def test_a_page_after_the_cursor_is_the_offset_page_and_offset_counts_from_the_cursor(
    owner: Persona, payer: Payer
) -> None:
    _submit(owner, payer, range(1, 8))
    everything = _page(owner)

    after_third = _page(owner, before=everything[2]["intent_id"], limit=2)
    assert after_third == everything[3:5]
    assert _page(owner, before=everything[2]["intent_id"], offset=1, limit=2) == everything[4:6]
    assert _page(owner, before=everything[-1]["intent_id"]) == []


def test_the_cursor_keeps_the_filters_and_may_name_an_intent_they_no_longer_match(owner: Persona, payer: Payer) -> None:
    _submit(owner, payer, range(1, 7))
    everything = _page(owner)
    cursor = everything[1]["intent_id"]
    PaymentIntent.objects.filter(intent_id=cursor).update(status="failed")  # its position stays

    assert _page(owner, before=cursor, status="sequenced") == everything[2:]
    spelled = payer.address.upper().replace("0X", "")
    assert _page(owner, before=cursor, payer_address=spelled, limit=2) == everything[2:4]


def test_intents_of_one_instant_are_ordered_by_sequence_then_id_and_each_is_reached_once(
    owner: Persona, payer: Payer
) -> None:
    """Two stores of one tenant number their intents alike; at one ``created_at`` (a clock's
    resolution) the order was left to chance, and a cursor must not skip or repeat any of them."""
    other = Payer(replace(owner, store_id=uuid.uuid4()), agent_id=payer.agent_id, seed=payer.seed)
    _submit(owner, payer, range(1, 5))
    _submit(owner, other, range(1, 5))
    instant = datetime(2026, 1, 1, tzinfo=UTC)
    PaymentIntent.objects.filter(tenant_id=owner.tenant_id).update(created_at=instant)

    everything = _page(owner)
    expected = PaymentIntent.objects.filter(tenant_id=owner.tenant_id).order_by("-sequence_number", "-intent_id")
    assert [i["intent_id"] for i in everything] == [str(i) for i in expected.values_list("intent_id", flat=True)]
    assert [i["sequence_number"] for i in everything] == [4, 4, 3, 3, 2, 2, 1, 1]
    for limit in (1, 2, 3):
        assert _walk(owner, limit=limit) == [i["intent_id"] for i in everything]


@pytest.mark.parametrize("value", ["", "not-a-uuid", "1", "\u0661" * 32, "00000000-0000-0000-0000-00000000000g"])
def test_a_malformed_cursor_is_400_invalid_parameter(owner: Persona, value: str) -> None:
    response = owner.client.get(PATH, {"tenant_id": str(owner.tenant_id), "before": value})

    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    assert (response.json()["code"], response.json()["parameter"]) == ("invalid_parameter", "before")


def test_a_cursor_naming_no_intent_of_the_list_is_400_invalid_parameter(
    owner: Persona, member: Persona, payer: Payer
) -> None:
    _submit(owner, payer, range(1, 3))
    mine = _page(owner)[0]["intent_id"]
    tenant = make_tenant()
    key = issue_key(tenant, can_write=True, can_admin=True)
    elsewhere = Persona(tenant, uuid.uuid4(), key, api_client(key))
    _submit(elsewhere, Payer(elsewhere).register(), range(1, 2))
    theirs = _page(elsewhere)[0]["intent_id"]

    asked = [
        (owner, {"before": str(uuid.uuid4())}),  # no such intent
        (owner, {"before": theirs}),  # another tenant's
        (member, {"store_id": str(member.store_id), "before": mine}),  # another store's
    ]
    for persona, params in asked:
        response = persona.client.get(PATH, {"tenant_id": str(persona.tenant_id), **params})
        assert response.status_code == 400, response.content
        assert response["Content-Type"].startswith("application/problem+json")
        body = response.json()
        assert (body["code"], body["parameter"]) == ("invalid_parameter", "before")
        assert params["before"] in body["detail"]
