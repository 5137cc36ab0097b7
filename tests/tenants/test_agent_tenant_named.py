"""The bootstrap admin names an agent's tenant: agent ids are unique per tenant only.

Two tenants may hold keys for one agent id (clients choose agent ids). The bootstrap admin's
agent operations took the tenant of the oldest key, so it read, minted into and revoked in
whichever tenant came first; a tenant could take over the operator's view of another tenant's
agent by minting for its id first. Now the bootstrap admin names the tenant with ``tenant_id``
(409 ``agent_ambiguous`` when the id is in several tenants and none is named), and may mint a new
tenant's first key that way.
"""

from __future__ import annotations

import uuid

import pytest
from rest_framework.test import APIClient

from tenants.credentials import api_key_hash
from tenants.models import ApiKey
from tenants.services import agent_key_register
from tests.conftest import Persona, api_client
from tests.tenants.factories import issue_key, make_tenant
from ves.signing import public_key_from_seed

pytestmark = pytest.mark.django_db


def _problem(response: object, status: int, code: str) -> None:
    assert response.status_code == status, response.content  # type: ignore[attr-defined]
    assert response["Content-Type"] == "application/problem+json"  # type: ignore[index]
    body = response.json()  # type: ignore[attr-defined]
    assert (body["status"], body["code"]) == (status, code)


@pytest.fixture
def shared_agent(owner: Persona) -> tuple[uuid.UUID, Persona, str, str]:
    """One agent id with a key in ``owner``'s tenant (older) and one in another tenant (newer)."""
    agent_id = uuid.uuid4()
    first = issue_key(owner.tenant, can_write=True, agent_id=agent_id)
    other_tenant = make_tenant()
    second = issue_key(other_tenant, can_write=True, agent_id=agent_id)
    other = Persona(other_tenant, uuid.uuid4(), second, api_client(second))
    return agent_id, other, first, second


def test_an_agent_id_in_two_tenants_needs_the_tenant_named_by_the_bootstrap_admin(
    owner: Persona, admin_client: APIClient, shared_agent: tuple[uuid.UUID, Persona, str, str]
) -> None:
    agent_id, other, first, second = shared_agent
    for response in (
        admin_client.get(f"/api/v1/agents/{agent_id}"),
        admin_client.get(f"/api/v1/agents/{agent_id}/api-keys"),
        admin_client.post(f"/api/v1/agents/{agent_id}/api-keys", data={"readOnly": True}, format="json"),
        admin_client.delete(f"/api/v1/agents/{agent_id}/api-keys/{api_key_hash(second)[:16]}"),
    ):
        _problem(response, 409, "agent_ambiguous")
    assert ApiKey.objects.filter(agent_id=agent_id).count() == 2  # nothing minted
    assert ApiKey.objects.get(key_hash=api_key_hash(second)).active

    in_other = f"tenant_id={other.tenant_id}"
    detail = admin_client.get(f"/api/v1/agents/{agent_id}?{in_other}")
    assert (detail.status_code, detail.json()["tenantId"]) == (200, str(other.tenant_id))
    listed = admin_client.get(f"/api/v1/agents/{agent_id}/api-keys?{in_other}").json()["keys"]
    assert [k["keyHashPrefix"] for k in listed] == [api_key_hash(second)[:16]]

    minted = admin_client.post(f"/api/v1/agents/{agent_id}/api-keys?{in_other}", data={"readOnly": True}, format="json")
    assert (minted.status_code, minted.json()["tenantId"]) == (200, str(other.tenant_id))
    assert ApiKey.objects.get(key_hash=api_key_hash(minted.json()["apiKey"])).tenant_id == other.tenant_id

    # The newer tenant's key is revoked in its own tenant; the older tenant's key is untouched.
    revoked = admin_client.delete(f"/api/v1/agents/{agent_id}/api-keys/{api_key_hash(second)[:16]}?{in_other}")
    assert revoked.status_code == 200
    assert not ApiKey.objects.get(key_hash=api_key_hash(second)).active
    assert ApiKey.objects.get(key_hash=api_key_hash(first)).active
    in_owner = admin_client.get(f"/api/v1/agents/{agent_id}?tenant_id={owner.tenant_id}")
    assert in_owner.json()["tenantId"] == str(owner.tenant_id)


def test_an_agent_id_known_to_another_tenant_by_a_signing_key_alone_is_ambiguous_too(
    owner: Persona, admin_client: APIClient
) -> None:
    agent_id = uuid.uuid4()
    issue_key(owner.tenant, can_write=True, agent_id=agent_id)
    elsewhere = make_tenant()
    agent_key_register(
        tenant_id=elsewhere.id,
        agent_id=agent_id,
        key_id=1,
        public_key=public_key_from_seed(bytes(range(32))),
        actor="test",
    )

    _problem(admin_client.get(f"/api/v1/agents/{agent_id}"), 409, "agent_ambiguous")
    minted = admin_client.post(f"/api/v1/agents/{agent_id}/api-keys", data={"readOnly": True}, format="json")
    _problem(minted, 409, "agent_ambiguous")
    assert ApiKey.objects.filter(agent_id=agent_id).count() == 1


def test_a_tenant_credential_may_name_only_its_own_tenant(
    owner: Persona, shared_agent: tuple[uuid.UUID, Persona, str, str]
) -> None:
    agent_id, other, _, _ = shared_agent
    own = owner.client.get(f"/api/v1/agents/{agent_id}?tenant_id={owner.tenant_id}")
    assert (own.status_code, own.json()["tenantId"]) == (200, str(owner.tenant_id))
    for response in (
        owner.client.get(f"/api/v1/agents/{agent_id}?tenant_id={other.tenant_id}"),
        owner.client.post(
            f"/api/v1/agents/{agent_id}/api-keys?tenant_id={other.tenant_id}", data={"readOnly": True}, format="json"
        ),
    ):
        _problem(response, 403, "tenant_access_denied")
    assert ApiKey.objects.filter(tenant_id=other.tenant_id, agent_id=agent_id).count() == 1
    _problem(owner.client.get(f"/api/v1/agents/{agent_id}?tenant_id=not-a-uuid"), 400, "invalid_parameter")


def test_the_bootstrap_admin_mints_a_new_tenants_first_key(admin_client: APIClient) -> None:
    tenant = make_tenant()
    agent_id = uuid.uuid4()

    minted = admin_client.post(
        f"/api/v1/agents/{agent_id}/api-keys?tenant_id={tenant.id}", data={"admin": True}, format="json"
    )

    assert minted.status_code == 200, minted.content
    assert minted.json()["tenantId"] == str(tenant.id)
    key = minted.json()["apiKey"]
    stored = ApiKey.objects.get(key_hash=api_key_hash(key))
    assert (stored.tenant_id, stored.agent_id, stored.can_admin) == (tenant.id, agent_id, True)
    # The key works in its tenant (here: it lists its own agent's keys) and nowhere else.
    assert api_client(key).get(f"/api/v1/agents/{agent_id}/api-keys").json()["count"] == 1
    head = api_client(key).get(f"/api/v1/head?tenant_id={uuid.uuid4()}&store_id={uuid.uuid4()}")
    _problem(head, 403, "tenant_access_denied")

    unknown = admin_client.post(
        f"/api/v1/agents/{uuid.uuid4()}/api-keys?tenant_id={uuid.uuid4()}", data={"admin": True}, format="json"
    )
    _problem(unknown, 404, "agent_not_found")
