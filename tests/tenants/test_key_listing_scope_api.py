"""A caller lists and revokes only API keys no wider than itself (ADR 0015, ``docs/auth.md`` "Agents").

Real PostgreSQL and Redis, over DRF's test client, with keys minted by the services. The matrix
crosses every kind of caller with every kind of target key: a target is listed exactly when the
caller may revoke it, a refused revocation leaves the key working, and an allowed one stops it
at once. The pure predicate is checked against the model the minting properties use
(``key_scope_model``), and the store-scoped listing against the admin JSON's count.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from audit.models import AuditLogEntry
from sequencer_project.api.principal import Principal
from tenants.credentials import api_key_hash
from tenants.key_scope import api_key_within
from tenants.models import ApiKey, Tenant
from tests.conftest import api_client
from tests.tenants.factories import issue_key, make_tenant
from tests.tenants.key_scope_model import wider_than

WIDENING = (403, "permission_widening_denied")
AGENT_DENIED = (403, "agent_scope_denied")
REVOKED = (200, None)
GONE = (404, "api_key_not_found")


@dataclass(frozen=True)
class Shape:
    """A key's scope: ``agent`` is ``ag`` or ``ag2``; ``stores`` names S1/S2 (empty: all stores)."""

    permissions: str  # r, rw or rwa
    stores: tuple[str, ...] = ()
    agent: str | None = None


CALLERS = {
    "unscoped admin": Shape("rwa"),
    "store-S1 admin": Shape("rwa", ("s1",)),
    "store-S1 read/write": Shape("rw", ("s1",)),
    "agent-AG read/write": Shape("rw", agent="ag"),
    "agent-AG admin": Shape("rwa", agent="ag"),
    "other tenant's admin": Shape("rwa"),  # minted in another tenant
}
TARGETS = {
    "tenant-wide admin of AG": Shape("rwa", agent="ag"),
    "tenant-wide admin of AG2": Shape("rwa", agent="ag2"),
    "S1-scoped admin": Shape("rwa", ("s1",), agent="ag2"),
    "S1-scoped": Shape("rw", ("s1",), agent="ag2"),
    "S2-scoped": Shape("rw", ("s2",), agent="ag2"),
    "S1+S2-scoped": Shape("rw", ("s1", "s2"), agent="ag2"),
    "AG-scoped": Shape("rw", agent="ag"),
    "AG2-scoped": Shape("rw", agent="ag2"),
    "read-only": Shape("r", agent="ag"),
}
# What each caller gets revoking each target (its listing shows exactly the revocable ones).
EXPECTED: dict[str, dict[str, tuple[int, str | None]]] = {
    "unscoped admin": dict.fromkeys(TARGETS, REVOKED),
    "store-S1 admin": {
        "tenant-wide admin of AG": WIDENING,
        "tenant-wide admin of AG2": WIDENING,
        "S1-scoped admin": REVOKED,
        "S1-scoped": REVOKED,
        "S2-scoped": WIDENING,
        "S1+S2-scoped": WIDENING,
        "AG-scoped": WIDENING,
        "AG2-scoped": WIDENING,
        "read-only": WIDENING,
    },
    "store-S1 read/write": dict.fromkeys(TARGETS, AGENT_DENIED),  # neither an admin nor an agent
    "agent-AG read/write": {
        **{name: AGENT_DENIED for name, shape in TARGETS.items() if shape.agent == "ag2"},
        "tenant-wide admin of AG": WIDENING,
        "AG-scoped": REVOKED,
        "read-only": REVOKED,
    },
    "agent-AG admin": {
        **{name: AGENT_DENIED for name, shape in TARGETS.items() if shape.agent == "ag2"},
        "tenant-wide admin of AG": REVOKED,
        "AG-scoped": REVOKED,
        "read-only": REVOKED,
    },
    "other tenant's admin": dict.fromkeys(TARGETS, GONE),  # the agents have no key in its tenant
}


