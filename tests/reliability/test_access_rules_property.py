"""Property: the access rules agree with a two-line model for any credential and any target."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sequencer_project.api import errors
from sequencer_project.api.principal import Permission, Principal

TENANTS = [uuid.UUID(int=1), uuid.UUID(int=2)]
STORES = [uuid.UUID(int=10 + i) for i in range(4)]

principals = st.builds(
    Principal,
    tenant_id=st.sampled_from([*TENANTS, None]),
    can_read=st.booleans(),
    can_write=st.booleans(),
    can_admin=st.booleans(),
    store_ids=st.frozensets(st.sampled_from(STORES), max_size=3),
)


def _allowed(p: Principal, tenant: uuid.UUID, store: uuid.UUID | None, permission: Permission) -> bool:
    """The model: own tenant (or bootstrap), inside the store scope, with the permission."""
    if p.tenant_id is None and p.can_admin:
        return True
    in_scope = p.tenant_id == tenant and (store is None or not p.store_ids or store in p.store_ids)
    return in_scope and p.has(permission)


@given(principals, st.sampled_from(TENANTS), st.sampled_from([*STORES, None]), st.sampled_from(list(Permission)))
def test_check_stream_refuses_exactly_what_the_model_refuses(
    p: Principal, tenant: uuid.UUID, store: uuid.UUID | None, permission: Permission
) -> None:
    try:
        p.check_stream(tenant, store, permission)
        refused = False
    except (errors.TenantAccessDeniedError, errors.StoreAccessDeniedError, errors.PermissionDeniedError):
        refused = True

    assert refused == (not _allowed(p, tenant, store, permission))
    if store is not None and refused is False and not p.is_superadmin:
        assert p.can_see(tenant, store)


@given(principals, st.sampled_from(TENANTS), st.sampled_from(list(Permission)))
def test_tenant_wide_changes_need_an_unscoped_credential(
    p: Principal, tenant: uuid.UUID, permission: Permission
) -> None:
    allowed = _allowed(p, tenant, None, permission) and (
        permission is Permission.READ or not p.store_ids or p.is_superadmin
    )

    if allowed:
        p.check_tenant(tenant, permission)
    else:
        with pytest.raises(
            (errors.TenantAccessDeniedError, errors.StoreAccessDeniedError, errors.PermissionDeniedError)
        ):
            p.check_tenant(tenant, permission)
