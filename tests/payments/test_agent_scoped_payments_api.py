"""An agent-scoped API key sees and moves only its own agent's x402 intents (docs/auth.md).

Reads by id of another agent's intent (status, receipt) are 404 as another tenant's; lists hold
only the key's agent's intents; creating or settling a batch (a whole stream's intents) is 403
``agent_scope_denied`` even for an admin key; a batch is readable by an agent-scoped key only
when every intent in it is its agent's.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from rest_framework.test import APIClient

from payments.models import BatchStatus, PaymentBatch
from tests.conftest import Persona, api_client
from tests.payments.helpers import Payer, post_intent
from tests.tenants.factories import issue_key

pytestmark = pytest.mark.django_db


def _problem(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["code"] == code


def _submitted(client: APIClient, payer: Payer, nonce: int) -> str:
    response = post_intent(client, payer.intent(nonce=nonce))
    assert response.status_code == 200, response.content
    return str(response.json()["intent_id"])


def _batch(owner: Persona, intent_ids: list[str]) -> str:
    body = {"tenant_id": str(owner.tenant_id), "store_id": str(owner.store_id), "intent_ids": intent_ids}
    created = owner.client.post("/api/v1/x402/batches", data=orjson.dumps(body), content_type="application/json")
    assert created.status_code == 200, created.content
    return str(created.json()["batch_id"])


@pytest.fixture
def two_agents(owner: Persona) -> tuple[Payer, Payer]:
    return Payer(owner).register(), Payer(owner).register()


def test_an_agent_key_reads_only_its_agents_intents_and_receipts(
    owner: Persona, two_agents: tuple[Payer, Payer]
) -> None:
    mine, theirs = two_agents
    scoped = api_client(issue_key(owner.tenant, can_write=True, agent_id=mine.agent_id))
    own = _submitted(scoped, mine, 1)
    other = _submitted(owner.client, theirs, 1)
    _batch(owner, [own])
    _batch(owner, [other])

    assert scoped.get(f"/api/v1/x402/payments/{own}").status_code == 200
    assert scoped.get(f"/api/v1/x402/payments/{own}/receipt").status_code == 200
    _problem(scoped.get(f"/api/v1/x402/payments/{other}"), 404, "payment_not_found")
    _problem(scoped.get(f"/api/v1/x402/payments/{other}/receipt"), 404, "payment_not_found")

    listed = scoped.get(f"/api/v1/x402/payments?tenant_id={owner.tenant_id}")
    assert listed.status_code == 200, listed.content
    assert [i["intent_id"] for i in listed.json()] == [own]
    by_store = scoped.get(f"/api/v1/x402/payments?tenant_id={owner.tenant_id}&store_id={owner.store_id}")
    assert [i["intent_id"] for i in by_store.json()] == [own]
    # An unscoped key of the tenant still sees both.
    everything = owner.client.get(f"/api/v1/x402/payments?tenant_id={owner.tenant_id}").json()
    assert {i["intent_id"] for i in everything} == {own, other}
    assert owner.client.get(f"/api/v1/x402/payments/{other}/receipt").status_code == 200


def test_an_agent_admin_key_cannot_create_or_settle_batches(owner: Persona, two_agents: tuple[Payer, Payer]) -> None:
    mine, theirs = two_agents
    scoped_admin = api_client(issue_key(owner.tenant, can_write=True, can_admin=True, agent_id=mine.agent_id))
    own = _submitted(scoped_admin, mine, 1)
    other = _submitted(owner.client, theirs, 1)
    stream = {"tenant_id": str(owner.tenant_id), "store_id": str(owner.store_id)}

    def create(body: dict[str, Any]) -> Any:
        return scoped_admin.post("/api/v1/x402/batches", data=orjson.dumps(body), content_type="application/json")

    _problem(create({**stream, "intent_ids": [other]}), 403, "agent_scope_denied")
    _problem(create({**stream, "intent_ids": [own]}), 403, "agent_scope_denied")  # a batch is the stream's
    _problem(create(stream), 403, "agent_scope_denied")  # the oldest intents: every agent's
    assert not PaymentBatch.objects.filter(tenant_id=owner.tenant_id).exists()

    batch_id = _batch(owner, [other])
    settle = {"batch_id": batch_id, "tx_hash": "0x" + "ab" * 32, "block_number": 7}
    refused = scoped_admin.post(
        "/api/v1/x402/batches/settle", data=orjson.dumps(settle), content_type="application/json"
    )
    _problem(refused, 403, "agent_scope_denied")
    assert PaymentBatch.objects.get(batch_id=batch_id).status == BatchStatus.COMMITTED
    settled = owner.client.post(
        "/api/v1/x402/batches/settle", data=orjson.dumps(settle), content_type="application/json"
    )
    assert settled.json()["status"] == "settled", settled.content


def test_an_agent_key_reads_a_batch_only_when_every_intent_is_its_agents(
    owner: Persona, two_agents: tuple[Payer, Payer]
) -> None:
    mine, theirs = two_agents
    scoped = api_client(issue_key(owner.tenant, can_write=True, agent_id=mine.agent_id))
    alone = _batch(owner, [_submitted(scoped, mine, 1)])
    mixed = _batch(owner, [_submitted(scoped, mine, 2), _submitted(owner.client, theirs, 1)])
    foreign = _batch(owner, [_submitted(owner.client, theirs, 2)])

    assert scoped.get(f"/api/v1/x402/batches/{alone}").status_code == 200
    _problem(scoped.get(f"/api/v1/x402/batches/{mixed}"), 404, "batch_not_found")
    _problem(scoped.get(f"/api/v1/x402/batches/{foreign}"), 404, "batch_not_found")
    assert owner.client.get(f"/api/v1/x402/batches/{mixed}").status_code == 200