@dataclass
class World:
    tenant: Tenant
    ids: dict[str, uuid.UUID]  # ag, ag2, s1, s2
    targets: dict[str, str]  # name -> key

    @classmethod
    def build(cls) -> World:
        tenant = make_tenant()
        ids = {name: uuid.uuid4() for name in ("ag", "ag2", "s1", "s2")}
        world = cls(tenant, ids, {})
        world.targets = {name: world.mint(shape) for name, shape in TARGETS.items()}
        return world

    def mint(self, shape: Shape, tenant: Tenant | None = None) -> str:
        return issue_key(
            tenant or self.tenant,
            can_read="r" in shape.permissions,
            can_write="w" in shape.permissions,
            can_admin="a" in shape.permissions,
            store_ids=[self.ids[store] for store in shape.stores],
            agent_id=self.ids[shape.agent] if shape.agent else None,
        )

    def caller(self, name: str) -> APIClient:
        tenant = make_tenant() if name == "other tenant's admin" else None
        return api_client(self.mint(CALLERS[name], tenant))

    def agent_of(self, target: str) -> uuid.UUID:
        agent = TARGETS[target].agent
        assert agent is not None
        return self.ids[agent]


def _works(key: str, agent: uuid.UUID) -> bool:
    """The key still authenticates: an agent's key always reads its own agent."""
    response = api_client(key).get(f"/api/v1/agents/{agent}")
    assert response.status_code in (200, 401), response.content
    return response.status_code == 200


def _outcome(response: Any) -> tuple[int, str | None]:
    if response.status_code == 200:
        return REVOKED
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == response.status_code
    return response.status_code, response.json()["code"]


def _listed(client: APIClient, agent: uuid.UUID) -> tuple[int, set[str]]:
    response = client.get(f"/api/v1/agents/{agent}/api-keys")
    if response.status_code != 200:
        return response.status_code, set()
    body = response.json()
    assert body["count"] == len(body["keys"])
    return 200, {key["keyHashPrefix"] for key in body["keys"]}


@pytest.mark.django_db
@pytest.mark.parametrize("caller_name", list(CALLERS))
def test_a_caller_lists_exactly_the_keys_it_may_revoke(caller_name: str) -> None:
    world = World.build()
    client = world.caller(caller_name)
    expected = EXPECTED[caller_name]

    for agent in ("ag", "ag2"):
        status, listed = _listed(client, world.ids[agent])
        names = [name for name, shape in TARGETS.items() if shape.agent == agent]
        if all(expected[name] == AGENT_DENIED for name in names):
            assert status == 403
            continue
        assert status == 200
        visible = {name for name in names if api_key_hash(world.targets[name])[:16] in listed}
        assert visible == {name for name in names if expected[name] == REVOKED}, (caller_name, agent)


@pytest.mark.django_db
@pytest.mark.parametrize("caller_name", list(CALLERS))
@pytest.mark.parametrize("target", list(TARGETS))
def test_a_caller_revokes_only_keys_no_wider_than_itself(caller_name: str, target: str) -> None:
    world = World.build()
    client = world.caller(caller_name)
    key, agent = world.targets[target], world.agent_of(target)
    audited = AuditLogEntry.objects.filter(action="api_key.revoke").count()

    response = client.delete(f"/api/v1/agents/{agent}/api-keys/{api_key_hash(key)[:16]}")

    outcome = _outcome(response)
    assert outcome == EXPECTED[caller_name][target]
    revoked = outcome == REVOKED
    assert ApiKey.objects.get(key_hash=api_key_hash(key)).active is not revoked
    assert _works(key, agent) is not revoked
    assert AuditLogEntry.objects.filter(action="api_key.revoke").count() == audited + revoked
    others = [name for name in TARGETS if name != target]
    assert all(_works(world.targets[name], world.agent_of(name)) for name in others)


@pytest.mark.django_db
def test_the_reported_cases() -> None:
    """A store-S1 admin revoked AG2's tenant-wide admin key and its S2 key; an agent's read/write
    key revoked its own agent's admin key. Each is now 403 and the key keeps working."""
    world = World.build()
    s1_admin, ag_writer = world.caller("store-S1 admin"), world.caller("agent-AG read/write")
    attempts = [
        (s1_admin, "tenant-wide admin of AG2"),
        (s1_admin, "S2-scoped"),
        (ag_writer, "tenant-wide admin of AG"),
    ]

    for client, target in attempts:
        key, agent = world.targets[target], world.agent_of(target)
        response = client.delete(f"/api/v1/agents/{agent}/api-keys/{api_key_hash(key)[:16]}")
        assert _outcome(response) == WIDENING, target
        assert _works(key, agent)
    listing = s1_admin.get(f"/api/v1/agents/{world.ids['ag2']}/api-keys").json()
    assert all(key["storeIds"] == [str(world.ids["s1"])] for key in listing["keys"])
    assert "admin" not in {
        k["permissions"] for k in ag_writer.get(f"/api/v1/agents/{world.ids['ag']}/api-keys").json()["keys"]
    }


