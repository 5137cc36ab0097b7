"""Admin JSON lists page with ``offset`` over a stable order: a walk sees every row exactly once,
past the first 1,000 (docs/auth.md, "Admin JSON")."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tests.conftest import Persona, api_client
from tests.tenants.factories import issue_key, make_tenant

pytestmark = pytest.mark.django_db

STORES = 2_105  # more than two full pages of the largest limit


def _add_stores(tenant_id: uuid.UUID, count: int) -> set[str]:
    """``count`` stores of the tenant, as a first write creates them (a ``stores`` row): a third
    share one ``created_at`` (the order's tie-break is the id), some have a head."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO stores (tenant_id, store_id, name, created_at)
            SELECT %(tenant_id)s, gen_random_uuid(), '',
                   CASE WHEN g %% 3 = 0 THEN now() - interval '1 day' ELSE now() - g * interval '1 second' END
            FROM generate_series(1, %(count)s) AS g
            RETURNING store_id
            """,
            {"tenant_id": tenant_id, "count": count},
        )
        stores = {str(row[0]) for row in cursor.fetchall()}
        cursor.execute(
            """
            INSERT INTO sequence_counters (tenant_id, store_id, stream_kind, current_sequence, updated_at)
            SELECT tenant_id, store_id, 1, 5, now() - (random() * interval '1 hour')
            FROM stores WHERE tenant_id = %(tenant_id)s AND store_id::text < '4'
            """,
            {"tenant_id": tenant_id},
        )
    return stores


def _touch(store_ids: list[str]) -> None:
    """Ingest moving those stores to the front of the activity order (the dashboard's)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO sequence_counters (tenant_id, store_id, stream_kind, current_sequence, updated_at)
            SELECT tenant_id, store_id, 1, 1, clock_timestamp() + interval '1 minute'
            FROM stores WHERE store_id = ANY(%(ids)s::uuid[])
            ON CONFLICT (tenant_id, store_id, stream_kind)
            DO UPDATE SET current_sequence = sequence_counters.current_sequence + 1, updated_at = EXCLUDED.updated_at
            """,
            {"ids": store_ids},
        )


def _walk(
    client: APIClient, endpoint: str, key: str, limit: int, between: Callable[[set[str]], None] | None = None
) -> list[str]:
    seen: list[str] = []
    offset = 0
    while True:
        response = client.get(f"/api/v1/admin/{endpoint}?limit={limit}&offset={offset}")
        assert response.status_code == 200, response.json()
        page: list[dict[str, Any]] = response.json()
        assert len(page) <= limit
        seen += [row[key] for row in page]
        if len(page) < limit:
            return seen
        offset += limit
        if between is not None:
            between(set(seen))


def _stores_of(tenant_id: uuid.UUID | None = None) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT store_id FROM stores WHERE %(t)s::uuid IS NULL OR tenant_id = %(t)s::uuid", {"t": tenant_id}
        )
        return {str(row[0]) for row in cursor.fetchall()}


@pytest.mark.parametrize("limit", [1000, 333])
def test_walking_the_store_pages_reaches_every_store_exactly_once(owner: Persona, limit: int) -> None:
    stores = _add_stores(owner.tenant_id, STORES)
    assert _stores_of(owner.tenant_id) == stores

    seen = _walk(owner.client, "stores", "storeId", limit)

    assert len(seen) == STORES
    assert set(seen) == stores


def test_the_walk_holds_while_ingest_reorders_the_dashboards_view(owner: Persona) -> None:
    """Between pages, stores not read yet get new events: in the activity order they would jump
    ahead of the offset (never seen) and push read ones onto the next page (seen twice)."""
    stores = _add_stores(owner.tenant_id, STORES)

    def ingest_into_unseen(seen: set[str]) -> None:
        _touch(sorted(stores - seen)[:25])

    seen = _walk(owner.client, "stores", "storeId", 500, between=ingest_into_unseen)

    assert len(seen) == STORES
    assert set(seen) == stores


def test_the_bootstrap_admin_walks_the_stores_of_every_tenant(admin_client: APIClient, owner: Persona) -> None:
    other = make_tenant()
    _add_stores(owner.tenant_id, 1_200)
    _add_stores(other.id, 900)

    seen = _walk(admin_client, "stores", "storeId", 1000)

    assert len(seen) == len(set(seen))
    assert set(seen) == _stores_of()
    assert len(seen) >= 2_100


def test_without_offset_the_stores_come_newest_activity_first_as_before(owner: Persona) -> None:
    stores = sorted(_add_stores(owner.tenant_id, 50))
    _touch(stores[:1])

    first = owner.client.get("/api/v1/admin/stores?limit=5").json()
    paged = owner.client.get("/api/v1/admin/stores?limit=5&offset=0").json()

    assert first[0]["storeId"] == stores[0]  # the dashboard's view: latest activity first
    assert [s["updatedAt"] for s in first] == sorted((s["updatedAt"] for s in first), reverse=True)
    assert len(paged) == 5
    assert [s["createdAt"] for s in paged] == sorted(s["createdAt"] for s in paged)  # stable order


def test_a_store_scoped_admin_walks_its_own_stores_only(owner: Persona) -> None:
    stores = sorted(_add_stores(owner.tenant_id, 30))
    mine = [uuid.UUID(s) for s in stores[:5]]
    client = api_client(issue_key(owner.tenant, can_admin=True, store_ids=mine))

    seen = _walk(client, "stores", "storeId", 2)

    assert sorted(seen) == stores[:5]


def test_walking_the_tenant_pages_reaches_every_tenant_exactly_once(admin_client: APIClient) -> None:
    for _ in range(7):
        make_tenant()
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM tenants")
        tenants = {str(row[0]) for row in cursor.fetchall()}

    seen = _walk(admin_client, "tenants", "tenantId", 3)

    assert len(seen) == len(tenants)
    assert set(seen) == tenants


def test_walking_the_agent_pages_reaches_every_agent_exactly_once(owner: Persona) -> None:
    agents = {str(uuid.uuid4()) for _ in range(11)}
    for agent in sorted(agents):
        issue_key(owner.tenant, agent_id=uuid.UUID(agent))

    seen = _walk(owner.client, "agents", "agentId", 4)

    assert len(seen) == len(agents)
    assert set(seen) == agents


@pytest.mark.parametrize("endpoint", ["tenants", "stores", "agents"])
def test_a_page_is_still_one_statement(owner: Persona, endpoint: str) -> None:
    owner.client.get(f"/api/v1/admin/{endpoint}")  # warm the key cache and last-used stamp
    with CaptureQueriesContext(connection) as queries:
        response = owner.client.get(f"/api/v1/admin/{endpoint}?limit=10&offset=20")

    assert response.status_code == 200
    assert len(queries) == 1


@pytest.mark.parametrize("endpoint", ["tenants", "stores", "agents"])
@pytest.mark.parametrize("offset", ["-1", "abc", "1.5", "٣", "99999999999999999999", "1e3"])
def test_a_bad_offset_is_400_naming_it(owner: Persona, endpoint: str, offset: str) -> None:
    response = owner.client.get(f"/api/v1/admin/{endpoint}", {"offset": offset})

    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["parameter"]) == ("invalid_parameter", "offset")
    assert response["Content-Type"].startswith("application/problem+json")


def test_an_offset_past_the_end_is_an_empty_page(owner: Persona) -> None:
    _add_stores(owner.tenant_id, 3)

    response = owner.client.get("/api/v1/admin/stores?offset=3")

    assert (response.status_code, response.json()) == (200, [])
