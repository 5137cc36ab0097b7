"""An agent-scoped key cannot sign for another agent: VES events or x402 intents of another agent."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import pytest
from django.db import connection

from tests.conftest import Persona, api_client
from tests.events.ves_helpers import Agent, post_ves, register_key, ves_head, ves_rows
from tests.payments.helpers import Payer, post_intent
from tests.tenants.factories import issue_key

pytestmark = pytest.mark.django_db


def _problem(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["code"] == code


def _intents(tenant_id: uuid.UUID) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM x402_payment_intents WHERE tenant_id = %s", [tenant_id])
        return int(cursor.fetchone()[0])


@pytest.fixture
def agents(owner: Persona) -> tuple[Agent, Agent]:
    """Two agents of the owner's tenant, each with a registered signing key."""
    mine, other = Agent(owner.tenant_id, owner.store_id), Agent(owner.tenant_id, owner.store_id)
    for agent in (mine, other):
        assert register_key(owner.client, owner.tenant_id, agent.agent_id, 1, agent.public_key).status_code == 200
    return mine, other


def test_a_key_of_one_agent_cannot_submit_ves_events_as_another(owner: Persona, agents: tuple[Agent, Agent]) -> None:
    mine, other = agents
    scoped = api_client(issue_key(owner.tenant, can_write=True, agent_id=mine.agent_id))

    as_other = post_ves(scoped, other.agent_id, [other.event()])
    claimed_by_other = post_ves(scoped, mine.agent_id, [other.event()])
    forged = mine.event()
    forged["agent_signature"] = other.event()["agent_signature"]
    signed_by_other = post_ves(scoped, mine.agent_id, [forged])

    _problem(as_other, 403, "agent_scope_denied")
    _problem(claimed_by_other, 400, "source_agent_mismatch")
    assert signed_by_other.status_code == 200
    assert signed_by_other.json()["eventsAccepted"] == 0
    assert ves_rows(owner.tenant_id) == 0
    assert ves_head(owner.tenant_id, owner.store_id) == 0
    assert post_ves(scoped, mine.agent_id, [mine.event()]).json()["eventsAccepted"] == 1


def test_a_key_of_one_agent_cannot_submit_an_x402_intent_for_another_payer(owner: Persona) -> None:
    mine, other = Payer(owner).register(), Payer(owner).register()
    scoped = api_client(issue_key(owner.tenant, can_write=True, agent_id=mine.agent_id))

    for_other = post_intent(scoped, other.intent(nonce=1))
    theirs = other.intent(nonce=2)
    signed_by_other = post_intent(scoped, {**theirs, "agent_id": str(mine.agent_id)})

    _problem(for_other, 403, "agent_scope_denied")
    assert signed_by_other.status_code == 400, signed_by_other.content
    assert signed_by_other.json()["code"] in {"payment_signature_invalid", "payer_key_not_bound"}
    assert _intents(owner.tenant_id) == 0
    assert post_intent(scoped, mine.intent(nonce=3)).status_code == 200


def test_a_store_scoped_admin_cannot_change_tenant_wide_resources(owner: Persona, agents: tuple[Agent, Agent]) -> None:
    """Schemas, validation mode and agent signing keys apply to every store of the tenant."""
    scoped_admin = api_client(issue_key(owner.tenant, can_write=True, can_admin=True, store_ids=[owner.store_id]))
    tenant = str(owner.tenant_id)
    schema = {"tenantId": tenant, "eventType": "scoped.thing", "schemaJson": {"type": "object"}}
    agent = Agent(owner.tenant_id, owner.store_id)
    mine, _ = agents

    refused = [
        scoped_admin.post("/api/v1/schemas", data=orjson.dumps(schema), content_type="application/json"),
        scoped_admin.put(
            "/api/v1/schemas/validation-mode",
            data=orjson.dumps({"tenantId": tenant, "mode": "enforce"}),
            content_type="application/json",
        ),
        register_key(scoped_admin, owner.tenant_id, agent.agent_id, 1, agent.public_key),
        scoped_admin.delete(f"/api/v1/agents/{mine.agent_id}/keys/1?tenant_id={tenant}"),
    ]

    for response in refused:
        _problem(response, 403, "store_access_denied")
    assert scoped_admin.get(f"/api/v1/schemas?tenant_id={tenant}").status_code == 200
    assert scoped_admin.get(f"/api/v1/agents/{mine.agent_id}/keys?tenant_id={tenant}").json()["count"] == 1
