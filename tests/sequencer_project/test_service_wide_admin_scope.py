"""``/metrics`` and ``/health/detailed`` report on every tenant: only an admin with no store or
agent scope (a tenant admin, the bootstrap admin) reads them (``docs/operations.md``).

Real keys minted by the services (and a JWT), over Django's test client.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
import pytest
from django.test import override_settings

from tests.conftest import Persona, api_client
from tests.tenants.factories import issue_key

pytestmark = pytest.mark.django_db

PATHS = ["/metrics", "/health/detailed"]
JWT_SECRET = "a-test-secret-that-is-long-enough-for-hs256"


def _jwt_client(tenant_id: uuid.UUID, **claims: str) -> Any:
    token = jwt.encode(
        {
            "iss": "stateset-sequencer",
            "aud": "stateset-api",
            "iat": int(time.time()),
            "exp": int(time.time()) + 600,
            "sub": str(tenant_id),
            "perms": "read,write,admin",
            **claims,
        },
        JWT_SECRET,
        algorithm="HS256",
    )
    client = api_client()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    ("scope", "code"),
    [
        ({"store_ids": ["s1"]}, "store_access_denied"),
        ({"store_ids": ["s1", "s2"]}, "store_access_denied"),
        ({"agent_id": "ag"}, "agent_scope_denied"),
        ({"store_ids": ["s1"], "agent_id": "ag"}, "store_access_denied"),
    ],
)
def test_a_scoped_admin_key_is_refused(owner: Persona, path: str, scope: dict[str, Any], code: str) -> None:
    ids = {"s1": uuid.uuid4(), "s2": uuid.uuid4(), "ag": uuid.uuid4()}
    key = issue_key(
        owner.tenant,
        can_write=True,
        can_admin=True,
        store_ids=[ids[s] for s in scope.get("store_ids", ())],
        agent_id=ids[scope["agent_id"]] if "agent_id" in scope else None,
    )

    response = api_client(key).get(path)

    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert (body["status"], body["code"]) == (403, code)
    assert "components" not in body
    assert b"ingest_requests_total" not in response.content


@pytest.mark.parametrize("path", PATHS)
def test_unscoped_admins_and_the_bootstrap_key_read_them(owner: Persona, admin_client: Any, path: str) -> None:
    """A tenant admin with a rate limit or an expiry is still unscoped."""
    limited = api_client(issue_key(owner.tenant, can_admin=True, rate_limit=1000))

    for client in (owner.client, admin_client, limited):
        response = client.get(path)
        assert response.status_code in (200, 503), response.content  # 503: the report of a database down
        assert response["Content-Type"] != "application/problem+json"


@pytest.mark.parametrize("path", PATHS)
def test_callers_without_admin_keep_their_answers(owner: Persona, member: Persona, path: str) -> None:
    """Refusing scoped admins changes nothing for the others: 401 anonymous, 403
    ``permission_denied`` for a key without admin, scoped or not."""
    agent_writer = api_client(issue_key(owner.tenant, can_write=True, agent_id=uuid.uuid4()))

    assert api_client().get(path).status_code == 401
    for client in (member.client, agent_writer, api_client(issue_key(owner.tenant))):
        response = client.get(path)
        assert (response.status_code, response.json()["code"]) == (403, "permission_denied")


@pytest.mark.parametrize("path", PATHS)
def test_a_jwt_is_held_to_the_same_rule(owner: Persona, path: str) -> None:
    with override_settings(JWT_SECRET=JWT_SECRET):
        scoped = _jwt_client(owner.tenant_id, stores=str(uuid.uuid4())).get(path)
        agent = _jwt_client(owner.tenant_id, agent=str(uuid.uuid4())).get(path)
        unscoped = _jwt_client(owner.tenant_id).get(path)

    assert (scoped.status_code, scoped.json()["code"]) == (403, "store_access_denied")
    assert (agent.status_code, agent.json()["code"]) == (403, "agent_scope_denied")
    assert unscoped.status_code in (200, 503)
