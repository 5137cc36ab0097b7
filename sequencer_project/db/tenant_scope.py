"""The tenants a read may touch, and the "found, else not found" rule of reads by id.

A selector that reads by id takes ``tenant_id: TenantScope``: the caller's tenant, or
:data:`EVERY_TENANT`, the bootstrap admin's read by id alone (``TenantApiMixin.tenant_scope``
decides which). ``None`` is refused with ``TypeError`` rather than read as "every tenant", so a
tenant id that is unexpectedly ``None`` can never widen a read to other tenants (STYLE rule 7).
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable
from typing import Final, Protocol, TypeAlias, TypeVar


class EveryTenant(enum.Enum):
    """The one value of :data:`EVERY_TENANT` (an enum member, so ``is`` narrows its type)."""

    EVERY_TENANT = "every tenant"

    def __repr__(self) -> str:
        return "EVERY_TENANT"


EVERY_TENANT: Final = EveryTenant.EVERY_TENANT
TenantScope: TypeAlias = uuid.UUID | EveryTenant

# The caller's scope, ``visible(tenant_id, store_id)`` (``TenantApiMixin.visible``): whether a
# resource of that tenant (and store) may be shown at all.
Visible = Callable[[uuid.UUID, uuid.UUID | None], bool]


def tenant_id_param(tenant_id: TenantScope) -> uuid.UUID | None:
    """The value of a SQL tenant filter whose NULL means every tenant; ``TypeError`` for anything
    but a UUID or :data:`EVERY_TENANT` (``None`` above all)."""
    if tenant_id is EVERY_TENANT:
        return None
    if not isinstance(tenant_id, uuid.UUID):
        raise TypeError(f"tenant_id must be a UUID or EVERY_TENANT, not {tenant_id!r}")
    return tenant_id


def tenant_filter(tenant_id: TenantScope) -> dict[str, uuid.UUID]:
    """The ORM keyword filter of :func:`tenant_id_param`: ``{"tenant_id": ...}``, or none for
    :data:`EVERY_TENANT`."""
    value = tenant_id_param(tenant_id)
    return {} if value is None else {"tenant_id": value}


class Scoped(Protocol):
    """A row that belongs to a tenant and (for most) a store."""

    @property
    def tenant_id(self) -> uuid.UUID: ...

    @property
    def store_id(self) -> uuid.UUID | None: ...


ScopedT = TypeVar("ScopedT", bound=Scoped)


def visible_or_not_found(found: ScopedT | None, visible: Visible, not_found: Callable[[], Exception]) -> ScopedT:
    """``found`` when it exists and ``visible`` shows it; otherwise raise ``not_found()`` (a 404:
    what the caller may not see reads as absent, never as forbidden)."""
    if found is None or not visible(found.tenant_id, found.store_id):
        raise not_found()
    return found
