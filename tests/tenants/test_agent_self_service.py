"""Agent self-service: public registration, an agent's own API keys, immediate revocation."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import redis
from django.conf import settings as django_settings
from rest_framework.test import APIClient

from sequencer_project import resilience
from sequencer_project.redis_client import reset_redis_client
from tenants.credentials import api_key_hash
from tenants.key_cache import api_key_cache
from tenants.limits import API_KEY_NAME_MAX, DESCRIPTION_MAX, NAME_MAX
from tenants.models import ApiKey
from tenants.selectors import api_key_principal_get
from tests.conftest import Persona, api_client
from tests.sequencer_project.ops_helpers import closed_port
from tests.tenants.factories import issue_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def registration(settings: Any) -> str:
    """Registration on, with a per-test client IP so limits never collide between tests."""
    settings.PUBLIC_AGENT_REGISTRATION_ENABLED = True
    settings.RATE_LIMIT_WINDOW_SECONDS = 86_400
    return f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"


def register(ip: str, body: Any, **extra: Any) -> Any:
    return APIClient().post("/api/v1/agents/register", data=body, format="json", REMOTE_ADDR=ip, **extra)


def test_registration_is_off_by_default() -> None:
    response = register("10.0.0.1", {"name": "a"})

    assert response.status_code == 403
    assert response.json()["code"] == "registration_disabled"


def test_registration_creates_a_tenant_an_agent_and_a_working_key(registration: str) -> None:
    response = register(registration, {"name": "bot", "description": "d", "readOnly": False, "rateLimit": 50})

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert response["RateLimit-Limit"] == "30"
    body = response.json()
    assert body["success"] is True
    assert body["permissions"] == "read_write"
    stored = ApiKey.objects.get(key_hash=api_key_hash(body["apiKey"]))
    assert (str(stored.tenant_id), str(stored.agent_id)) == (body["tenantId"], body["agentId"])
    assert (stored.can_admin, stored.can_write, stored.rate_limit) == (False, True, 50)
    me = api_client(body["apiKey"]).get(f"/api/v1/agents/{body['agentId']}")
    assert me.status_code == 200
    assert me.json()["tenantId"] == body["tenantId"]


def test_read_only_registration_mints_a_read_key(registration: str) -> None:
    body = register(registration, {"name": "reader", "readOnly": True}).json()

    assert body["permissions"] == "read"


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"name": "x", "tenantId": str(uuid.uuid4())}, 400, "tenant_id_not_allowed"),
        ({"name": "x", "admin": True}, 403, "admin_not_allowed"),
        ({}, 422, "invalid_request"),
        ({"name": "x" * 129}, 400, "invalid_field_value"),
        ({"name": "x", "description": "d" * 1025}, 400, "invalid_field_value"),
        ({"name": "x", "rateLimit": 0}, 400, "invalid_field_value"),
        ({"name": "x", "rateLimit": 10_001}, 400, "invalid_field_value"),
        ({"name": "x", "storeIds": ["nope"]}, 422, "invalid_request"),
        # Over the handler's limit: 400, as every list limit (once 422 here).
        ({"name": "x", "storeIds": [str(uuid.uuid4()) for _ in range(51)]}, 400, "invalid_field_value"),
        # Arabic-Indic digits: uuid.UUID reads them, but a UUID is ASCII (once accepted).
        ({"name": "x", "storeIds": ["\u0661" * 32]}, 422, "invalid_request"),
        ({"name": "x", "storeIds": "nope"}, 422, "invalid_request"),
        ({"name": " \t "}, 400, "invalid_field_value"),
        ({"name": None}, 422, "invalid_request"),
        ({"name": "x", "description": 5}, 422, "invalid_request"),
        ({"name": "x", "rateLimit": -1}, 400, "invalid_field_value"),
        ({"name": "x", "rateLimit": 1.5}, 422, "invalid_request"),
        ({"name": "x", "rateLimit": True}, 422, "invalid_request"),
        ({"name": "x", "readOnly": "yes"}, 422, "invalid_request"),
        (["name"], 422, "invalid_request"),
        # NUL cannot be stored in PostgreSQL text: found by schemathesis as a 500.
        ({"name": "a\x00b"}, 400, "invalid_field"),
        ({"name": "x", "description": "\x00"}, 400, "invalid_field"),
    ],
)
def test_bad_registrations_are_refused_and_create_nothing(
    registration: str, payload: Any, status: int, code: str
) -> None:
    before = ApiKey.objects.count()

    response = register(registration, payload)

    assert (response.status_code, response.json()["code"]) == (status, code)
    assert ApiKey.objects.count() == before


def test_registration_is_limited_per_client_ip(registration: str, settings: Any) -> None:
    settings.AGENT_REGISTRATION_RATE_LIMIT = 2
    statuses = [register(registration, {"name": f"a{i}"}).status_code for i in range(3)]
    other_ip = register(registration + "1", {"name": "b"})

    assert statuses == [200, 200, 429]
    refused = register(registration, {"name": "c"})
    assert refused.json()["code"] == "rate_limited"
    assert int(refused["Retry-After"]) >= 1
    assert other_ip.status_code == 200


def test_the_client_ip_comes_from_x_forwarded_for_only_behind_trusted_proxies(registration: str, settings: Any) -> None:
    settings.AGENT_REGISTRATION_RATE_LIMIT = 1
    settings.TRUSTED_PROXY_COUNT = 1

    first = register("127.0.0.1", {"name": "a"}, HTTP_X_FORWARDED_FOR=f"6.6.6.6, {registration}")
    spoofed = register("127.0.0.1", {"name": "b"}, HTTP_X_FORWARDED_FOR=f"7.7.7.7, {registration}")

    assert (first.status_code, spoofed.status_code) == (200, 429)


@pytest.fixture
def agent(owner: Persona) -> tuple[uuid.UUID, str]:
    agent_id = uuid.uuid4()
    return agent_id, issue_key(owner.tenant, can_write=True, agent_id=agent_id)


def test_an_agent_mints_lists_and_revokes_its_own_keys(
    agent: tuple[uuid.UUID, str], django_capture_on_commit_callbacks: Any
) -> None:
    agent_id, key = agent
    client = api_client(key)

    minted = client.post(f"/api/v1/agents/{agent_id}/api-keys", data={"readOnly": True}, format="json")
    assert minted.status_code == 200
    assert minted["Cache-Control"] == "no-store"
    new_key, prefix = minted.json()["apiKey"], minted.json()["keyHashPrefix"]
    assert minted.json()["permissions"] == "read"
    listed = client.get(f"/api/v1/agents/{agent_id}/api-keys").json()
    assert listed["count"] == 2
    assert {k["keyHashPrefix"] for k in listed["keys"]} >= {prefix}
    assert "apiKey" not in str(listed)
    assert api_client(new_key).get(f"/api/v1/agents/{agent_id}").status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        revoked = client.delete(f"/api/v1/agents/{agent_id}/api-keys/{prefix}")

    assert revoked.status_code == 200
    assert api_client(new_key).get(f"/api/v1/agents/{agent_id}").status_code == 401
    assert client.get(f"/api/v1/agents/{agent_id}").status_code == 200


@pytest.mark.parametrize(
    ("body", "scope"),
    [
        ({"admin": True}, {}),
        ({"readOnly": False}, {"can_write": False}),
        ({"storeIds": [str(uuid.uuid4())]}, {"store_ids": [uuid.UUID(int=1)]}),
        ({"storeIds": []}, {"store_ids": [uuid.UUID(int=1)]}),
        ({"rateLimit": 11}, {"rate_limit": 10}),
    ],
)
def test_an_agent_can_never_widen_its_permissions(owner: Persona, body: dict[str, Any], scope: dict[str, Any]) -> None:
    agent_id = uuid.uuid4()
    key = issue_key(
        owner.tenant, can_write=scope.get("can_write", True), agent_id=agent_id, store_ids=scope.get("store_ids", ())
    )
    if "rate_limit" in scope:
        ApiKey.objects.filter(key_hash=api_key_hash(key)).update(rate_limit=scope["rate_limit"])
    before = ApiKey.objects.count()

    response = api_client(key).post(f"/api/v1/agents/{agent_id}/api-keys", data=body, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "permission_widening_denied"
    assert ApiKey.objects.count() == before


def test_a_minted_key_inherits_the_callers_stores_and_rate_limit(owner: Persona) -> None:
    agent_id, store = uuid.uuid4(), uuid.uuid4()
    key = issue_key(owner.tenant, can_write=True, agent_id=agent_id, store_ids=[store])
    ApiKey.objects.filter(key_hash=api_key_hash(key)).update(rate_limit=10)

    minted = api_client(key).post(f"/api/v1/agents/{agent_id}/api-keys", data={}, format="json").json()

    stored = ApiKey.objects.get(key_hash=api_key_hash(minted["apiKey"]))
    assert (stored.store_ids, stored.rate_limit, stored.can_admin) == ([store], 10, False)


def test_other_agents_and_other_tenants_cannot_touch_an_agent(
    owner: Persona, outsider: Persona, agent: tuple[uuid.UUID, str]
) -> None:
    agent_id, _ = agent
    other_agent = issue_key(owner.tenant, can_write=True, agent_id=uuid.uuid4())
    outsider_admin = issue_key(outsider.tenant, can_admin=True)

    assert api_client(other_agent).get(f"/api/v1/agents/{agent_id}").json()["code"] == "agent_scope_denied"
    assert api_client(outsider_admin).get(f"/api/v1/agents/{agent_id}/api-keys").json()["count"] == 0
    assert api_client(outsider_admin).get(f"/api/v1/agents/{agent_id}").status_code == 404


def test_tenant_admin_and_bootstrap_admin_manage_an_agents_keys(
    owner: Persona, admin_client: APIClient, agent: tuple[uuid.UUID, str]
) -> None:
    agent_id, _ = agent

    by_owner = owner.client.post(f"/api/v1/agents/{agent_id}/api-keys", data={"admin": True}, format="json")
    by_bootstrap = admin_client.get(f"/api/v1/agents/{agent_id}")

    assert by_owner.json()["permissions"] == "admin"
    assert by_bootstrap.json()["tenantId"] == str(owner.tenant_id)
    assert by_bootstrap.json()["apiKeyCount"] == 2


def test_revocation_needs_a_prefix_of_one_key(owner: Persona, agent: tuple[uuid.UUID, str]) -> None:
    agent_id, key = agent
    client = api_client(key)

    assert client.delete(f"/api/v1/agents/{agent_id}/api-keys/zzzzzzzz").json()["code"] == "invalid_parameter"
    assert client.delete(f"/api/v1/agents/{agent_id}/api-keys/{'a' * 65}").json()["code"] == "invalid_parameter"
    missing = "0" * 16 if not api_key_hash(key).startswith("0" * 16) else "f" * 16
    assert client.delete(f"/api/v1/agents/{agent_id}/api-keys/{missing}").json()["code"] == "api_key_not_found"


def test_any_prefix_of_one_keys_hash_revokes_it_as_the_reference_does(
    owner: Persona, agent: tuple[uuid.UUID, str]
) -> None:
    agent_id, key = agent  # the agent's one key: any prefix of its hash names it alone
    client = api_client(issue_key(owner.tenant, can_admin=True))

    revoked = client.delete(f"/api/v1/agents/{agent_id}/api-keys/{api_key_hash(key)[:1].upper()}")

    assert (revoked.status_code, revoked.json()["keyHashPrefix"]) == (200, api_key_hash(key)[:16])
    assert api_client(key).get(f"/api/v1/agents/{agent_id}").status_code == 401


def _key_with_hash(owner: Persona, agent_id: uuid.UUID, key_hash: str) -> ApiKey:
    return ApiKey.objects.create(key_hash=key_hash, tenant=owner.tenant, display_prefix="ss_fixed", agent_id=agent_id)


def test_a_prefix_naming_several_keys_of_the_agent_revokes_none(owner: Persona, agent: tuple[uuid.UUID, str]) -> None:
    agent_id, _ = agent
    shared = "abcdef12"
    first, second = (_key_with_hash(owner, agent_id, shared + tail * 56) for tail in "01")
    _key_with_hash(owner, uuid.uuid4(), shared + "2" * 56)  # another agent's key never counts

    ambiguous = owner.client.delete(f"/api/v1/agents/{agent_id}/api-keys/{shared.upper()}")
    precise = owner.client.delete(f"/api/v1/agents/{agent_id}/api-keys/{shared}1")

    assert (ambiguous.status_code, ambiguous.json()["code"]) == (409, "key_prefix_ambiguous")
    assert precise.status_code == 200
    assert precise.json()["keyHashPrefix"] == second.key_hash[:16]
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.active, second.active) == (True, False)


def test_the_bootstrap_admin_acts_in_the_agents_tenant(
    owner: Persona, admin_client: APIClient, agent: tuple[uuid.UUID, str]
) -> None:
    agent_id, key = agent

    minted = admin_client.post(f"/api/v1/agents/{agent_id}/api-keys", data={"readOnly": True}, format="json")
    revoked = admin_client.delete(f"/api/v1/agents/{agent_id}/api-keys/{api_key_hash(key)[:16]}")
    unknown = admin_client.post(f"/api/v1/agents/{uuid.uuid4()}/api-keys", data={}, format="json")

    assert minted.status_code == 200
    assert ApiKey.objects.get(key_hash=api_key_hash(minted.json()["apiKey"])).tenant_id == owner.tenant_id
    assert revoked.status_code == 200
    assert not ApiKey.objects.get(key_hash=api_key_hash(key)).active
    assert (unknown.status_code, unknown.json()["code"]) == (404, "agent_not_found")


def test_a_tenant_admin_mints_an_agents_first_key(owner: Persona) -> None:
    agent_id = uuid.uuid4()

    minted = owner.client.post(f"/api/v1/agents/{agent_id}/api-keys", data={"name": "first"}, format="json")
    detail = owner.client.get(f"/api/v1/agents/{agent_id}")

    assert minted.status_code == 200
    assert detail.json()["tenantId"] == str(owner.tenant_id)
    assert detail.json()["apiKeyCount"] == 1


def test_a_revocation_invalidates_other_processes_caches_through_redis(owner: Persona, settings: Any) -> None:
    """The cache of a process that did not revoke is dropped by the generation bump alone."""
    settings.HOT_CACHE_CHECK_SECONDS = 0  # read the generation on every lookup (0.25 s in service)
    key_hash = api_key_hash(owner.key)
    assert api_key_principal_get(key_hash=key_hash) is not None  # cached in "this other process"
    ApiKey.objects.filter(key_hash=key_hash).update(active=False, revoked_at="2026-01-01T00:00:00Z")
    assert api_key_principal_get(key_hash=key_hash) is not None  # still served from cache

    redis.Redis.from_url(django_settings.REDIS_URL).incr(api_key_cache.version_key)  # what a revoker does

    assert api_key_principal_get(key_hash=key_hash) is None


def test_authentication_keeps_working_when_redis_is_down(owner: Persona, settings: Any) -> None:
    original = settings.REDIS_URL
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"
    reset_redis_client()
    resilience._registry.pop("redis", None)
    try:
        statuses = [
            owner.client.get(f"/api/v1/head?tenant_id={owner.tenant_id}&store_id={owner.store_id}").status_code
            for _ in range(5)
        ]
    finally:
        settings.REDIS_URL = original
        reset_redis_client()
        resilience._registry.pop("redis", None)

    assert statuses == [200] * 5


def test_a_revocation_bumps_the_generation_in_redis_after_it_commits(
    owner: Persona, django_capture_on_commit_callbacks: Any
) -> None:
    client = redis.Redis.from_url(django_settings.REDIS_URL)
    before = int(client.get(api_key_cache.version_key) or 0)
    agent = uuid.uuid4()
    minted = owner.client.post(f"/api/v1/agents/{agent}/api-keys", data={}, format="json").json()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        revoked = owner.client.delete(f"/api/v1/agents/{agent}/api-keys/{minted['keyHashPrefix']}")
    assert revoked.status_code == 200
    assert int(client.get(api_key_cache.version_key) or 0) == before  # not before the commit

    for callback in callbacks:
        callback()

    assert int(client.get(api_key_cache.version_key) or 0) == before + 1


def test_a_registration_labels_its_key_with_the_whole_name_and_description(registration: str) -> None:
    name, description = "n" * NAME_MAX, "d" * DESCRIPTION_MAX

    response = register(registration, {"name": name, "description": description})

    assert response.status_code == 200
    stored = ApiKey.objects.get(key_hash=api_key_hash(response.json()["apiKey"]))
    assert stored.name == f"{name}: {description}"  # once cut to its first 200 characters


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"name": "n" * (API_KEY_NAME_MAX + 1)}, 400, "invalid_field_value"),  # once cut to 200
        ({"name": 5}, 422, "invalid_request"),  # once stored as "5"
        ({"name": {"a": 1}}, 422, "invalid_request"),  # once stored as "{'a': 1}"
        ({"name": "a\x00b"}, 400, "invalid_field"),
    ],
)
def test_a_minted_keys_name_is_checked_not_changed(
    agent: tuple[uuid.UUID, str], body: dict[str, Any], status: int, code: str
) -> None:
    agent_id, key = agent
    before = ApiKey.objects.count()

    response = api_client(key).post(f"/api/v1/agents/{agent_id}/api-keys", data=body, format="json")

    assert response.status_code == status
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["code"] == code
    assert response.json()["status"] == status
    assert ApiKey.objects.count() == before


@pytest.mark.parametrize(
    ("name", "stored"), [("n" * API_KEY_NAME_MAX, "n" * API_KEY_NAME_MAX), (None, "agent {agent}")]
)
def test_a_minted_key_keeps_the_name_it_was_given(agent: tuple[uuid.UUID, str], name: str | None, stored: str) -> None:
    agent_id, key = agent
    body = {} if name is None else {"name": name}

    response = api_client(key).post(f"/api/v1/agents/{agent_id}/api-keys", data=body, format="json")

    assert response.status_code == 200
    assert ApiKey.objects.get(key_hash=api_key_hash(response.json()["apiKey"])).name == stored.format(agent=agent_id)
