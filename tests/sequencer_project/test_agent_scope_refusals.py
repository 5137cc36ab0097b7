"""An agent-scoped credential, admin or not, acts only as its agent: every action over every
agent's events is 403 ``agent_scope_denied`` (docs/auth.md, "Access rules"). An outside audit
found an agent-scoped admin changing and deleting other agents' schemas, setting the tenant's
validation mode (which then refused another agent's events), sealing and anchoring streams,
retrying and discarding other agents' dead letters, and listing every agent's keys.

Each request is made twice: as an agent-scoped admin (refused, nothing changed) and as the
tenant's unscoped admin (not refused: the refusal is the agent scope, not the request)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from rest_framework.test import APIClient

from schemas.models import EventSchema
from tests.conftest import IngestPoster, Persona, api_client, legacy_event
from tests.tenants.factories import issue_key

pytestmark = pytest.mark.django_db

SCHEMA = {"type": "object"}


@pytest.fixture
def agent_admin(owner: Persona) -> APIClient:
    return api_client(issue_key(owner.tenant, can_write=True, can_admin=True, agent_id=uuid.uuid4()))


def _post(client: APIClient, path: str, body: Any) -> Any:
    return client.post(path, data=orjson.dumps(body), content_type="application/json")


def _put(client: APIClient, path: str, body: Any) -> Any:
    return client.put(path, data=orjson.dumps(body), content_type="application/json")


def _refused(response: Any) -> None:
    assert response.status_code == 403, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    assert (response.json()["status"], response.json()["code"]) == (403, "agent_scope_denied")


def _schema(owner: Persona) -> str:
    response = _post(
        owner.client, "/api/v1/schemas", {"tenantId": str(owner.tenant_id), "eventType": "a.b", "schemaJson": SCHEMA}
    )
    assert response.status_code in (200, 201), response.content
    newest = EventSchema.objects.filter(tenant_id=owner.tenant_id, event_type="a.b").order_by("-version").first()
    assert newest is not None
    return str(newest.id)


Request = Callable[[APIClient, Persona], Any]

REQUESTS: dict[str, Request] = {
    "register a schema": lambda client, owner: _post(
        client, "/api/v1/schemas", {"tenantId": str(owner.tenant_id), "eventType": "x.y", "schemaJson": SCHEMA}
    ),
    "set a schema's status": lambda client, owner: _put(
        client, f"/api/v1/schemas/{_schema(owner)}/status", {"status": "deprecated"}
    ),
    "delete a schema": lambda client, owner: client.delete(f"/api/v1/schemas/{_schema(owner)}"),
    "set the validation mode": lambda client, owner: _put(
        client, "/api/v1/schemas/validation-mode", {"tenantId": str(owner.tenant_id), "mode": "strict"}
    ),
    "create a commitment": lambda client, owner: _post(
        client,
        "/api/v1/commitments",
        {"tenant_id": str(owner.tenant_id), "store_id": str(owner.store_id), "sequence_start": 1, "sequence_end": 1},
    ),
    "read the admin overview": lambda client, owner: client.get("/api/v1/admin/overview"),
    "list the admin's agents": lambda client, owner: client.get("/api/v1/admin/agents"),
}


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_an_agent_scoped_admin_is_refused_what_acts_on_every_agent(
    name: str, owner: Persona, agent_admin: APIClient, post_ingest: IngestPoster
) -> None:
    assert post_ingest(owner.client, {"events": [legacy_event(owner.tenant_id, owner.store_id)]}).status_code == 200
    request = REQUESTS[name]
    schemas_before = list(EventSchema.objects.order_by("id").values_list("id", "status"))

    _refused(request(agent_admin, owner))

    if "schema" in name or "validation" in name:
        kept = list(EventSchema.objects.order_by("id").values_list("id", "status"))
        assert [row for row in kept if row in schemas_before] == schemas_before  # nothing changed
    answer = request(owner.client, owner)
    assert answer.status_code < 400, answer.content


@pytest.mark.parametrize("action", ["retry", "discard"])
def test_an_agent_scoped_admin_cannot_act_on_dead_letters(action: str, agent_admin: APIClient) -> None:
    # Refused before the entry is looked up: the scope, not the entry, decides.
    _refused(agent_admin.post(f"/api/v1/admin/dlq/1/{action}"))


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/ves/commitments/anchor", "stream"),
        ("/api/v1/ves/anchor", "batch"),
        ("/api/v1/anchor", "batch"),
    ],
)
def test_an_agent_scoped_admin_cannot_anchor(
    path: str, body: str, owner: Persona, agent_admin: APIClient, settings: Any
) -> None:
    settings.ANCHOR_RPC_URL = "eth-tester://"  # configured, so the scope is what refuses
    settings.ANCHOR_PRIVATE_KEY = "0x" + bytes(range(1, 33)).hex()
    stream = {"tenant_id": str(owner.tenant_id), "store_id": str(owner.store_id)}
    _refused(_post(agent_admin, path, stream if body == "stream" else {"batch_id": str(uuid.uuid4())}))
