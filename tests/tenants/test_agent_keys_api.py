"""Agent signing keys: register, duplicate, list, revoke, permissions, bad input."""

from __future__ import annotations

import uuid

import pytest
from rest_framework.test import APIClient

from tests.conftest import Persona, api_client
from tests.events.ves_helpers import register_key
from tests.tenants.factories import issue_key
from ves.signing import public_key_from_seed

pytestmark = pytest.mark.django_db

KEY = public_key_from_seed(bytes(range(32)))


def test_register_list_and_revoke(owner: Persona) -> None:
    agent_id = uuid.uuid4()

    response = register_key(owner.client, owner.tenant_id, agent_id, 7, KEY, validTo="2999-01-01T00:00:00Z")

    assert response.status_code == 200, response.content
    assert response.json() == {
        "success": True,
        "tenantId": str(owner.tenant_id),
        "agentId": str(agent_id),
        "keyId": 7,
        "keyAlgorithm": 0,
        "message": "Agent key registered successfully",
    }
    listed = owner.client.get(f"/api/v1/agents/{agent_id}/keys?tenant_id={owner.tenant_id}").json()
    assert listed["count"] == 1
    assert listed["keys"][0]["publicKey"] == KEY.hex()
    assert listed["keys"][0]["status"] == "active"
    assert listed["keys"][0]["keyAlgorithm"] == 1

    revoked = owner.client.delete(f"/api/v1/agents/{agent_id}/keys/7?tenant_id={owner.tenant_id}")
    assert revoked.status_code == 200
    listed = owner.client.get(f"/api/v1/agents/{agent_id}/keys?tenant_id={owner.tenant_id}").json()
    assert listed["keys"][0]["status"] == "revoked"
    assert listed["keys"][0]["revokedAt"] is not None


def test_a_duplicate_registration_is_a_conflict(owner: Persona) -> None:
    agent_id = uuid.uuid4()
    register_key(owner.client, owner.tenant_id, agent_id, 1, KEY)

    response = register_key(owner.client, owner.tenant_id, agent_id, 1, public_key_from_seed(bytes(32)))

    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "agent_key_exists"


def test_a_revoked_public_key_does_not_come_back_under_another_id_or_agent(owner: Persona) -> None:
    # A key-lifecycle audit revoked key 7 and registered the same public key as key 8, whose
    # events then verified again: a key revoked because it leaked would be back in use.
    agent_id = uuid.uuid4()
    assert register_key(owner.client, owner.tenant_id, agent_id, 7, KEY).status_code == 200
    assert owner.client.delete(f"/api/v1/agents/{agent_id}/keys/7?tenant_id={owner.tenant_id}").status_code == 200

    for agent, key_id in ((agent_id, 8), (uuid.uuid4(), 7)):
        refused = register_key(owner.client, owner.tenant_id, agent, key_id, KEY)
        assert refused.status_code == 409, refused.content
        assert refused["Content-Type"] == "application/problem+json"
        assert (refused.json()["status"], refused.json()["code"]) == (409, "agent_key_revoked")
    fresh = public_key_from_seed(bytes(range(1, 33)))
    assert register_key(owner.client, owner.tenant_id, agent_id, 8, fresh).status_code == 200


def test_the_bootstrap_admin_may_register_for_a_new_tenant_which_is_created_audited(admin_client: APIClient) -> None:
    """The reference registers a key for any tenant id (its key table names no tenant); ours needs
    the tenant row, which is created with its ``tenant.create`` audit row in the key's transaction."""
    from audit.models import AuditLogEntry
    from tenants.models import Tenant

    tenant_id, agent = uuid.uuid4(), uuid.uuid4()

    assert register_key(admin_client, tenant_id, agent, 1, KEY).status_code == 200

    assert Tenant.objects.filter(id=tenant_id, is_active=True).exists()
    assert list(AuditLogEntry.objects.filter(tenant_id=tenant_id).order_by("id").values_list("action", "detail")) == [
        ("tenant.create", {"name": f"tenant {tenant_id}", "is_active": True, "via": "agent_key.register"}),
        ("agent_key.register", {"public_key": KEY.hex()}),
    ]
    assert register_key(admin_client, tenant_id, agent, 2, KEY).status_code == 200
    assert AuditLogEntry.objects.filter(tenant_id=tenant_id, action="tenant.create").count() == 1


