"""Writes of tenancy data: tenants, stores, API keys. Each public service is a transaction."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from tenants.credentials import api_key_generate, api_key_hash, display_prefix
from tenants.errors import AgentKeyExistsError, AgentKeyNotFoundError
from tenants.key_cache import agent_keys_changed, api_keys_changed
from tenants.models import AgentKeyStatus, AgentSigningKey, ApiKey, Tenant
from tenants.sql import TOUCH_API_KEY


@dataclass(frozen=True, slots=True)
class IssuedApiKey:
    """A freshly minted key. ``key`` exists only here: it is never stored or shown again."""

    api_key: ApiKey
    key: str


@transaction.atomic(durable=True)
def tenant_create(*, name: str, tenant_id: uuid.UUID | None = None) -> Tenant:
    """Create a tenant (optionally with a chosen id)."""
    return Tenant.objects.create(id=tenant_id or uuid.uuid4(), name=name)


@transaction.atomic(durable=True)
def api_key_create(
    *,
    tenant: Tenant,
    name: str = "",
    can_read: bool = True,
    can_write: bool = False,
    can_admin: bool = False,
    store_ids: Iterable[uuid.UUID] = (),
    agent_id: uuid.UUID | None = None,
    rate_limit: int | None = None,
    expires_at: datetime | None = None,
) -> IssuedApiKey:
    """Mint a key for ``tenant``. Returns the key once; only its SHA-256 is stored.

    No scope check here: callers acting for a principal narrow first (``tenants.key_scope``).
    """
    key = api_key_generate(tenant.id)
    api_key = ApiKey.objects.create(
        key_hash=api_key_hash(key),
        tenant=tenant,
        name=name,
        display_prefix=display_prefix(key),
        can_read=can_read,
        can_write=can_write,
        can_admin=can_admin,
        store_ids=sorted(set(store_ids), key=str),
        agent_id=agent_id,
        rate_limit=rate_limit,
        expires_at=expires_at,
    )
    return IssuedApiKey(api_key=api_key, key=key)


@transaction.atomic(durable=True)
def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    """Deactivate a key. Once committed, every process refuses it within ``HOT_CACHE_CHECK_SECONDS``
    (0.25 s; ``HOT_CACHE_DEGRADED_TTL_SECONDS`` while Redis is unavailable), this one at once."""
    if api_key.active:
        api_key.active = False
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["active", "revoked_at", "updated_at"])
    api_keys_changed()
    return api_key


_last_touch: dict[str, float] = {}


def api_key_touch(*, key_hash: str) -> None:
    """Stamp ``last_used_at`` at most once per interval per process (one cheap UPDATE).

    Runs in autocommit outside request transactions; idempotent by its WHERE clause.
    """
    interval = settings.API_KEY_LAST_USED_INTERVAL_SECONDS
    now = time.monotonic()
    if now - _last_touch.get(key_hash, -interval - 1.0) < interval:
        return
    _last_touch[key_hash] = now
    with connection.cursor() as cursor:
        cursor.execute(TOUCH_API_KEY, {"key_hash": key_hash, "interval_seconds": interval})


@transaction.atomic(durable=True)
def agent_key_register(
    *,
    tenant_id: uuid.UUID,
    agent_id: uuid.UUID,
    key_id: int,
    public_key: bytes,
    valid_from: datetime | None = None,
    valid_to: datetime | None = None,
) -> AgentSigningKey:
    """Register an agent's Ed25519 public key; a second registration of the same id is a 409.

    The tenant row is created when missing (a bootstrap admin may provision a new tenant's
    agents before its first event, as events themselves create tenants on first write).
    """
    Tenant.objects.get_or_create(id=tenant_id, defaults={"name": f"tenant {tenant_id}"})
    try:
        with transaction.atomic():
            key = AgentSigningKey.objects.create(
                tenant_id=tenant_id,
                agent_id=agent_id,
                key_id=key_id,
                public_key=public_key,
                valid_from=valid_from,
                valid_to=valid_to,
            )
    except IntegrityError as exc:
        raise AgentKeyExistsError(
            f"Agent {agent_id} already has key {key_id} in tenant {tenant_id}; revoke it and register a new key id."
        ) from exc
    agent_keys_changed()  # a cached "not found" must go
    return key


@transaction.atomic(durable=True)
def agent_key_revoke(*, tenant_id: uuid.UUID, agent_id: uuid.UUID, key_id: int) -> AgentSigningKey:
    """Revoke a key. Every process drops its cached keys within 0.25 s of the commit (``tenants.key_cache``)."""
    key = (
        AgentSigningKey.objects.select_for_update()
        .filter(tenant_id=tenant_id, agent_id=agent_id, key_id=key_id)
        .first()
    )
    if key is None:
        raise AgentKeyNotFoundError(f"Agent {agent_id} has no key {key_id} in tenant {tenant_id}.")
    if key.status != AgentKeyStatus.REVOKED:
        AgentSigningKey.objects.filter(tenant_id=tenant_id, agent_id=agent_id, key_id=key_id).update(
            status=AgentKeyStatus.REVOKED, revoked_at=timezone.now()
        )
        key.refresh_from_db()
        agent_keys_changed()
    return key


# --- Agent self-service (docs/auth.md) ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RegisteredAgent:
    """A self-registered agent: its new tenant, its id and its first key (shown once)."""

    tenant: Tenant
    agent_id: uuid.UUID
    issued: IssuedApiKey


@transaction.atomic(durable=True)
def agent_register(
    *,
    name: str,
    description: str = "",
    store_ids: Iterable[uuid.UUID] = (),
    read_only: bool = False,
    rate_limit: int | None = None,
) -> RegisteredAgent:
    """Create a new tenant and an agent in it with one non-admin key, in one transaction."""
    tenant = Tenant.objects.create(id=uuid.uuid4(), name=name)
    agent_id = uuid.uuid4()
    key = api_key_generate(tenant.id)
    api_key = ApiKey.objects.create(
        key_hash=api_key_hash(key),
        tenant=tenant,
        name=(f"{name}: {description}" if description else name)[:200],
        display_prefix=display_prefix(key),
        can_read=True,
        can_write=not read_only,
        can_admin=False,
        store_ids=sorted(set(store_ids), key=str),
        agent_id=agent_id,
        rate_limit=rate_limit,
    )
    return RegisteredAgent(tenant=tenant, agent_id=agent_id, issued=IssuedApiKey(api_key=api_key, key=key))
