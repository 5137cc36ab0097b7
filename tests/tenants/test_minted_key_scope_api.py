"""A key minted through ``POST /api/v1/agents/{id}/api-keys`` can do no more than its caller.

Real PostgreSQL and Redis, over DRF's test client. The property builds a fresh tenant per
example, a caller of any kind and scope, and a request of any shape; then either the request is
refused (problem+json, no key row) or the stored key is within the caller and as asked
(``key_scope_model``), and the minted key is *used*: whatever it is allowed to do, the caller
is allowed too, and it stops working when the caller does. Deterministic tests below pin the
three reported cases (ADR 0015) and expiry.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from unittest import mock

import jwt
import orjson
import pytest
from django.conf import settings as django_settings
from django.test import override_settings
from django.utils import timezone
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from sequencer_project.api import authentication
from sequencer_project.api.principal import Principal
from tenants.credentials import api_key_hash
from tenants.key_scope import RequestedScope
from tenants.models import ApiKey, Tenant
from tests.conftest import Persona, api_client, legacy_event
from tests.events.helpers import head_of
from tests.tenants.factories import issue_key, make_tenant
from tests.tenants.key_scope_model import as_principal, not_as_asked, refusals, wider_than

pytestmark = pytest.mark.django_db

JWT_SECRET = "a-test-secret-that-is-long-enough-for-hs256"
PERMISSION_SETS = [("read",), ("read", "write"), ("read", "write", "admin"), ("write",), ("admin",)]
CALLER_RATES = {"none": None, "low": 50, "high": 500}
ASKED_RATES = {"lower": 40, "higher": 600}
CALLER_EXPIRY = {"soon": timedelta(minutes=10), "later": timedelta(hours=2)}
ASKED_EXPIRY = {"past": -timedelta(minutes=1), "earlier": timedelta(minutes=5), "later": timedelta(hours=3)}


@dataclass(frozen=True)
class CallerSpec:
    kind: str  # api_key, jwt or bootstrap
    permissions: tuple[str, ...]
    stores: int  # how many of the tenant's first two stores it is scoped to (0: all)
    agent: str  # none, target (the agent it mints for) or other
    rate: str
    expiry: str | None


@dataclass(frozen=True)
class AskSpec:
    read_only: bool | None
    admin: bool | None
    stores: str | None  # subset, superset, disjoint, all (an empty list)
    rate: str | None
    expiry: str | None


@dataclass(frozen=True)
class World:
    tenant: Tenant
    target: uuid.UUID  # the agent the key is minted for
    other_agent: uuid.UUID
    stores: tuple[uuid.UUID, uuid.UUID, uuid.UUID]  # the third is outside every caller's scope
    now: datetime

    @classmethod
    def build(cls) -> World:
        tenant = make_tenant()
        target, other = uuid.uuid4(), uuid.uuid4()
        for agent in (target, other):
            issue_key(tenant, agent_id=agent)  # both agents exist in the tenant
        return cls(tenant, target, other, (uuid.uuid4(), uuid.uuid4(), uuid.uuid4()), timezone.now())


def _caller(world: World, spec: CallerSpec) -> tuple[APIClient, Principal]:
    if spec.kind == "bootstrap":
        return api_client(django_settings.BOOTSTRAP_ADMIN_API_KEY), authentication.principal_for_api_key(
            django_settings.BOOTSTRAP_ADMIN_API_KEY
        )
    stores = frozenset(world.stores[: spec.stores])
    agent = {"none": None, "target": world.target, "other": world.other_agent}[spec.agent]
    if spec.kind == "jwt":
        exp = int((world.now + CALLER_EXPIRY[spec.expiry or "later"]).timestamp())
        claims = {
            "iss": "stateset-sequencer",
            "aud": "stateset-api",
            "iat": int(time.time()),
            "exp": exp,
            "sub": str(world.tenant.id),
            "perms": ",".join(spec.permissions),
            "stores": ",".join(map(str, stores)),
            "agent": str(agent) if agent else "",
        }
        token = jwt.encode(claims, JWT_SECRET, algorithm="HS256")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return client, authentication.principal_for_jwt(token)
    key = issue_key(
        world.tenant,
        can_read="read" in spec.permissions,
        can_write="write" in spec.permissions,
        can_admin="admin" in spec.permissions,
        store_ids=stores,
        agent_id=agent,
        rate_limit=CALLER_RATES[spec.rate],
        expires_at=world.now + CALLER_EXPIRY[spec.expiry] if spec.expiry else None,
    )
    return api_client(key), authentication.principal_for_api_key(key)


def _ask(world: World, spec: AskSpec) -> tuple[dict[str, Any], RequestedScope]:
    first, second, outside = world.stores
    stores = {"subset": [first], "superset": [first, second, outside], "disjoint": [outside], "all": []}
    requested = RequestedScope(
        agent_id=world.target,
        read_only=spec.read_only,
        admin=spec.admin,
        store_ids=None if spec.stores is None else frozenset(stores[spec.stores]),
        rate_limit=None if spec.rate is None else ASKED_RATES[spec.rate],
        expires_at=None if spec.expiry is None else world.now + ASKED_EXPIRY[spec.expiry],
    )
    body: dict[str, Any] = {"readOnly": spec.read_only, "admin": spec.admin, "rateLimit": requested.rate_limit}
    if spec.stores is not None:
        body["storeIds"] = [str(store) for store in stores[spec.stores]]
    if requested.expires_at is not None:
        body["expiresAt"] = requested.expires_at.isoformat()
    return {name: value for name, value in body.items() if value is not None}, requested


def _ingest(client: APIClient, tenant_id: uuid.UUID, store_id: uuid.UUID, **body: Any) -> Any:
    data = orjson.dumps({"events": [legacy_event(tenant_id, store_id)], **body})
    return client.post("/api/v1/events/ingest", data=data, content_type="application/json")


Probe = Callable[[APIClient], Any]


def _probes(world: World) -> dict[str, Probe]:
    """What a key might try: each either works for the minted key only if it works for the caller."""
    tenant, (first, _, outside) = world.tenant.id, world.stores
    return {
        "read one of the caller's stores": lambda c: c.get(f"/api/v1/head?tenant_id={tenant}&store_id={first}"),
        "read a store outside the caller's": lambda c: c.get(f"/api/v1/head?tenant_id={tenant}&store_id={outside}"),
        "read another tenant": lambda c: c.get(f"/api/v1/head?tenant_id={uuid.uuid4()}&store_id={first}"),
        "write one of the caller's stores": lambda c: _ingest(c, tenant, first),
        "write a store outside the caller's": lambda c: _ingest(c, tenant, outside),
        "ingest as another agent": lambda c: _ingest(c, tenant, first, agent_id=str(world.other_agent)),
        "change a tenant-wide setting": lambda c: c.put(
            "/api/v1/schemas/validation-mode",
            data=orjson.dumps({"tenantId": str(tenant), "mode": None}),  # clears a (never set) override
            content_type="application/json",
        ),
        "list another agent's keys": lambda c: c.get(f"/api/v1/agents/{world.other_agent}/api-keys"),
    }


def _problem(response: Any, statuses: set[int]) -> str:
    assert response.status_code in statuses, response.content
    assert response["Content-Type"] == "application/problem+json"
    code = response.json()["code"]
    assert isinstance(code, str)
    return code


callers = st.builds(
    CallerSpec,
    kind=st.sampled_from(["api_key", "jwt", "bootstrap"]),
    permissions=st.sampled_from(PERMISSION_SETS),
    stores=st.sampled_from([0, 1, 2]),
    agent=st.sampled_from(["none", "target", "other"]),
    rate=st.sampled_from(list(CALLER_RATES)),
    expiry=st.sampled_from([None, *CALLER_EXPIRY]),
)
asks = st.builds(
    AskSpec,
    read_only=st.sampled_from([None, True, False]),
    admin=st.sampled_from([None, True, False]),
    stores=st.sampled_from([None, "subset", "superset", "disjoint", "all"]),
    rate=st.sampled_from([None, *ASKED_RATES]),
    expiry=st.sampled_from([None, *ASKED_EXPIRY]),
)
STORE_ADMIN = CallerSpec("api_key", ("read", "write", "admin"), 1, "none", "none", None)
OTHER_AGENTS_ADMIN = CallerSpec("api_key", ("read", "write", "admin"), 0, "other", "none", None)
RATE_LIMITED_ADMIN = CallerSpec("api_key", ("read", "write", "admin"), 0, "none", "low", None)
ADMIN_KEY = AskSpec(None, True, None, None, None)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(callers, asks)
@example(STORE_ADMIN, ADMIN_KEY)
@example(OTHER_AGENTS_ADMIN, ADMIN_KEY)
@example(RATE_LIMITED_ADMIN, ADMIN_KEY)
@example(CallerSpec("jwt", ("read", "write", "admin"), 0, "none", "none", "soon"), ADMIN_KEY)
@example(CallerSpec("api_key", ("write",), 0, "target", "none", None), AskSpec(True, None, None, None, None))
def test_a_minted_key_can_do_no_more_than_its_caller(caller_spec: CallerSpec, ask: AskSpec) -> None:
    world = World.build()
    with override_settings(JWT_SECRET=JWT_SECRET):
        client, caller = _caller(world, caller_spec)
        body, requested = _ask(world, ask)
        keys_before = ApiKey.objects.count()

        response = client.post(f"/api/v1/agents/{world.target}/api-keys", data=body, format="json")

        expected = refusals(caller, requested, world.tenant.id, timezone.now())
        event(f"answered {response.status_code}")
        if response.status_code != 200:
            assert _problem(response, {400, 403, 422}) in expected
            assert ApiKey.objects.count() == keys_before
            return
        assert not expected, expected
        stored = ApiKey.objects.get(key_hash=api_key_hash(response.json()["apiKey"]))
        key = as_principal(stored)
        assert wider_than(key, caller) == []
        assert not_as_asked(key, requested, caller) == []
        assert response.json()["expiresAt"] == (
            stored.expires_at.isoformat().replace("+00:00", "Z") if stored.expires_at else None
        )

        minted = api_client(response.json()["apiKey"])
        for name, probe in _probes(world).items():
            answer = probe(minted)
            if answer.status_code < 400:
                assert probe(client).status_code < 400, f"the minted key may {name}, its caller may not"
            else:
                _problem(answer, {403, 404})  # refused by its scope, never unauthenticated or broken
            if caller.rate_limit is not None:
                assert int(answer["RateLimit-Limit"]) <= caller.rate_limit
        if caller.expires_at is not None:
            with mock.patch.object(authentication, "timezone", SimpleNamespace(now=lambda: caller.expires_at)):
                gone = minted.get(f"/api/v1/head?tenant_id={world.tenant.id}&store_id={world.stores[0]}")
            assert _problem(gone, {401}) == "api_key_expired"


# --- The reported cases, deterministically -------------------------------------------------


def _mint(client: APIClient, agent: uuid.UUID, **body: Any) -> Any:
    return client.post(f"/api/v1/agents/{agent}/api-keys", data=body, format="json")


def _key_of(response: Any) -> ApiKey:
    assert response.status_code == 200, response.content
    return ApiKey.objects.get(key_hash=api_key_hash(response.json()["apiKey"]))


def test_a_store_scoped_admin_mints_admin_keys_only_within_its_stores(owner: Persona) -> None:
    agent, other_store = uuid.uuid4(), uuid.uuid4()
    scoped_admin = api_client(issue_key(owner.tenant, can_write=True, can_admin=True, store_ids=[owner.store_id]))
    keys_before = ApiKey.objects.count()

    widened = [_mint(scoped_admin, agent, admin=True, storeIds=s) for s in ([], [str(other_store)])]
    minted = _key_of(_mint(scoped_admin, agent, admin=True))

    assert [(r.status_code, r.json()["code"]) for r in widened] == [(403, "permission_widening_denied")] * 2
    assert ApiKey.objects.count() == keys_before + 1
    assert (minted.can_admin, minted.store_ids) == (True, [owner.store_id])
    as_minted = api_client(_mint(scoped_admin, agent, admin=True).json()["apiKey"])
    other = as_minted.get(f"/api/v1/head?tenant_id={owner.tenant_id}&store_id={other_store}")
    tenant_wide = as_minted.put(
        "/api/v1/schemas/validation-mode",
        data=orjson.dumps({"tenantId": str(owner.tenant_id), "mode": "enforce"}),
        content_type="application/json",
    )
    assert (other.status_code, other.json()["code"]) == (403, "store_access_denied")
    assert (tenant_wide.status_code, tenant_wide.json()["code"]) == (403, "store_access_denied")


def test_an_agent_scoped_admin_cannot_touch_another_agents_keys(owner: Persona) -> None:
    mine, other = uuid.uuid4(), uuid.uuid4()
    other_key = api_key_hash(issue_key(owner.tenant, can_write=True, agent_id=other))
    agent_admin = api_client(issue_key(owner.tenant, can_write=True, can_admin=True, agent_id=mine))
    keys_before = ApiKey.objects.count()

    refused = [
        _mint(agent_admin, other, admin=True),
        _mint(agent_admin, other, readOnly=True),
        agent_admin.get(f"/api/v1/agents/{other}/api-keys"),
        agent_admin.get(f"/api/v1/agents/{other}"),
        agent_admin.delete(f"/api/v1/agents/{other}/api-keys/{other_key[:16]}"),
    ]

    assert [(r.status_code, r.json()["code"]) for r in refused] == [(403, "agent_scope_denied")] * 5
    assert ApiKey.objects.count() == keys_before
    assert ApiKey.objects.get(key_hash=other_key).active
    own = api_client(_mint(agent_admin, mine, admin=True).json()["apiKey"])
    as_other = _ingest(own, owner.tenant_id, owner.store_id, agent_id=str(other))
    assert (as_other.status_code, as_other.json()["code"]) == (403, "agent_scope_denied")
    assert head_of(owner.tenant_id, owner.store_id) == 0


def test_a_rate_limited_admin_cannot_mint_a_faster_or_unlimited_key(owner: Persona) -> None:
    agent = uuid.uuid4()
    limited_admin = api_client(issue_key(owner.tenant, can_write=True, can_admin=True, rate_limit=10))

    faster = _mint(limited_admin, agent, admin=True, rateLimit=11)
    inherited = _key_of(_mint(limited_admin, agent, admin=True))
    slower = _key_of(_mint(limited_admin, agent, rateLimit=5))

    assert (faster.status_code, faster.json()["code"]) == (403, "permission_widening_denied")
    assert (inherited.rate_limit, slower.rate_limit) == (10, 5)


@override_settings(RATE_LIMIT_WINDOW_SECONDS=86_400)
def test_a_minted_lineage_serves_no_more_than_its_first_limited_key(owner: Persona) -> None:
    """Minting keys with the minter's limit once multiplied it: each child had its own counter."""
    agent = uuid.uuid4()
    parent_key = _mint(owner.client, agent, rateLimit=4).json()["apiKey"]
    parent = api_client(parent_key)
    child_keys = [_mint(parent, agent).json()["apiKey"] for _ in range(2)]  # two of the parent's four
    children = [api_client(key) for key in child_keys]
    grandchild_key = _mint(children[0], agent).json()["apiKey"]  # the third
    grandchild = api_client(grandchild_key)

    answers = [
        client.get(f"/api/v1/head?tenant_id={owner.tenant_id}&store_id={owner.store_id}")
        for client in (children[1], grandchild, parent, children[0], grandchild)
    ]

    assert [r.status_code for r in answers] == [200, 429, 429, 429, 429]
    refused = answers[1].json()
    assert (refused["code"], refused["scope"], refused["limit"]) == ("rate_limited", "api_key", 4)
    parent_id, child_id = api_key_hash(parent_key)[:16], api_key_hash(child_keys[0])[:16]
    assert ApiKey.objects.get(key_hash=api_key_hash(parent_key)).shared_rate_limits == []  # minted without a limit
    assert ApiKey.objects.get(key_hash=api_key_hash(child_keys[1])).shared_rate_limits == [[parent_id, 4]]
    assert ApiKey.objects.get(key_hash=api_key_hash(grandchild_key)).shared_rate_limits == [
        [parent_id, 4],
        [child_id, 4],
    ]


