"""Per-process caches of credentials (``sequencer_project.hot_cache``).

``agent_key_cache``: agent signing keys by ``(tenant_id, agent_id, key_id)``. ``api_key_cache``:
the principal of an API key by its hash, for ``API_KEY_CACHE_SECONDS``; ``tenant_active_cache``:
whether a tenant is active, for credentials without a key row (JWTs). A missing key is cached
as ``None``. A change drops this process's entries at once and bumps the shared generation after
its commit, so every web process stops using a revoked key within ``HOT_CACHE_CHECK_SECONDS``
(0.25 s), or ``HOT_CACHE_DEGRADED_TTL_SECONDS`` (1 s) while Redis cannot be read. A request
costs no Redis call: each process reads the generations at most every 0.25 s.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction

from sequencer_project.hot_cache import HotCache

if TYPE_CHECKING:
    from sequencer_project.api.principal import Principal
    from tenants.selectors import AgentKeyRecord

agent_key_cache: HotCache[tuple[uuid.UUID, uuid.UUID, int], AgentKeyRecord | None] = HotCache(
    "agent_keys", max_entries=settings.CACHE_AGENT_KEY_MAX, ttl_seconds=settings.CACHE_AGENT_KEY_TTL_SECS
)


def agent_keys_changed() -> None:
    """Call inside the transaction that changed a key: local drop now, everywhere after commit."""
    agent_key_cache.clear()
    transaction.on_commit(agent_key_cache.invalidate)


api_key_cache: HotCache[str, Principal | None] = HotCache(
    "api_keys", max_entries=settings.CACHE_API_KEY_MAX, ttl_seconds=settings.API_KEY_CACHE_SECONDS
)


tenant_active_cache: HotCache[uuid.UUID, bool] = HotCache(
    "tenants_active", max_entries=settings.CACHE_API_KEY_MAX, ttl_seconds=settings.API_KEY_CACHE_SECONDS
)


def tenants_changed() -> None:
    """Call inside the transaction that (de)activated a tenant: its credentials, cached by key or
    by tenant, are dropped here at once and everywhere after commit."""
    tenant_active_cache.clear()
    transaction.on_commit(tenant_active_cache.clear)
    transaction.on_commit(tenant_active_cache.invalidate)
    api_keys_changed()


def api_keys_changed() -> None:
    """Call inside the transaction that revoked or changed a key: local drop now, everywhere after commit."""
    api_key_cache.clear()
    transaction.on_commit(api_key_cache.clear)  # a request between the clear and the commit re-cached it
    transaction.on_commit(api_key_cache.invalidate)
