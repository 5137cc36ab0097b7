"""Contract: the admin JSON the reference's dashboard reads (``src/admin/dashboard.html``).

The members and types are those of the reference's ``AdminOverviewResponse`` and
``Admin{Tenant,Store,Agent}Summary`` (``src/api/types.rs``): counts are ``u64`` (a JSON
integer, never null), ``permissions``/``storeScope`` are ``String``, timestamps are chrono's
``to_rfc3339`` (``+00:00``), agent-sync members are ``Option`` (null here). Every figure is
made through the API (keys minted and revoked, events ingested, the projection run) and read
back through the API.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

import pytest
from rest_framework.test import APIClient

from events.projections.entity_state import ENTITY_STATE
from events.services.projections import projection_advance
from tests.conftest import IngestPoster, Persona, legacy_event
from ves.signing import public_key_from_seed

AGENT_KEY = public_key_from_seed(b"\x22" * 32)

RFC3339_PLUS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3}|\.\d{6})?\+00:00$")

# Every member the reference serialises, with its JSON type: int (u64), str, "ts" (Option<String>
# from to_rfc3339), "ts!" (String from to_rfc3339), "uuid", "uuid?" and "int?" (Option).
OVERVIEW = {
    "tenants": int, "stores": int, "agents": int, "apiKeys": int, "activeApiKeys": int,
    "totalHeadSequence": int, "activeStores24h": int, "maxProjectionLag": int, "lastActivityAt": "ts",
}  # fmt: skip
TENANT = {
    "tenantId": "uuid", "agentCount": int, "apiKeyCount": int, "activeApiKeys": int, "storeCount": int,
    "totalHeadSequence": int, "activeStores24h": int, "maxProjectionLag": int, "lastKeyAt": "ts",
    "lastActivityAt": "ts",
}  # fmt: skip
STORE = {
    "tenantId": "uuid", "storeId": "uuid", "headSequence": int, "lastProjectedSequence": int,
    "projectionLag": int, "agentCount": int, "lastAgentSyncAt": "ts", "updatedAt": "ts!",
}  # fmt: skip
AGENT = {
    "tenantId": "uuid", "agentId": "uuid", "permissions": str, "storeScope": str, "apiKeyCount": int,
    "activeApiKeys": int, "firstKeyAt": "ts", "lastKeyAt": "ts", "storeId": "uuid?", "lastSyncAt": "ts",
    "lastPushedSequence": "int?", "lastPulledSequence": "int?",
}  # fmt: skip


def assert_member_types(row: dict[str, Any], shape: dict[str, Any]) -> None:
    for name, kind in shape.items():
        assert name in row, (name, row)
        value = row[name]
        if kind is int:
            assert type(value) is int, (name, value)
            assert value >= 0, (name, value)
        elif kind is str:
            assert isinstance(value, str), (name, value)
        elif kind == "uuid":
            assert str(uuid.UUID(value)) == value, (name, value)
        elif kind == "uuid?":
            assert value is None or str(uuid.UUID(value)) == value, (name, value)
        elif kind == "int?":
            assert value is None or (type(value) is int and value >= 0), (name, value)
        elif kind == "ts!":
            assert isinstance(value, str), (name, value)
            assert RFC3339_PLUS.match(value), (name, value)
        else:
            assert value is None or (isinstance(value, str) and RFC3339_PLUS.match(value)), (name, value)


def admin(client: APIClient, endpoint: str) -> Any:
    response = client.get(f"/api/v1/admin/{endpoint}")
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    return response.json()


def mint(owner: Persona, agent_id: uuid.UUID, **body: Any) -> dict[str, Any]:
    response = owner.client.post(f"/api/v1/agents/{agent_id}/api-keys", data=body, format="json")
    assert response.status_code == 200, response.content[:300]
    return dict(response.json())


def ingest(persona: Persona, post_ingest: IngestPoster, count: int, store_id: uuid.UUID) -> None:
    events = [legacy_event(persona.tenant_id, store_id) for _ in range(count)]
    assert post_ingest(persona.client, {"events": events}).status_code == 200


def own(rows: list[dict[str, Any]], key: str, value: object) -> dict[str, Any]:
    (row,) = [r for r in rows if r[key] == str(value)]
    return row


@pytest.mark.django_db
def test_every_member_the_dashboard_reads_has_the_references_type(owner: Persona, post_ingest: IngestPoster) -> None:
    scoped_agent, wide_agent = uuid.uuid4(), uuid.uuid4()
    ingest(owner, post_ingest, 3, owner.store_id)
    mint(owner, scoped_agent, readOnly=True, storeIds=[str(owner.store_id)])
    mint(owner, wide_agent, admin=True)

    overview = admin(owner.client, "overview")
    tenants = admin(owner.client, "tenants")
    stores = admin(owner.client, "stores")
    agents = admin(owner.client, "agents")

    assert_member_types(overview, OVERVIEW)
    assert [t["tenantId"] for t in tenants] == [str(owner.tenant_id)]
    for shape, rows in ((TENANT, tenants), (STORE, stores), (AGENT, agents)):
        assert rows
        for row in rows:
            assert_member_types(row, shape)
    assert overview["lastActivityAt"] is not None
    assert tenants[0]["lastKeyAt"] is not None
    scoped, wide = own(agents, "agentId", scoped_agent), own(agents, "agentId", wide_agent)
    assert (scoped["permissions"], scoped["storeScope"], scoped["storeIds"]) == (
        "read",
        "scoped",
        [str(owner.store_id)],
    )
    assert (wide["permissions"], wide["storeScope"], wide["storeIds"]) == ("admin", "all", [])
    assert scoped["firstKeyAt"] is not None
    assert scoped["lastKeyAt"] is not None
    assert (scoped["storeId"], scoped["lastSyncAt"], scoped["lastPushedSequence"]) == (None, None, None)


@pytest.mark.django_db
def test_counts_follow_keys_minted_and_revoked_through_the_api(owner: Persona, post_ingest: IngestPoster) -> None:
    agent_id = uuid.uuid4()
    before_overview, (before,) = admin(owner.client, "overview"), admin(owner.client, "tenants")

    minted = mint(owner, agent_id, readOnly=True)
    mint(owner, agent_id)
    ingest(owner, post_ingest, 2, uuid.uuid4())
    after_overview, (after,) = admin(owner.client, "overview"), admin(owner.client, "tenants")

    assert after_overview["apiKeys"] == before_overview["apiKeys"] + 2
    assert after_overview["agents"] == before_overview["agents"] + 1
    assert (after["apiKeyCount"], after["activeApiKeys"]) == (before["apiKeyCount"] + 2, before["activeApiKeys"] + 2)
    assert after["agentCount"] == before["agentCount"] + 1
    assert (after["storeCount"], after["totalHeadSequence"]) == (
        before["storeCount"] + 1,
        before["totalHeadSequence"] + 2,
    )
    assert after["activeStores24h"] == before["activeStores24h"] + 1
    assert datetime.fromisoformat(before["lastKeyAt"]) < datetime.fromisoformat(after["lastKeyAt"])
    agent = own(admin(owner.client, "agents"), "agentId", agent_id)
    assert (agent["permissions"], agent["apiKeyCount"], agent["activeApiKeys"]) == ("read_write", 2, 2)

    revoked = owner.client.delete(f"/api/v1/agents/{agent_id}/api-keys/{minted['keyHashPrefix']}")
    assert revoked.status_code == 200, revoked.content[:300]

    (last,) = admin(owner.client, "tenants")
    assert (last["apiKeyCount"], last["activeApiKeys"]) == (after["apiKeyCount"], after["activeApiKeys"] - 1)
    assert admin(owner.client, "overview")["activeApiKeys"] == after_overview["activeApiKeys"] - 1
    agent = own(admin(owner.client, "agents"), "agentId", agent_id)
    assert (agent["apiKeyCount"], agent["activeApiKeys"]) == (2, 1)


@pytest.mark.django_db(transaction=True)
def test_projection_lag_is_an_integer_that_falls_to_zero_when_the_projection_catches_up(
    owner: Persona, post_ingest: IngestPoster
) -> None:
    ingest(owner, post_ingest, 4, owner.store_id)

    store = own(admin(owner.client, "stores"), "storeId", owner.store_id)
    (tenant,) = admin(owner.client, "tenants")
    assert (store["headSequence"], store["lastProjectedSequence"], store["projectionLag"]) == (4, 0, 4)
    assert tenant["maxProjectionLag"] == 4
    assert admin(owner.client, "overview")["maxProjectionLag"] == 4

    projection_advance(projection=ENTITY_STATE, tenant_id=owner.tenant_id, store_id=owner.store_id, batch_size=3)

    store = own(admin(owner.client, "stores"), "storeId", owner.store_id)
    assert (store["lastProjectedSequence"], store["projectionLag"]) == (3, 1)
    projection_advance(projection=ENTITY_STATE, tenant_id=owner.tenant_id, store_id=owner.store_id, batch_size=3)
    store = own(admin(owner.client, "stores"), "storeId", owner.store_id)
    assert (store["lastProjectedSequence"], store["projectionLag"]) == (4, 0)
    assert admin(owner.client, "tenants")[0]["maxProjectionLag"] == 0
    assert admin(owner.client, "overview")["maxProjectionLag"] == 0


@pytest.mark.django_db
def test_an_agent_with_only_a_signing_key_still_gets_string_permissions(owner: Persona) -> None:
    agent_id = uuid.uuid4()
    body = {
        "tenantId": str(owner.tenant_id),
        "agentId": str(agent_id),
        "keyId": 1,
        "publicKey": public_key_from_seed(b"\x22" * 32).hex(),
    }
    assert owner.client.post("/api/v1/agents/keys", data=body, format="json").status_code == 200

    agent = own(admin(owner.client, "agents"), "agentId", agent_id)

    assert_member_types(agent, AGENT)
    assert (agent["permissions"], agent["storeScope"], agent["apiKeyCount"]) == ("none", "scoped", 0)
    assert (agent["firstKeyAt"], agent["lastKeyAt"]) == (None, None)


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", ["overview", "tenants", "stores", "agents"])
def test_a_key_without_admin_gets_a_403_problem(member: Persona, endpoint: str) -> None:
    response = member.client.get(f"/api/v1/admin/{endpoint}")

    assert response.status_code == 403
    assert response["Content-Type"].startswith("application/problem+json")
    assert (response.json()["status"], response.json()["code"]) == (403, "permission_denied")


# --- the reference's `stark` routes (src/api/mod.rs ves_proof_routes): mounted, 501 -----------

STARK_ROUTES = [
    ("GET", "/api/v1/ves/validity/{id}/inputs"),
    ("GET", "/api/v1/ves/validity/{id}/proofs"),
    ("POST", "/api/v1/ves/validity/{id}/proofs"),
    ("GET", "/api/v1/ves/validity/proofs/{id}"),
    ("GET", "/api/v1/ves/validity/proofs/{id}/verify"),
    ("POST", "/api/v1/ves/compliance/{id}/inputs"),
    ("GET", "/api/v1/ves/compliance/{id}/proofs"),
    ("POST", "/api/v1/ves/compliance/{id}/proofs"),
    ("GET", "/api/v1/ves/compliance/proofs/{id}"),
    ("GET", "/api/v1/ves/compliance/proofs/{id}/verify"),
]


def _call(client: APIClient, method: str, path: str) -> Any:
    url = path.format(id=uuid.uuid4())
    if method == "POST":
        return client.post(url, data={"proofType": "stark", "proofB64": "AA=="}, format="json")
    return client.get(url)


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path"), STARK_ROUTES)
def test_every_stark_route_of_the_reference_answers_501_after_authentication(
    owner: Persona, member: Persona, admin_client: APIClient, method: str, path: str
) -> None:
    for client in (owner.client, member.client, admin_client):
        response = _call(client, method, path)

        assert response.status_code == 501, response.content[:300]
        assert response["Content-Type"].startswith("application/problem+json")
        body = response.json()
        assert (body["status"], body["code"], body["feature"]) == (501, "not_implemented", "stark")
        assert "stark" in body["detail"].lower()

    anonymous = _call(APIClient(), method, path)
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "missing_auth"


@pytest.mark.django_db
def test_a_method_the_reference_does_not_mount_on_a_stark_route_is_405(owner: Persona) -> None:
    response = owner.client.delete(f"/api/v1/ves/validity/{uuid.uuid4()}/proofs")

    assert response.status_code == 405
    assert response["Content-Type"].startswith("application/problem+json")
