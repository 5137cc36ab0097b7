"""factory_boy factories for tenancy (always with an explicit tenant)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import factory

from tenants.models import Tenant
from tenants.services import api_key_create


class TenantFactory(factory.django.DjangoModelFactory[Tenant]):
    class Meta:
        model = Tenant

    id = factory.LazyFunction(uuid.uuid4)
    name = factory.Sequence(lambda n: f"tenant-{n}")


def make_tenant(**overrides: Any) -> Tenant:
    """A saved tenant (typed wrapper around the factory)."""
    tenant = TenantFactory.create(**overrides)
    assert isinstance(tenant, Tenant)
    return tenant


def issue_key(
    tenant: Tenant,
    *,
    can_read: bool = True,
    can_write: bool = False,
    can_admin: bool = False,
    store_ids: Iterable[uuid.UUID] = (),
    agent_id: uuid.UUID | None = None,
    rate_limit: int | None = None,
    expires_at: datetime | None = None,
) -> str:
    """Mint a key through the real service and return the plaintext key."""
    return api_key_create(
        tenant=tenant,
        can_read=can_read,
        can_write=can_write,
        can_admin=can_admin,
        store_ids=store_ids,
        agent_id=agent_id,
        rate_limit=rate_limit,
        expires_at=expires_at,
        actor="test",
    ).key
