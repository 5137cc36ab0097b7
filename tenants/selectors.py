"""Reads of tenancy data. Never write (the last-used stamp is delegated to a service)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import connection

from sequencer_project.api.principal import Principal
from tenants import services
from tenants.models import ApiKey, Tenant
from tenants.sql import SELECT_API_KEY


@dataclass(frozen=True, slots=True)
class _CachedPrincipal:
    principal: Principal | None
    expires_at: float


# Per-process cache of resolved keys. Entries live API_KEY_CACHE_SECONDS (default 1 s), so a
# revoked key stops working on every process within that time.
_principal_cache: dict[str, _CachedPrincipal] = {}
_CACHE_MAX_ENTRIES = 10_000


def api_key_principal_get(*, key_hash: str) -> Principal | None:
    """The principal of an active key, or ``None``. One indexed query per key per second."""
    now = time.monotonic()
    cached = _principal_cache.get(key_hash)
    if cached is not None and cached.expires_at > now:
        return cached.principal
    with connection.cursor() as cursor:
        cursor.execute(SELECT_API_KEY, {"key_hash": key_hash})
        row = cursor.fetchone()
    principal = None
    if row is not None:
        tenant_id, store_ids, agent_id, can_read, can_write, can_admin, rate_limit = row
        principal = Principal(
            tenant_id=tenant_id,
            can_read=can_read,
            can_write=can_write,
            can_admin=can_admin,
            store_ids=frozenset(store_ids or ()),
            agent_id=agent_id,
            rate_limit=rate_limit,
            credential_id=key_hash[:16],
        )
        services.api_key_touch(key_hash=key_hash)
    if len(_principal_cache) >= _CACHE_MAX_ENTRIES:
        _principal_cache.clear()
    _principal_cache[key_hash] = _CachedPrincipal(principal, now + settings.API_KEY_CACHE_SECONDS)
    return principal


def api_key_cache_clear() -> None:
    """Forget cached keys in this process (tests and the revoke service use it)."""
    _principal_cache.clear()


def tenant_get(*, tenant_id: uuid.UUID) -> Tenant | None:
    return Tenant.objects.filter(id=tenant_id).first()


def api_key_list_for_tenant(*, tenant_id: uuid.UUID) -> list[ApiKey]:
    return list(ApiKey.objects.filter(tenant_id=tenant_id).order_by("-created_at"))