@pytest.mark.django_db
def test_a_store_scoped_admins_listing_matches_the_admin_json() -> None:
    world = World.build()
    client = world.caller("store-S1 admin")

    agents = {a["agentId"]: a for a in client.get("/api/v1/admin/agents").json()}

    for agent in ("ag", "ag2"):
        listing = client.get(f"/api/v1/agents/{world.ids[agent]}/api-keys").json()
        summary = agents.get(str(world.ids[agent]))
        assert listing["count"] == (summary["apiKeyCount"] if summary else 0)


@pytest.mark.django_db
def test_an_agent_whose_keys_are_all_wider_is_not_found_in_detail_but_lists_empty() -> None:
    """A store-scoped admin may still mint an agent's key within its stores."""
    world = World.build()
    client = world.caller("store-S1 admin")
    agent = world.ids["ag"]  # every key of AG reaches every store

    detail = client.get(f"/api/v1/agents/{agent}")
    listing = client.get(f"/api/v1/agents/{agent}/api-keys")
    minted = client.post(f"/api/v1/agents/{agent}/api-keys", data={}, format="json")

    assert _outcome(detail) == (404, "agent_not_found")
    assert listing.json() == {"keys": [], "count": 0}
    assert minted.status_code == 200
    assert client.get(f"/api/v1/agents/{agent}/api-keys").json()["count"] == 1


@pytest.mark.django_db
def test_a_prefix_matching_a_visible_and_a_wider_key_is_ambiguous_and_revokes_none() -> None:
    world = World.build()
    agent = world.ids["ag2"]
    tenant = world.tenant
    visible = ApiKey.objects.create(
        key_hash="abcdef12" + "0" * 56,
        tenant=tenant,
        display_prefix="ss_fixed",
        agent_id=agent,
        store_ids=[world.ids["s1"]],
        can_admin=True,
    )
    wider = ApiKey.objects.create(
        key_hash="abcdef12" + "1" * 56, tenant=tenant, display_prefix="ss_fixed", agent_id=agent, can_admin=True
    )
    client = world.caller("store-S1 admin")

    ambiguous = client.delete(f"/api/v1/agents/{agent}/api-keys/abcdef12")
    refused = client.delete(f"/api/v1/agents/{agent}/api-keys/abcdef121")
    allowed = client.delete(f"/api/v1/agents/{agent}/api-keys/abcdef120")

    assert [_outcome(r) for r in (ambiguous, refused, allowed)] == [(409, "key_prefix_ambiguous"), WIDENING, REVOKED]
    visible.refresh_from_db()
    wider.refresh_from_db()
    assert (visible.active, wider.active) == (False, True)


# --- The predicate, purely, against the minting properties' model ------------------------------

TENANT, OTHER_TENANT = uuid.UUID(int=1), uuid.UUID(int=2)
AGENTS = [uuid.UUID(int=10), uuid.UUID(int=11)]
STORES = [uuid.UUID(int=20 + n) for n in range(3)]


def _principals(tenants: list[uuid.UUID], agents: Any) -> st.SearchStrategy[Principal]:
    return st.builds(
        Principal,
        tenant_id=st.sampled_from(tenants),
        can_read=st.booleans(),
        can_write=st.booleans(),
        can_admin=st.booleans(),
        store_ids=st.frozensets(st.sampled_from(STORES), max_size=3),
        agent_id=agents,
    )


BOOTSTRAP = Principal(tenant_id=None, can_read=True, can_write=True, can_admin=True, kind="bootstrap")


@settings(max_examples=2000, deadline=None)
@given(
    _principals([TENANT], st.none() | st.sampled_from(AGENTS)) | st.just(BOOTSTRAP),
    _principals([TENANT, OTHER_TENANT], st.sampled_from(AGENTS)),
)
def test_a_key_is_within_its_caller_exactly_when_the_model_finds_it_no_wider(caller: Principal, key: Principal) -> None:
    """Rate limit and expiry aside (``api_key_within`` does not compare them), the rule listing
    and revocation apply is the one the minting properties judge minted keys by."""
    assert api_key_within(caller, key) is (wider_than(key, caller) == [])
