"""Three principals times every routed operation: nothing crosses a tenant or a store scope.

For each (URL name, method) the resolver can dispatch (``tests/reliability/matrix.py``): the
member (same tenant, other store) and the outsider (another tenant's admin) get exactly the
refusal the API's conventions prescribe, their refusals change no row of the owner's tenant
and show none of its data, and then the owner gets the operation done. A route without a
matrix entry fails ``test_every_routed_operation_has_a_matrix_entry``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from sequencer_project.resilience import get_breaker
from tenants.credentials import api_key_hash
from tenants.models import ApiKey
from tenants.services import api_key_revoke
from tests.conftest import api_client
from tests.reliability.matrix import ALLOWED, MATRIX, Entry, Outcome, routed_operations
from tests.reliability.world import CHAIN_SETTINGS, MARKER, World, build_world, tenant_fingerprint

pytestmark = pytest.mark.django_db

OPERATIONS = sorted(MATRIX)


@pytest.fixture
def world() -> Iterator[World]:
    breaker = get_breaker("anchor", failure_threshold=5, reset_timeout=60.0)
    breaker.reset()
    with override_settings(**CHAIN_SETTINGS):
        yield build_world()
    breaker.reset()


def call(client: APIClient, entry: Entry, world: World) -> Any:
    path = world.fill(entry.path)
    if entry.body is None:
        return getattr(client, entry.method.lower())(path)
    data = orjson.dumps(entry.body(world))
    return getattr(client, entry.method.lower())(path, data=data, content_type="application/json")


def assert_outcome(response: Any, expected: Outcome, who: str) -> None:
    status, code = expected
    if expected == ALLOWED:
        assert 200 <= response.status_code < 300, (who, response.status_code, response.content[:300])
        return
    assert response.status_code == status, (who, response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/problem+json"), (who, response["Content-Type"])
    assert response.json()["code"] == code, (who, response.json())


def assert_no_leak(response: Any, world: World, entry: Entry, *, tenant_visible: bool) -> None:
    """The answer names neither the owner's store nor its data (nor its tenant, for outsiders).

    Ids the caller sent in the path are its own input, which a 404 may echo.
    """
    text = response.content.decode(errors="replace")
    secrets = [world.ids["store"], MARKER, world.ids["event"], world.ids["ves_event"]]
    if not tenant_visible:
        secrets.append(world.ids["tenant"])
    sent = world.fill(entry.path)
    for secret in (s for s in secrets if s not in sent):
        assert secret not in text, (secret, text[:300])


def test_every_routed_operation_has_a_matrix_entry() -> None:
    routed = routed_operations()

    assert routed - set(MATRIX) == set(), "new endpoint(s) without an isolation matrix entry"
    assert set(MATRIX) - routed == set(), "matrix entries for routes that no longer exist"


@pytest.mark.parametrize("operation", OPERATIONS, ids=[f"{m} {n}" for n, m in OPERATIONS])
def test_no_principal_crosses_its_tenant_or_store(world: World, operation: tuple[str, str]) -> None:
    entry = MATRIX[operation]
    before = tenant_fingerprint(world.owner.tenant_id)

    as_member = call(world.member.client, entry, world)
    as_outsider = call(world.outsider.client, entry, world)

    assert_outcome(as_member, entry.member, "member")
    assert_outcome(as_outsider, entry.outsider, "outsider")
    if entry.member != ALLOWED or entry.outsider != ALLOWED or entry.public:
        assert tenant_fingerprint(world.owner.tenant_id) == before, "a refused call changed the owner's tenant"
    if entry.member != ALLOWED:
        assert_no_leak(as_member, world, entry, tenant_visible=True)
    assert_no_leak(as_outsider, world, entry, tenant_visible=False)

    as_owner = call(world.owner.client, entry, world)
    assert as_owner.status_code == entry.owner, (as_owner.status_code, as_owner.content[:300])


@pytest.mark.parametrize("operation", OPERATIONS, ids=[f"{m} {n}" for n, m in OPERATIONS])
def test_anonymous_callers_get_a_401_everywhere_but_the_public_routes(world: World, operation: tuple[str, str]) -> None:
    entry = MATRIX[operation]
    before = tenant_fingerprint(world.owner.tenant_id)

    response = call(api_client(), entry, world)

    if entry.public:
        assert response.status_code < 500
        assert_no_leak(response, world, entry, tenant_visible=False)
    else:
        assert_outcome(response, (401, "missing_auth"), "anonymous")
    assert tenant_fingerprint(world.owner.tenant_id) == before


def test_a_revoked_key_is_refused_on_every_endpoint_at_its_next_request(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    member = world.member
    assert member.client.get("/api/v1/schemas?tenant_id=" + world.ids["tenant"]).status_code == 200  # cached now

    with django_capture_on_commit_callbacks(execute=True):
        api_key_revoke(api_key=ApiKey.objects.get(key_hash=api_key_hash(member.key)), actor="test")

    before = tenant_fingerprint(world.owner.tenant_id)
    refused = 0
    for operation in OPERATIONS:
        entry = MATRIX[operation]
        if entry.public:
            continue
        assert_outcome(call(member.client, entry, world), (401, "invalid_api_key"), f"revoked {operation}")
        refused += 1
    assert refused == sum(1 for e in MATRIX.values() if not e.public)
    assert tenant_fingerprint(world.owner.tenant_id) == before


def test_an_agent_revoked_through_the_api_is_refused_at_once(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    from tests.tenants.factories import issue_key

    agent_key = issue_key(world.owner.tenant, can_write=True, agent_id=world.agent.agent_id)
    agent = api_client(agent_key)
    head = "/api/v1/head" + world.fill("?tenant_id={tenant}&store_id={store}")
    assert agent.get(head).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        revoked = world.owner.client.delete(
            f"/api/v1/agents/{world.agent.agent_id}/api-keys/{api_key_hash(agent_key)[:16]}"
        )

    assert revoked.status_code == 200, revoked.content
    assert_outcome(agent.get(head), (401, "invalid_api_key"), "revoked agent")
