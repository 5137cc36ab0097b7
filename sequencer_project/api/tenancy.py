"""``TenantApiMixin``: the one way a view learns who is calling and which stream it may touch.

Every tenant-scoped view inherits it. The principal is resolved once by authentication;
subclasses cannot override the scoping hooks (checked at class creation), so no view can
quietly skip the tenant and store checks. The readers of query and path parameters live in
``sequencer_project.api.fields``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, ClassVar, Literal, overload

from rest_framework.request import Request
from rest_framework.views import APIView

from sequencer_project.api import errors
from sequencer_project.api.fields import query_uuid_in, query_value_in
from sequencer_project.api.principal import Permission, Principal
from sequencer_project.db.tenant_scope import EVERY_TENANT, TenantScope

_GUARDED_HOOKS = ("principal", "stream_for", "queried_stream", "queried_tenant", "tenant_scope", "visible")


class TenantApiMixin(APIView):
    """Base for tenant-scoped API views."""

    request: Request
    guarded_hooks: ClassVar[tuple[str, ...]] = _GUARDED_HOOKS

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        overridden = [name for name in _GUARDED_HOOKS if name in cls.__dict__]
        if overridden:
            raise TypeError(f"{cls.__name__} may not override tenant scoping hooks: {', '.join(overridden)}")

    @property
    def principal(self) -> Principal:
        user = self.request.user
        if not isinstance(user, Principal):  # IsPrincipal already refused anonymous calls
            raise errors.AuthenticationRequiredError()
        return user

    @property
    def tenant_scope(self) -> TenantScope:
        """The tenants a read by id may look in (selectors' ``tenant_id``): the credential's
        tenant, or ``EVERY_TENANT`` for the bootstrap admin. Callers still apply :meth:`visible`."""
        return tenant_scope_of(self.principal)

    def stream_for(
        self, tenant_id: uuid.UUID, store_id: uuid.UUID, permission: Permission
    ) -> tuple[uuid.UUID, uuid.UUID]:
        """Authorise ``permission`` on the stream the client named; 403 outside the scope."""
        self.principal.check_stream(tenant_id, store_id, permission)
        return tenant_id, store_id

    def queried_stream(self, permission: Permission) -> tuple[uuid.UUID, uuid.UUID]:
        """The stream named by the ``tenant_id`` and ``store_id`` query parameters, authorised."""
        return queried_stream_in(self.request.query_params, self.principal, permission)

    @overload
    def queried_tenant(self, *, required: bool = False, every_tenant: Literal[False] = False) -> uuid.UUID: ...

    @overload
    def queried_tenant(self, *, required: bool = False, every_tenant: bool) -> TenantScope: ...

    def queried_tenant(self, *, required: bool = False, every_tenant: bool = False) -> TenantScope:
        """The tenant a read names (:func:`query_tenant_in`); not yet authorised."""
        return query_tenant_in(self.request.query_params, self.principal, required=required, every_tenant=every_tenant)

    def visible(self, tenant_id: uuid.UUID, store_id: uuid.UUID | None) -> bool:
        """Whether a fetched resource may be shown; callers answer 404 when it may not."""
        return self.principal.can_see(tenant_id, store_id)


def tenant_scope_of(principal: Principal) -> TenantScope:
    """:attr:`TenantApiMixin.tenant_scope` of ``principal``."""
    if principal.is_superadmin:
        return EVERY_TENANT
    if principal.tenant_id is None:  # only the bootstrap admin has no tenant
        raise errors.TenantAccessDeniedError("This credential belongs to no tenant.")
    return principal.tenant_id


def queried_stream_in(
    params: Mapping[str, str], principal: Principal, permission: Permission
) -> tuple[uuid.UUID, uuid.UUID]:
    """The stream the ``tenant_id`` and ``store_id`` query parameters name, authorised for
    ``permission`` (400 ``invalid_parameter`` when either is missing or malformed, 403 outside the
    credential's scope)."""
    tenant_id, store_id = query_uuid_in(params, "tenant_id"), query_uuid_in(params, "store_id")
    principal.check_stream(tenant_id, store_id, permission)
    return tenant_id, store_id


@overload
def query_tenant_in(
    params: Mapping[str, str], principal: Principal, *, required: bool = False, every_tenant: Literal[False] = False
) -> uuid.UUID: ...


@overload
def query_tenant_in(
    params: Mapping[str, str], principal: Principal, *, required: bool = False, every_tenant: bool
) -> TenantScope: ...


def query_tenant_in(
    params: Mapping[str, str], principal: Principal, *, required: bool = False, every_tenant: bool = False
) -> TenantScope:
    """The tenant a read names in its ``tenant_id`` query parameter (400 ``invalid_parameter``
    when malformed); the caller still authorises it. The one rule for an absent ``tenant_id``:

    * by default, the credential's tenant; the bootstrap admin has none, so it must name one (400);
    * ``every_tenant=True``: the same, except that the bootstrap admin then reads
      ``EVERY_TENANT`` (a list across tenants);
    * ``required=True``: 400 for every caller (the x402 list, as the reference answers).
    """
    if query_value_in(params, "tenant_id") is not None or required:
        return query_uuid_in(params, "tenant_id")
    if every_tenant and principal.is_superadmin:
        return EVERY_TENANT
    if principal.tenant_id is None:
        return query_uuid_in(params, "tenant_id")
    return principal.tenant_id
