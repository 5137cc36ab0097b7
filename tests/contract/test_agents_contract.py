"""The agent routes of the reference router (``src/api/mod.rs``), answered with the shapes,
types and status codes of ``src/api/handlers/agents.rs``, ``agent_keys.rs`` and ``types.rs``.

Routes: ``POST /agents/register``, ``GET /agents/{id}``, ``POST/GET /agents/{id}/api-keys``,
``DELETE /agents/{id}/api-keys/{prefix}``, ``POST /agents/keys``. Every success is 200 (the
reference's clients check for it); errors are problem+json (ours).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import orjson
import pytest
from rest_framework.test import APIClient

from tenants.models import AgentSigningKey
from tests.conftest import Persona, api_client
from tests.contract.wire import (
    array_of,
    assert_members,
    assert_problem,
    boolean,
    equal,
    integer,
    nullable,
    object_with,
    text,
    uuid_text,
)
from tests.tenants.factories import issue_key
from ves.signing import public_key_from_seed

pytestmark = pytest.mark.django_db

PUBLIC_KEY = public_key_from_seed(bytes(range(32)))
HASH_PREFIX = re.compile(r"^[0-9a-f]{16}$")


def hash_prefix(value: Any) -> bool:
    return isinstance(value, str) and HASH_PREFIX.match(value) is not None


def api_key_text(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("ss_")


PERMISSIONS = lambda value: value in {"read", "read_write", "admin"}  # noqa: E731
# AgentRegistrationResponse
REGISTERED = {
    "success": equal(True),
    "agentId": uuid_text,
    "tenantId": uuid_text,
    "apiKey": api_key_text,
    "permissions": PERMISSIONS,
    "message": text,
}
# AgentResponse
AGENT = {
    "agentId": uuid_text,
    "tenantId": uuid_text,
    "active": boolean,
    "permissions": PERMISSIONS,
    "storeIds": array_of(uuid_text),
    "rateLimit": nullable(integer),
}
# ApiKeyResponse
MINTED = {
    "success": equal(True),
    "apiKey": api_key_text,
    "keyHashPrefix": hash_prefix,
    "permissions": PERMISSIONS,
    "message": text,
}
# ApiKeyInfo
KEY_INFO = {"keyHashPrefix": hash_prefix, "active": boolean, "permissions": PERMISSIONS, "rateLimit": nullable(integer)}
# register_agent_key's json!()
KEY_REGISTERED = {
    "success": equal(True),
    "tenantId": uuid_text,
    "agentId": uuid_text,
    "keyId": integer,
    "keyAlgorithm": integer,
    "message": text,
}


@pytest.fixture
def registration(settings: Any) -> str:
    settings.PUBLIC_AGENT_REGISTRATION_ENABLED = True
    settings.RATE_LIMIT_WINDOW_SECONDS = 86_400
    return f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"


def _register_agent(ip: str, body: dict[str, Any]) -> Any:
    return APIClient().post("/api/v1/agents/register", data=body, format="json", REMOTE_ADDR=ip)


def _key_body(tenant_id: uuid.UUID, agent_id: uuid.UUID, key_id: int = 1, **extra: Any) -> bytes:
    body = {"tenantId": str(tenant_id), "agentId": str(agent_id), "keyId": key_id, "publicKey": "0x" + PUBLIC_KEY.hex()}
    return orjson.dumps({**body, **extra})


def _post_key(client: APIClient, body: bytes) -> Any:
    return client.post("/api/v1/agents/keys", data=body, content_type="application/json")


def test_registration_answers_the_agent_registration_response(registration: str) -> None:
    response = _register_agent(registration, {"name": "bot", "readOnly": True, "rateLimit": 60})

    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "no-store"
    assert_members(response.json(), REGISTERED)
    assert response.json()["permissions"] == "read"
    assert _register_agent(registration, {"name": "writer"}).json()["permissions"] == "read_write"


def test_registration_refusals_are_problems(registration: str, settings: Any) -> None:
    assert_problem(
        _register_agent(registration, {"name": "x", "tenantId": str(uuid.uuid4())}), 400, "tenant_id_not_allowed"
    )
    assert_problem(_register_agent(registration, {"name": "x", "admin": True}), 403, "admin_not_allowed")
    settings.PUBLIC_AGENT_REGISTRATION_ENABLED = False
    assert_problem(_register_agent(registration, {"name": "x"}), 403, "registration_disabled")


def test_the_agent_and_its_api_keys_answer_the_reference_shapes(registration: str) -> None:
    registered = _register_agent(registration, {"name": "bot", "rateLimit": 60}).json()
    agent_id = registered["agentId"]
    client = api_client(registered["apiKey"])

    agent = client.get(f"/api/v1/agents/{agent_id}")
    minted = client.post(f"/api/v1/agents/{agent_id}/api-keys", data={"readOnly": True}, format="json")
    listed = client.get(f"/api/v1/agents/{agent_id}/api-keys")

    assert agent.status_code == 200, agent.content
    assert_members(agent.json(), AGENT)
    assert agent.json() == {
        **agent.json(),
        "agentId": agent_id,
        "tenantId": registered["tenantId"],
        "active": True,
        "permissions": "read_write",
        "storeIds": [],
        "rateLimit": 60,
    }
    assert minted.status_code == 200, minted.content  # the reference answers 200, not 201
    assert minted["Cache-Control"] == "no-store"
    assert_members(minted.json(), MINTED)
    assert (minted.json()["permissions"], minted.json()["rateLimit"]) == ("read", 60)
    assert listed.status_code == 200, listed.content
    assert_members(listed.json(), {"keys": array_of(object_with(KEY_INFO)), "count": integer})
    assert listed.json()["count"] == 2
    assert minted.json()["keyHashPrefix"] in {k["keyHashPrefix"] for k in listed.json()["keys"]}


def test_revoking_an_api_key_answers_success_and_message(registration: str) -> None:
    registered = _register_agent(registration, {"name": "bot"}).json()
    agent_id = registered["agentId"]
    client = api_client(registered["apiKey"])
    minted = client.post(f"/api/v1/agents/{agent_id}/api-keys", data={}, format="json").json()

    revoked = client.delete(f"/api/v1/agents/{agent_id}/api-keys/{minted['keyHashPrefix']}")

    assert revoked.status_code == 200, revoked.content
    assert_members(revoked.json(), {"success": equal(True), "message": text})
    assert api_client(minted["apiKey"]).get(f"/api/v1/agents/{agent_id}").status_code == 401
    gone = client.delete(f"/api/v1/agents/{agent_id}/api-keys/{'0' * 16}")
    assert_problem(gone, 404, "api_key_not_found")


def test_another_agent_is_refused(registration: str) -> None:
    mine = _register_agent(registration, {"name": "a"}).json()
    theirs = _register_agent(registration, {"name": "b"}).json()
    client = api_client(mine["apiKey"])

    assert_problem(client.get(f"/api/v1/agents/{theirs['agentId']}"), 403, "agent_scope_denied")
    minted = client.post(f"/api/v1/agents/{theirs['agentId']}/api-keys", data={}, format="json")
    assert_problem(minted, 403, "agent_scope_denied")
    assert_problem(client.get(f"/api/v1/agents/{theirs['agentId']}/api-keys"), 403, "agent_scope_denied")


@pytest.mark.parametrize(("sent", "echoed"), [({}, 0), ({"keyAlgorithm": 0}, 0), ({"keyAlgorithm": 1}, 1)])
def test_agent_key_registration_echoes_key_algorithm(owner: Persona, sent: dict[str, Any], echoed: int) -> None:
    agent_id = uuid.uuid4()

    response = _post_key(owner.client, _key_body(owner.tenant_id, agent_id, validFrom="2025-01-01T00:00:00Z", **sent))

    assert response.status_code == 200, response.content
    assert_members(response.json(), KEY_REGISTERED, exact=True)
    assert response.json() == {
        "success": True,
        "tenantId": str(owner.tenant_id),
        "agentId": str(agent_id),
        "keyId": 1,
        "keyAlgorithm": echoed,
        "message": "Agent key registered successfully",
    }
    stored = AgentSigningKey.objects.get(tenant_id=owner.tenant_id, agent_id=agent_id, key_id=1)
    assert (bytes(stored.public_key), stored.key_algorithm) == (PUBLIC_KEY, 1)


BUNDLE = {"ed25519PublicKey": PUBLIC_KEY.hex(), "mlDsa65PublicKey": "ab" * 1952}
POP = {"ed25519Pop": "cd" * 64, "mlDsa65Pop": "ef" * 3309}


@pytest.mark.parametrize(
    "extra",
    [
        {"keyAlgorithm": 2},  # X25519
        {"keyAlgorithm": 3},  # ML-DSA-65
        {"keyAlgorithm": 4},  # ML-KEM-768
        {"keyAlgorithm": 5, "publicKeyBundle": BUNDLE, "proofOfPossessionBundle": POP},  # hybrid
        {"keyAlgorithm": 6},  # X25519 + ML-KEM-768
        {"keyAlgorithm": 99},
        {"keyAlgorithm": -1},
        {"publicKeyBundle": BUNDLE},
        {"keyAlgorithm": 1, "proofOfPossessionBundle": {"ed25519Pop": "cd" * 64}},
    ],
)
def test_unsupported_key_algorithms_are_refused_and_not_stored(owner: Persona, extra: dict[str, Any]) -> None:
    agent_id = uuid.uuid4()

    response = _post_key(owner.client, _key_body(owner.tenant_id, agent_id, **extra))

    body = assert_problem(response, 400, "unsupported_key_algorithm")
    assert "not supported" in body["detail"]
    assert not AgentSigningKey.objects.filter(tenant_id=owner.tenant_id, agent_id=agent_id).exists()


@pytest.mark.parametrize("value", ["ed25519", 1.0, True, 2**31])
def test_a_key_algorithm_that_is_not_an_i32_is_an_invalid_request(owner: Persona, value: Any) -> None:
    response = _post_key(owner.client, _key_body(owner.tenant_id, uuid.uuid4(), keyAlgorithm=value))

    assert_problem(response, 422, "invalid_request")


def test_agent_key_registration_needs_the_tenant_admin(owner: Persona, outsider: Persona) -> None:
    writer = api_client(issue_key(owner.tenant, can_write=True))

    assert_problem(_post_key(writer, _key_body(owner.tenant_id, uuid.uuid4())), 403, "permission_denied")
    assert_problem(_post_key(outsider.client, _key_body(owner.tenant_id, uuid.uuid4())), 403, "tenant_access_denied")
    # the reference answers 500 to a duplicate; its demo script expects 409
    agent_id = uuid.uuid4()
    assert _post_key(owner.client, _key_body(owner.tenant_id, agent_id)).status_code == 200
    assert_problem(_post_key(owner.client, _key_body(owner.tenant_id, agent_id)), 409, "agent_key_exists")
