"""The per-process agent signing-key cache (``sequencer_project.hot_cache``; issue 4).

Keyed by ``(tenant_id, agent_id, key_id)``; a missing key is cached as ``None``. Register and
revoke drop this process's entries at once and bump the shared generation after their commit,
so every web process stops using a revoked key within ``HOT_CACHE_CHECK_SECONDS`` (0.25 s), or
``HOT_CACHE_DEGRADED_TTL_SECONDS`` (1 s) while Redis cannot be read.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction

from sequencer_project.hot_cache import HotCache

if TYPE_CHECKING:
    from tenants.selectors import AgentKeyRecord

agent_key_cache: HotCache[tuple[uuid.UUID, uuid.UUID, int], AgentKeyRecord | None] = HotCache(
    "agent_keys", max_entries=settings.CACHE_AGENT_KEY_MAX, ttl_seconds=settings.CACHE_AGENT_KEY_TTL_SECS
)


def agent_keys_changed() -> None:
    """Call inside the transaction that changed a key: local drop now, everywhere after commit."""
    agent_key_cache.clear()
    transaction.on_commit(agent_key_cache.invalidate)