def test_only_admins_of_the_tenant_may_register_or_revoke(owner: Persona, outsider: Persona) -> None:
    writer = api_client(issue_key(owner.tenant, can_write=True))
    agent_id = uuid.uuid4()
    assert register_key(writer, owner.tenant_id, agent_id, 1, KEY).json()["code"] == "permission_denied"
    assert register_key(outsider.client, owner.tenant_id, agent_id, 1, KEY).json()["code"] == "tenant_access_denied"
    register_key(owner.client, owner.tenant_id, agent_id, 1, KEY)
    response = writer.delete(f"/api/v1/agents/{agent_id}/keys/1?tenant_id={owner.tenant_id}")
    assert response.status_code == 403


def test_an_agent_scoped_admin_registers_and_revokes_only_its_own_agents_keys(owner: Persona) -> None:
    """An agent-scoped credential, admin or not, acts only as its agent (docs/auth.md): another
    agent's signing keys would let it revoke that agent's identity or plant one it controls."""
    mine, theirs = uuid.uuid4(), uuid.uuid4()
    agent_admin = api_client(issue_key(owner.tenant, can_write=True, can_admin=True, agent_id=mine))
    assert register_key(owner.client, owner.tenant_id, theirs, 21, KEY).status_code == 200

    planted = register_key(agent_admin, owner.tenant_id, theirs, 22, public_key_from_seed(bytes(32)))
    revoked = agent_admin.delete(f"/api/v1/agents/{theirs}/keys/21?tenant_id={owner.tenant_id}")

    assert (planted.status_code, planted.json()["code"]) == (403, "agent_scope_denied")
    assert (revoked.status_code, revoked.json()["code"]) == (403, "agent_scope_denied")
    listed = owner.client.get(f"/api/v1/agents/{theirs}/keys?tenant_id={owner.tenant_id}").json()
    assert [(key["keyId"], key["status"]) for key in listed["keys"]] == [(21, "active")]
    assert register_key(agent_admin, owner.tenant_id, mine, 1, KEY).status_code == 200
    assert agent_admin.delete(f"/api/v1/agents/{mine}/keys/1?tenant_id={owner.tenant_id}").status_code == 200


@pytest.mark.parametrize(
    ("body_override", "status", "code"),
    [
        ({"publicKey": "0x" + "ab" * 31}, 400, "invalid_public_key"),
        ({"publicKey": "zz" * 32}, 400, "invalid_public_key"),
        ({"publicKey": KEY.hex()[:32] + "\n" + KEY.hex()[32:]}, 400, "invalid_public_key"),  # once read as hex
        ({"publicKey": KEY.hex()[:62] + "\u0661\u0661"}, 400, "invalid_public_key"),
        ({"publicKey": 5}, 422, "invalid_request"),  # a wrong JSON type (once 400)
        ({"publicKey": None}, 422, "invalid_request"),
        ({"publicKey": ["ab"] * 32}, 422, "invalid_request"),
        ({"publicKey": "01" + "00" * 31}, 400, "invalid_public_key"),  # the identity point: small order
        ({"publicKey": "ec" + "ff" * 30 + "7f"}, 400, "invalid_public_key"),  # y = p - 1: small order
        ({"publicKey": "ed" + "ff" * 30 + "7f"}, 400, "invalid_public_key"),  # y = p: not canonical
        ({"keyId": -1}, 422, "invalid_request"),
        ({"keyId": 2**32}, 422, "invalid_request"),
        ({"agentId": "nope"}, 422, "invalid_request"),
        ({"validTo": "yesterday"}, 422, "invalid_request"),
        ({"validFrom": "2030-01-01T00:00:00Z", "validTo": "2020-01-01T00:00:00Z"}, 422, "invalid_request"),
    ],
)
def test_bad_registrations_are_problems(
    owner: Persona, body_override: dict[str, object], status: int, code: str
) -> None:
    import orjson

    body = {"tenantId": str(owner.tenant_id), "agentId": str(uuid.uuid4()), "keyId": 1, "publicKey": "0x" + KEY.hex()}
    body.update(body_override)
    response = owner.client.post("/api/v1/agents/keys", data=orjson.dumps(body), content_type="application/json")
    assert response.status_code == status, response.content
    assert response.json()["code"] == code


