"""Admin JSON: figures from counters and summaries, one statement per request, tenant-scoped."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tests.conftest import IngestPoster, Persona, api_client, legacy_event
from tests.tenants.factories import issue_key
from ves.signing import public_key_from_seed

pytestmark = pytest.mark.django_db

ENDPOINTS = ["overview", "tenants", "stores", "agents"]
EVENT_TABLES = ("events", "ves_events", "rejected_events", "entity_versions", "command_dedupe")


def _ingest(persona: Persona, post_ingest: IngestPoster, count: int, store_id: uuid.UUID | None = None) -> None:
    store = store_id or persona.store_id
    events = [legacy_event(persona.tenant_id, store) for _ in range(count)]
    assert post_ingest(persona.client, {"events": events}).status_code == 200


@pytest.fixture
def busy_owner(owner: Persona, post_ingest: IngestPoster) -> Persona:
    _ingest(owner, post_ingest, 3)
    _ingest(owner, post_ingest, 2, store_id=uuid.uuid4())
    issue_key(owner.tenant, can_write=True, agent_id=uuid.uuid4())
    issue_key(owner.tenant, agent_id=uuid.uuid4(), store_ids=[owner.store_id])
    return owner


def test_a_tenant_admin_sees_its_own_tenant(busy_owner: Persona, outsider: Persona, post_ingest: IngestPoster) -> None:
    _ingest(outsider, post_ingest, 7)
    client = busy_owner.client

    overview = client.get("/api/v1/admin/overview").json()
    tenants = client.get("/api/v1/admin/tenants").json()
    stores = client.get("/api/v1/admin/stores").json()
    agents = client.get("/api/v1/admin/agents").json()

    assert overview["tenants"] == 1
    assert overview["stores"] == 2
    assert overview["agents"] == 2
    assert overview["apiKeys"] == 3
    assert overview["activeApiKeys"] == 3
    assert overview["totalHeadSequence"] == 5
    assert overview["activeStores24h"] == 2
    assert overview["lastActivityAt"] is not None
    assert overview["maxProjectionLag"] == 3  # no projection has run: the fuller store's head
    assert [t["tenantId"] for t in tenants] == [str(busy_owner.tenant_id)]
    assert tenants[0]["headSequence"] == 5
    assert {s["storeId"]: s["headSequence"] for s in stores}[str(busy_owner.store_id)] == 3
    assert {s["storeId"]: s["agentCount"] for s in stores}[str(busy_owner.store_id)] == 2
    assert all(s["tenantId"] == str(busy_owner.tenant_id) for s in stores)
    assert sorted(a["permissions"] for a in agents) == ["read", "read_write"]
    assert set(agents[0]) >= {
        "tenantId", "agentId", "permissions", "storeScope", "apiKeyCount", "activeApiKeys",
        "firstKeyAt", "lastKeyAt", "storeId", "lastSyncAt", "lastPushedSequence", "lastPulledSequence",
    }  # fmt: skip


def test_the_bootstrap_admin_sees_every_tenant(busy_owner: Persona, outsider: Persona, admin_client: APIClient) -> None:
    overview = admin_client.get("/api/v1/admin/overview").json()
    tenant_ids = {t["tenantId"] for t in admin_client.get("/api/v1/admin/tenants?limit=1000").json()}

    assert overview["tenants"] >= 2
    assert overview["totalHeadSequence"] >= 5
    assert {str(busy_owner.tenant_id), str(outsider.tenant_id)} <= tenant_ids


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_admin_json_needs_the_admin_permission(member: Persona, endpoint: str) -> None:
    response = member.client.get(f"/api/v1/admin/{endpoint}")

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_admin_json_is_one_statement_that_never_reads_event_tables(
    busy_owner: Persona, admin_client: APIClient, endpoint: str
) -> None:
    for client in (admin_client, busy_owner.client):
        client.get(f"/api/v1/admin/{endpoint}")  # warm the key cache and last-used stamp
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/api/v1/admin/{endpoint}")

        assert response.status_code == 200
        assert len(queries) == 1, [q["sql"] for q in queries]
        sql = queries[0]["sql"].lower()
        assert not any(f" {table} " in sql or f" {table}\n" in sql for table in EVENT_TABLES)


def test_limit_is_validated(busy_owner: Persona) -> None:
    response = busy_owner.client.get("/api/v1/admin/tenants?limit=0")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_parameter"


def test_an_agent_known_only_by_signing_keys_is_listed(owner: Persona) -> None:
    agent_id = uuid.uuid4()
    body: dict[str, Any] = {
        "tenantId": str(owner.tenant_id),
        "agentId": str(agent_id),
        "keyId": 1,
        "publicKey": public_key_from_seed(b"\x11" * 32).hex(),
    }
    assert owner.client.post("/api/v1/agents/keys", data=body, format="json").status_code == 200

    agents = api_client(owner.key).get("/api/v1/admin/agents").json()

    (row,) = [a for a in agents if a["agentId"] == str(agent_id)]
    assert (row["permissions"], row["storeScope"], row["apiKeyCount"], row["signingKeyCount"]) == (
        "none",
        "scoped",
        0,
        1,
    )
