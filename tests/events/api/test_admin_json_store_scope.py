"""Admin JSON for a store-scoped admin key: every answer covers the key's stores only (docs/auth.md).

One tenant with two stores, S1 (3 events) and S2 (5 events), and keys of every scope: an admin
key scoped to S1 must see S1's figures and the keys and agents scoped within S1, never S2's
rows, heads or lags, nor keys reaching beyond S1 (all-stores keys, keys naming S2).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tests.conftest import IngestPoster, Persona, api_client, legacy_event
from tests.events.ves_helpers import register_key
from tests.tenants.factories import issue_key
from ves.signing import public_key_from_seed

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class TwoStores:
    s1: uuid.UUID
    s2: uuid.UUID
    scoped_admin: APIClient  # an admin key scoped to S1, without an agent
    agent_in_s1: uuid.UUID  # a read key scoped to S1
    agent_in_s2: uuid.UUID  # a write key scoped to S2
    agent_everywhere: uuid.UUID  # an admin key on every store
    agent_in_both: uuid.UUID  # a key scoped to S1 and S2
    agent_signing_only: uuid.UUID  # only a signing key (tenant-level, no store scope)


def _ingest(persona: Persona, post_ingest: IngestPoster, store_id: uuid.UUID, count: int) -> None:
    events = [legacy_event(persona.tenant_id, store_id) for _ in range(count)]
    assert post_ingest(persona.client, {"events": events}).status_code == 200


@pytest.fixture
def two_stores(owner: Persona, post_ingest: IngestPoster) -> TwoStores:
    s1, s2 = owner.store_id, uuid.uuid4()
    _ingest(owner, post_ingest, s1, 3)
    _ingest(owner, post_ingest, s2, 5)
    world = TwoStores(
        s1=s1,
        s2=s2,
        scoped_admin=api_client(issue_key(owner.tenant, can_admin=True, store_ids=[s1])),
        agent_in_s1=uuid.uuid4(),
        agent_in_s2=uuid.uuid4(),
        agent_everywhere=uuid.uuid4(),
        agent_in_both=uuid.uuid4(),
        agent_signing_only=uuid.uuid4(),
    )
    issue_key(owner.tenant, agent_id=world.agent_in_s1, store_ids=[s1])
    issue_key(owner.tenant, can_write=True, agent_id=world.agent_in_s2, store_ids=[s2])
    issue_key(owner.tenant, can_admin=True, agent_id=world.agent_everywhere)
    issue_key(owner.tenant, agent_id=world.agent_in_both, store_ids=[s1, s2])
    seed_key = public_key_from_seed(b"\x22" * 32)
    assert register_key(owner.client, owner.tenant_id, world.agent_signing_only, 1, seed_key).status_code == 200
    return world


def _get(client: APIClient, endpoint: str) -> Any:
    response = client.get(f"/api/v1/admin/{endpoint}")
    assert response.status_code == 200, response.content
    return response.json()


def test_a_store_scoped_admin_lists_only_its_stores(two_stores: TwoStores) -> None:
    stores = _get(two_stores.scoped_admin, "stores")

    assert [s["storeId"] for s in stores] == [str(two_stores.s1)]
    (s1,) = stores
    assert (s1["headSequence"], s1["lastProjectedSequence"], s1["projectionLag"]) == (3, 0, 3)
    assert s1["agentCount"] == 1  # agent_in_s1; the all-stores and S1+S2 keys reach beyond S1


def test_a_store_scoped_admin_overview_counts_and_sums_its_stores_only(two_stores: TwoStores) -> None:
    overview = _get(two_stores.scoped_admin, "overview")

    assert overview["tenants"] == 1
    assert overview["stores"] == 1
    assert overview["totalHeadSequence"] == 3
    assert overview["activeStores24h"] == 1
    assert overview["maxProjectionLag"] == 3  # S2's lag is 5
    assert overview["agents"] == 1
    assert overview["apiKeys"] == 2  # the scoped admin key and agent_in_s1's
    assert overview["activeApiKeys"] == 2


def test_a_store_scoped_admin_tenant_row_covers_its_stores_only(two_stores: TwoStores, owner: Persona) -> None:
    (tenant,) = _get(two_stores.scoped_admin, "tenants")

    assert tenant["tenantId"] == str(owner.tenant_id)
    assert (tenant["storeCount"], tenant["stores"]) == (1, 1)
    assert (tenant["totalHeadSequence"], tenant["headSequence"]) == (3, 3)
    assert (tenant["agentCount"], tenant["apiKeyCount"], tenant["activeApiKeys"]) == (1, 2, 2)
    assert tenant["maxProjectionLag"] == 3


def test_a_store_scoped_admin_lists_only_agents_with_a_key_within_its_stores(two_stores: TwoStores) -> None:
    agents = _get(two_stores.scoped_admin, "agents")

    assert [a["agentId"] for a in agents] == [str(two_stores.agent_in_s1)]
    (agent,) = agents
    assert (agent["permissions"], agent["storeScope"], agent["storeIds"]) == ("read", "scoped", [str(two_stores.s1)])
    assert (agent["apiKeyCount"], agent["activeApiKeys"]) == (1, 1)


def test_an_unscoped_admin_of_the_tenant_still_sees_every_store_and_agent(
    two_stores: TwoStores, owner: Persona
) -> None:
    stores = {s["storeId"]: s for s in _get(owner.client, "stores")}
    overview = _get(owner.client, "overview")
    agents = {a["agentId"] for a in _get(owner.client, "agents")}

    assert set(stores) == {str(two_stores.s1), str(two_stores.s2)}
    assert stores[str(two_stores.s1)]["agentCount"] == 3  # in_s1, everywhere, in_both
    assert (overview["stores"], overview["totalHeadSequence"], overview["maxProjectionLag"]) == (2, 8, 5)
    assert overview["agents"] == 5
    assert overview["apiKeys"] == 6  # the owner's, the scoped admin's and the four agents'
    assert agents == {
        str(a)
        for a in (
            two_stores.agent_in_s1,
            two_stores.agent_in_s2,
            two_stores.agent_everywhere,
            two_stores.agent_in_both,
            two_stores.agent_signing_only,
        )
    }


def test_the_same_key_is_refused_the_other_store_when_it_asks_for_it(two_stores: TwoStores, owner: Persona) -> None:
    response = two_stores.scoped_admin.get(f"/api/v1/head?tenant_id={owner.tenant_id}&store_id={two_stores.s2}")

    assert response.status_code == 403
    assert response.json()["code"] == "store_access_denied"


@pytest.mark.parametrize("endpoint", ["overview", "tenants", "stores", "agents"])
def test_a_store_scoped_answer_is_still_one_statement(two_stores: TwoStores, endpoint: str) -> None:
    _get(two_stores.scoped_admin, endpoint)  # warm the key cache and last-used stamp
    with CaptureQueriesContext(connection) as queries:
        _get(two_stores.scoped_admin, endpoint)

    assert len(queries) == 1, [q["sql"] for q in queries]