@pytest.mark.parametrize("public_key", ["0x" + KEY.hex(), "0X" + KEY.hex(), KEY.hex(), KEY.hex().upper()])
def test_a_public_key_is_hex_with_an_optional_prefix(owner: Persona, public_key: str) -> None:
    agent_id = uuid.uuid4()
    body = {"tenantId": str(owner.tenant_id), "agentId": str(agent_id), "keyId": 1, "publicKey": public_key}

    response = owner.client.post("/api/v1/agents/keys", body, format="json")

    assert response.status_code == 200, response.content
    listed = owner.client.get(f"/api/v1/agents/{agent_id}/keys?tenant_id={owner.tenant_id}").json()
    assert listed["keys"][0]["publicKey"] == KEY.hex()


def test_access_is_checked_before_the_public_key(owner: Persona, outsider: Persona) -> None:
    body = {"tenantId": str(owner.tenant_id), "agentId": str(uuid.uuid4()), "keyId": 1, "publicKey": 5}

    response = outsider.client.post("/api/v1/agents/keys", body, format="json")

    assert (response.status_code, response.json()["code"]) == (403, "tenant_access_denied")


def test_revoking_an_unknown_key_is_not_found(owner: Persona) -> None:
    response = owner.client.delete(f"/api/v1/agents/{uuid.uuid4()}/keys/1?tenant_id={owner.tenant_id}")
    assert response.status_code == 404
    assert response.json()["code"] == "agent_key_not_found"


def test_registering_and_revoking_through_the_api_is_audited(owner: Persona) -> None:
    from audit.models import AuditLogEntry

    agent = uuid.uuid4()
    body = {"tenantId": str(owner.tenant_id), "agentId": str(agent), "keyId": 3, "publicKey": KEY.hex()}
    assert owner.client.post("/api/v1/agents/keys", body, format="json").status_code == 200
    revoke = owner.client.delete(f"/api/v1/agents/{agent}/keys/3?tenant_id={owner.tenant_id}")
    assert revoke.status_code == 200

    actions = list(
        AuditLogEntry.objects.filter(tenant_id=owner.tenant_id, target_type="agent_key")
        .order_by("id")
        .values_list("action", "actor")
    )
    assert [a for a, _ in actions] == ["agent_key.register", "agent_key.revoke"]
    assert all(actor.startswith("api:") and "ss_" not in actor for _, actor in actions)


def test_every_ill_typed_member_is_answered_at_once_in_body_order(owner: Persona) -> None:
    body = {"tenantId": "nope", "keyId": True, "validFrom": 5, "keyAlgorithm": 2**31, "publicKey": None}

    response = owner.client.post("/api/v1/agents/keys", body, format="json")

    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "invalid_request"
    assert problem["detail"] == "Invalid value at tenantId: This field is required and must be a UUID string."
    assert problem["errors"] == {
        "tenantId": ["This field is required and must be a UUID string."],
        "agentId": ["This field is required and must be a UUID string."],
        "keyId": ["This field is required and must be an integer in 0..4294967295."],
        "validFrom": ["Must be an RFC 3339 timestamp."],
        "keyAlgorithm": ["Must be an integer (0 or 1: Ed25519)."],
    }


def test_a_missing_public_key_is_named_with_the_other_members(owner: Persona) -> None:
    body = {"tenantId": str(owner.tenant_id), "agentId": str(uuid.uuid4()), "keyId": 1, "validTo": "later"}

    problem = owner.client.post("/api/v1/agents/keys", body, format="json").json()

    assert problem["errors"] == {
        "validTo": ["Must be an RFC 3339 timestamp."],
        "publicKey": ["This field is required."],
    }