def test_a_minted_key_past_its_own_limit_spends_none_of_its_minters_budget(owner: Persona) -> None:
    """A child limited to 2 sending 12 requests: its 10 refused ones had each spent a unit of the
    parent's 10, locking the parent (and every sibling) out for the window."""
    agent = uuid.uuid4()
    parent = api_client(_mint(owner.client, agent, rateLimit=10).json()["apiKey"])
    child = api_client(_mint(parent, agent, rateLimit=2).json()["apiKey"])  # the parent's 1st request
    head = f"/api/v1/head?tenant_id={owner.tenant_id}&store_id={owner.store_id}"

    by_child = [child.get(head) for _ in range(12)]  # 2 served: the parent's 2nd and 3rd
    by_parent = [parent.get(head) for _ in range(8)]  # 7 left to it

    assert [r.status_code for r in by_child] == [200] * 2 + [429] * 10
    refused = by_child[-1].json()
    assert (refused["scope"], refused["limit"]) == ("api_key", 2)
    assert refused["detail"] == "More than 2 requests in 60 s for this api key."
    assert [r.status_code for r in by_parent] == [200] * 7 + [429]
    assert by_parent[-2]["RateLimit-Remaining"] == "0"
    unrelated = api_client(_mint(owner.client, uuid.uuid4()).json()["apiKey"])
    assert unrelated.get(head).status_code == 200


