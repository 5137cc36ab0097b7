"""Property: ``api_key_scope_narrow`` never gives more than the caller has, whoever the caller is.

Every caller (any permissions, store scope, agent scope, rate limit, expiry; API key, JWT or the
bootstrap admin) and every request: either it is refused with a code the model
(``key_scope_model``) expects, or the key is within the caller in every dimension and exactly
what was asked. The same rule over HTTP and the database: ``test_minted_key_scope_api.py``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sequencer_project.api.errors import SequencerError
from sequencer_project.api.principal import Principal
from tenants.key_scope import KeyScope, RequestedScope, api_key_scope_narrow
from tests.tenants.key_scope_model import as_principal, not_as_asked, refusals, wider_than

NOW = datetime(2030, 1, 1, tzinfo=UTC)
TENANT, OTHER_TENANT = uuid.UUID(int=1), uuid.UUID(int=2)
AGENTS = [uuid.UUID(int=10), uuid.UUID(int=11)]
STORES = [uuid.UUID(int=20 + n) for n in range(4)]
BOOTSTRAP = Principal(
    tenant_id=None, can_read=True, can_write=True, can_admin=True, credential_id="bootstrap", kind="bootstrap"
)

store_sets = st.frozensets(st.sampled_from(STORES), max_size=3)
rates = st.none() | st.integers(1, 10_000)
instants = st.none() | st.sampled_from(
    [NOW - timedelta(minutes=1), NOW, *(NOW + timedelta(hours=h) for h in (1, 2, 3))]
)
callers = st.builds(
    Principal,
    tenant_id=st.just(TENANT),
    can_read=st.booleans(),
    can_write=st.booleans(),
    can_admin=st.booleans(),
    store_ids=store_sets,
    agent_id=st.none() | st.sampled_from(AGENTS),
    rate_limit=rates,
    expires_at=instants,
    kind=st.sampled_from(["api_key", "jwt"]),
) | st.just(BOOTSTRAP)
requests = st.builds(
    RequestedScope,
    agent_id=st.sampled_from(AGENTS),
    read_only=st.none() | st.booleans(),
    admin=st.none() | st.booleans(),
    store_ids=st.none() | store_sets,
    rate_limit=rates,
    expires_at=instants,
)


@settings(max_examples=1000, deadline=None)
@given(callers, requests, st.sampled_from([TENANT, OTHER_TENANT]))
def test_a_minted_key_is_refused_or_within_the_caller_and_as_asked(
    caller: Principal, requested: RequestedScope, tenant_id: uuid.UUID
) -> None:
    expected = refusals(caller, requested, tenant_id, NOW)
    if expected:
        with pytest.raises(SequencerError) as refused:
            api_key_scope_narrow(caller=caller, requested=requested, tenant_id=tenant_id, now=NOW)
        assert refused.value.code in expected
        return

    key = api_key_scope_narrow(caller=caller, requested=requested, tenant_id=tenant_id, now=NOW)
    assert key.tenant_id == tenant_id
    assert wider_than(as_principal(key), caller) == []
    assert not_as_asked(as_principal(key), requested, caller) == []


@pytest.mark.parametrize(
    ("caller", "requested"),
    [
        # The three cases of the outside security test: admins were not narrowed at all.
        (
            Principal(TENANT, True, True, True, store_ids=frozenset(STORES[:1])),
            RequestedScope(AGENTS[0], admin=True, store_ids=frozenset()),
        ),
        (Principal(TENANT, True, True, True, agent_id=AGENTS[0]), RequestedScope(AGENTS[1], admin=True)),
        (Principal(TENANT, True, True, True, rate_limit=10), RequestedScope(AGENTS[0], admin=True, rate_limit=11)),
        # A JWT (or an expiring key) cannot mint a key that outlives it.
        (
            Principal(TENANT, True, True, True, expires_at=NOW + timedelta(hours=1), kind="jwt"),
            RequestedScope(AGENTS[0], expires_at=NOW + timedelta(hours=2)),
        ),
    ],
)
def test_admins_are_narrowed_too(caller: Principal, requested: RequestedScope) -> None:
    with pytest.raises(SequencerError) as refused:
        api_key_scope_narrow(caller=caller, requested=requested, tenant_id=TENANT, now=NOW)

    assert refused.value.code in {"permission_widening_denied", "agent_scope_denied"}


def test_omitted_dimensions_inherit_the_callers_limits() -> None:
    caller = Principal(
        TENANT,
        True,
        True,
        True,
        store_ids=frozenset(STORES[:2]),
        agent_id=AGENTS[0],
        rate_limit=7,
        expires_at=NOW + timedelta(hours=1),
        kind="jwt",
    )

    key = api_key_scope_narrow(caller=caller, requested=RequestedScope(AGENTS[0]), tenant_id=TENANT, now=NOW)

    assert key == KeyScope(TENANT, AGENTS[0], True, True, False, frozenset(STORES[:2]), 7, NOW + timedelta(hours=1))
