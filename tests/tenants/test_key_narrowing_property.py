"""Property: a key minted by a non-admin is never wider than the credential that minted it."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from sequencer_project.api.principal import Principal
from tenants.api.agent_views import _narrowed
from tenants.errors import PermissionWideningError

STORES = [uuid.UUID(int=n) for n in range(1, 5)]
store_sets = st.lists(st.sampled_from(STORES), unique=True, max_size=4)


@given(
    caller_write=st.booleans(),
    caller_stores=store_sets,
    caller_rate=st.none() | st.integers(1, 100),
    wanted_stores=st.none() | store_sets,
    read_only=st.none() | st.booleans(),
    admin=st.none() | st.booleans(),
    wanted_rate=st.none() | st.integers(1, 200),
)
def test_a_non_admin_never_widens(
    caller_write: bool,
    caller_stores: list[uuid.UUID],
    caller_rate: int | None,
    wanted_stores: list[uuid.UUID] | None,
    read_only: bool | None,
    admin: bool | None,
    wanted_rate: int | None,
) -> None:
    caller = Principal(
        tenant_id=uuid.uuid4(),
        can_read=True,
        can_write=caller_write,
        can_admin=False,
        store_ids=frozenset(caller_stores),
        agent_id=uuid.uuid4(),
        rate_limit=caller_rate,
    )
    try:
        stores, can_write, can_admin, rate = _narrowed(caller, wanted_stores, read_only, admin, wanted_rate)
    except PermissionWideningError:
        return
    assert not can_admin
    assert caller_write or not can_write
    if caller_stores:
        assert stores
        assert set(stores) <= set(caller_stores)
    if caller_rate is not None:
        assert rate is not None
        assert rate <= caller_rate
    if wanted_rate is not None:
        assert rate == wanted_rate