def test_a_refusal_for_the_minters_budget_says_whose_budget_it_is(owner: Persona) -> None:
    agent = uuid.uuid4()
    parent = api_client(_mint(owner.client, agent, rateLimit=3).json()["apiKey"])
    child = api_client(_mint(parent, agent, rateLimit=3).json()["apiKey"])  # the parent's 1st
    head = f"/api/v1/head?tenant_id={owner.tenant_id}&store_id={owner.store_id}"
    assert [parent.get(head).status_code for _ in range(2)] == [200, 200]  # its 2nd and 3rd

    refused = child.get(head)

    assert refused.status_code == 429
    assert refused.json()["detail"] == (
        "More than 3 requests in 60 s for the key this one was minted from (a budget they share)."
    )


def test_a_lineage_shares_at_most_eight_budgets(owner: Persona) -> None:
    agent = uuid.uuid4()
    caller = owner.client
    for _ in range(9):  # the first is minted by the unlimited admin: eight limited minters follow
        minted = _mint(caller, agent, rateLimit=1000)
        assert minted.status_code == 200, minted.content
        caller = api_client(minted.json()["apiKey"])

    refused = _mint(caller, agent)

    assert (refused.status_code, refused.json()["code"]) == (403, "key_lineage_too_deep")


# --- Expiry ---------------------------------------------------------------------------------
# --- Expiry ---------------------------------------------------------------------------------


def _rfc3339(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


@override_settings(JWT_SECRET=JWT_SECRET)
def test_a_jwt_caller_mints_keys_that_expire_with_its_token(owner: Persona) -> None:
    agent = uuid.uuid4()
    exp = int(time.time()) + 600
    claims = {"iss": "stateset-sequencer", "aud": "stateset-api", "iat": int(time.time()), "exp": exp}
    token = jwt.encode({**claims, "sub": str(owner.tenant_id), "perms": "read,write,admin"}, JWT_SECRET)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    token_end = datetime.fromtimestamp(exp, tz=UTC)

    inherited = _mint(client, agent)
    earlier = _mint(client, agent, expiresAt=_rfc3339(token_end - timedelta(minutes=1)))
    later = _mint(client, agent, expiresAt=_rfc3339(token_end + timedelta(seconds=1)))

    assert _key_of(inherited).expires_at == token_end
    assert inherited.json()["expiresAt"] == _rfc3339(token_end)
    assert _key_of(earlier).expires_at == token_end - timedelta(minutes=1)
    assert (later.status_code, later.json()["code"]) == (403, "permission_widening_denied")
    listed = owner.client.get(f"/api/v1/agents/{agent}/api-keys").json()["keys"]
    assert sorted(k["expiresAt"] for k in listed) == [_rfc3339(token_end - timedelta(minutes=1)), _rfc3339(token_end)]


@pytest.mark.parametrize(
    ("expires_at", "status", "code"),
    [
        (_rfc3339(datetime.now(UTC) - timedelta(seconds=5)), 400, "key_expiry_in_past"),
        ("tomorrow", 422, "invalid_request"),
        (1893456000, 422, "invalid_request"),
    ],
    ids=["past", "not-a-timestamp", "a-number"],  # stable ids: xdist workers must collect the same tests
)
def test_a_bad_expiry_is_refused_and_creates_nothing(owner: Persona, expires_at: Any, status: int, code: str) -> None:
    keys_before = ApiKey.objects.count()

    response = _mint(owner.client, uuid.uuid4(), expiresAt=expires_at)

    assert (response.status_code, response.json()["code"]) == (status, code)
    assert response["Content-Type"] == "application/problem+json"
    assert ApiKey.objects.count() == keys_before


def test_an_admin_key_cannot_be_read_only(owner: Persona) -> None:
    response = _mint(owner.client, uuid.uuid4(), admin=True, readOnly=True)

    assert (response.status_code, response.json()["code"]) == (422, "invalid_request")


def test_an_expiring_keys_minted_keys_expire_no_later(owner: Persona) -> None:
    agent = uuid.uuid4()
    ends = timezone.now() + timedelta(hours=1)
    expiring = api_client(issue_key(owner.tenant, can_write=True, agent_id=agent, expires_at=ends))

    minted = _key_of(_mint(expiring, agent))
    unlimited_by_bootstrap = _key_of(_mint(api_client(django_settings.BOOTSTRAP_ADMIN_API_KEY), agent))

    assert minted.expires_at == ends
    assert unlimited_by_bootstrap.expires_at is None


def test_a_write_only_key_is_labelled_write_not_read_write(owner: Persona) -> None:
    """A write-only caller's minted key cannot read: its label must not say it can."""
    agent = uuid.uuid4()
    writer = api_client(issue_key(owner.tenant, can_read=False, can_write=True, agent_id=agent))

    minted = _mint(writer, agent)
    listing = writer.get(f"/api/v1/agents/{agent}/api-keys").json()["keys"]

    assert minted.json()["permissions"] == "write"
    assert {key["permissions"] for key in listing} == {"write"}
    reads = api_client(minted.json()["apiKey"]).get(
        f"/api/v1/head?tenant_id={owner.tenant_id}&store_id={owner.store_id}"
    )
    assert (reads.status_code, reads.json()["code"]) == (403, "permission_denied")
