"""Reads of tenancy data. Never write (the last-used stamp is delegated to a service)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from django.db import connection

from sequencer_project.api.errors import TenantAccessDeniedError
from sequencer_project.api.principal import Principal
from tenants import services
from tenants.errors import AgentAmbiguousError, AgentNotFoundError
from tenants.key_cache import agent_key_cache, api_key_cache, tenant_active_cache
from tenants.key_scope import agent_access_check, api_key_within
from tenants.models import AgentKeyStatus, AgentSigningKey, ApiKey, Tenant
from tenants.sql import LOCK_AGENT_KEYS, SELECT_AGENT_KEYS, SELECT_API_KEY, SELECT_TENANT_ACTIVE


def api_key_principal_get(*, key_hash: str) -> Principal | None:
    """The principal of an active key, or ``None``: from this process's cache, else one indexed query.

    The principal of an expired key is returned (and cached) with its ``expires_at``: callers
    must refuse it (``principal_for_api_key`` does, on every use, so the cache never serves it).
    """
    return api_key_cache.get(key_hash, _api_key_principal_load)


def _api_key_principal_load(key_hash: str) -> Principal | None:
    with connection.cursor() as cursor:
        cursor.execute(SELECT_API_KEY, {"key_hash": key_hash})
        row = cursor.fetchone()
    if row is None:
        return None
    tenant_id, store_ids, agent_id, can_read, can_write, can_admin, rate_limit, expires_at, shared, active = row
    services.api_key_touch(key_hash=key_hash)
    return Principal(
        tenant_id=tenant_id,
        can_read=can_read,
        can_write=can_write,
        can_admin=can_admin,
        store_ids=frozenset(store_ids or ()),
        agent_id=agent_id,
        rate_limit=rate_limit,
        expires_at=expires_at,
        credential_id=key_hash[:16],
        shared_rate_limits=_budgets(shared),
        tenant_active=active,
    )


def _budgets(stored: str | list[list[Any]]) -> tuple[tuple[str, int], ...]:
    """``api_keys.shared_rate_limits`` as the principal holds it (Django's cursors leave jsonb as text)."""
    pairs = orjson.loads(stored) if isinstance(stored, str) else stored
    return tuple((str(credential), int(limit)) for credential, limit in pairs)


def tenant_active_get(*, tenant_id: uuid.UUID) -> bool:
    """Whether ``tenant_id`` may act: false once an operator deactivated it; a tenant with no row
    yet (a JWT may name one) is active. From this process's cache, else one indexed query."""
    return tenant_active_cache.get(tenant_id, _tenant_active_load)


def _tenant_active_load(tenant_id: uuid.UUID) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(SELECT_TENANT_ACTIVE, {"tenant_id": tenant_id})
        row = cursor.fetchone()
    return row is None or bool(row[0])


def api_key_cache_clear() -> None:
    """Forget cached keys in this process (tests)."""
    api_key_cache.clear()


def tenant_get(*, tenant_id: uuid.UUID) -> Tenant | None:
    return Tenant.objects.filter(id=tenant_id).first()


def api_keys_active_named(*, tenant_id: uuid.UUID, name: str) -> list[ApiKey]:
    """The tenant's active API keys named ``name`` (an operator's tool: ``create_api_key --replace``)."""
    return list(ApiKey.objects.filter(tenant_id=tenant_id, name=name, active=True).order_by("created_at"))


class AgentKeyProblem:
    """Why a key cannot verify now (the reference's ``agent_key_invalid: <text>`` texts)."""

    NOT_FOUND = "Agent key not found"
    REVOKED = "Agent key has been revoked"
    EXPIRED = "Agent key has expired"
    NOT_YET_VALID = "Agent key is not yet valid"


@dataclass(frozen=True, slots=True)
class AgentKeyRecord:
    """A stored signing key as the verifier sees it."""

    key_id: int
    public_key: bytes
    status: str
    valid_from: datetime | None
    valid_to: datetime | None

    def problem_at(self, now: datetime) -> str | None:
        """``None`` when the key verifies at ``now``, else an :class:`AgentKeyProblem` text."""
        if self.status == AgentKeyStatus.REVOKED:
            return AgentKeyProblem.REVOKED
        if self.valid_to is not None and now > self.valid_to:
            return AgentKeyProblem.EXPIRED
        if self.valid_from is not None and now < self.valid_from:
            return AgentKeyProblem.NOT_YET_VALID
        return None


def agent_signing_key_records_by_id(
    *, tenant_id: uuid.UUID, agent_id: uuid.UUID, key_ids: Iterable[int]
) -> dict[int, AgentKeyRecord]:
    """The agent's keys among ``key_ids`` (absent ids are missing from the result).

    Cached per process (``tenants.key_cache``); the misses of a call are read in one query.
    """
    wanted = sorted(set(key_ids))
    if not wanted:
        return {}

    def load(missing: list[tuple[uuid.UUID, uuid.UUID, int]]) -> dict[tuple[uuid.UUID, uuid.UUID, int], Any]:
        found: dict[tuple[uuid.UUID, uuid.UUID, int], AgentKeyRecord | None] = dict.fromkeys(missing)
        for record in _agent_key_records(SELECT_AGENT_KEYS, tenant_id, agent_id, [k[2] for k in missing]):
            found[(tenant_id, agent_id, record.key_id)] = record
        return found

    cached = agent_key_cache.get_many([(tenant_id, agent_id, k) for k in wanted], load)
    return {key[2]: record for key, record in cached.items() if record is not None}


def agent_signing_key_records_locked(
    *, tenant_id: uuid.UUID, agent_id: uuid.UUID, key_ids: Iterable[int]
) -> dict[int, AgentKeyRecord]:
    """The agent's keys among ``key_ids`` as stored now, share-locked to the end of the caller's
    transaction (``lock_agent_keys.sql``): a revocation waits for that transaction, and one that
    committed first is seen. For a VES batch about to be sequenced (docs/auth.md, "Agent signing
    keys"). Caller holds the transaction."""
    wanted = sorted(set(key_ids))
    if not wanted:
        return {}
    return {record.key_id: record for record in _agent_key_records(LOCK_AGENT_KEYS, tenant_id, agent_id, wanted)}


def _agent_key_records(
    statement: str, tenant_id: uuid.UUID, agent_id: uuid.UUID, key_ids: list[int]
) -> list[AgentKeyRecord]:
    with connection.cursor() as cursor:
        cursor.execute(statement, {"tenant_id": tenant_id, "agent_id": agent_id, "key_ids": key_ids})
        rows = cursor.fetchall()
    return [
        AgentKeyRecord(key_id, bytes(public_key), status, valid_from, valid_to)
        for key_id, public_key, status, valid_from, valid_to in rows
    ]


def agent_signing_key_list(*, tenant_id: uuid.UUID, agent_id: uuid.UUID) -> list[AgentSigningKey]:
    return list(AgentSigningKey.objects.filter(tenant_id=tenant_id, agent_id=agent_id).order_by("key_id"))


def agent_signing_key_recent_list(*, tenant_id: uuid.UUID | None, limit: int) -> list[AgentSigningKey]:
    """The newest ``limit`` agent signing keys, of one tenant or (``None``, the admin page) of all."""
    query = AgentSigningKey.objects.order_by("-created_at")
    if tenant_id is not None:
        query = query.filter(tenant_id=tenant_id)
    return list(query[:limit])


# --- Agent self-service (docs/auth.md) ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgentApiKeys:
    """An agent's API keys in its tenant, oldest first (empty: an admin of the tenant before the
    agent's first key). For a caller, ``keys`` are those no wider than it (``api_key_within``)
    and ``wider`` the others: never shown, and refused to its revocation."""

    tenant_id: uuid.UUID
    keys: list[ApiKey]
    wider: list[ApiKey] = field(default_factory=list)


def agent_api_keys_get(*, agent_id: uuid.UUID, tenant_id: uuid.UUID) -> AgentApiKeys | None:
    """The agent's API keys in ``tenant_id``, oldest first, or ``None`` when it has none there.
    Index: api_keys_tenant_agent (tenant_id, agent_id)."""
    keys = list(ApiKey.objects.filter(tenant_id=tenant_id, agent_id=agent_id).order_by("created_at", "key_hash"))
    return AgentApiKeys(tenant_id=tenant_id, keys=keys) if keys else None


def agent_api_keys_get_for_caller(
    *, caller: Principal, agent_id: uuid.UUID, tenant_id: uuid.UUID | None = None
) -> AgentApiKeys:
    """The agent's API keys as ``caller`` may see them: the agent itself, or an admin of the
    agent's tenant not scoped to another agent (403 ``agent_scope_denied`` otherwise); of its
    keys, only those no wider than ``caller`` are in ``keys`` (``tenants.key_scope.api_key_within``,
    the rule minting applies: a store-scoped admin sees only keys scoped within its stores, a
    read/write key no admin key), the rest in ``wider``.

    ``tenant_id`` is the tenant the request names (its ``tenant_id`` query parameter), if any: a
    tenant's credential may name only its own (403 ``tenant_access_denied``). Agent ids are
    unique per tenant only, so the bootstrap admin names the agent's tenant with it; without
    it, the agent must have keys in exactly one tenant (409 ``agent_ambiguous`` otherwise).

    404 ``agent_not_found`` when the agent has no key in that tenant, except for an admin of the
    tenant (the bootstrap admin naming it included), who gets it with no keys: it may mint the
    agent's first one.
    """
    agent_access_check(caller, agent_id)
    if tenant_id is not None and not caller.is_superadmin and tenant_id != caller.tenant_id:
        raise TenantAccessDeniedError("This credential cannot access that tenant.")
    tenant = caller.tenant_id or tenant_id or _the_agents_one_tenant(agent_id)
    found = agent_api_keys_get(agent_id=agent_id, tenant_id=tenant)
    if found is not None:
        keys: list[ApiKey] = []
        wider: list[ApiKey] = []
        for key in found.keys:
            (keys if api_key_within(caller, _key_principal(key)) else wider).append(key)
        return AgentApiKeys(tenant_id=found.tenant_id, keys=keys, wider=wider)
    if caller.can_admin:
        return AgentApiKeys(tenant_id=tenant, keys=[])
    raise AgentNotFoundError(f"No agent {agent_id} is visible to this credential.")


def _the_agents_one_tenant(agent_id: uuid.UUID) -> uuid.UUID:
    """The one tenant that knows ``agent_id`` (by an API key or a signing key), for a caller of
    every tenant that named none; the agent must have API keys there (404 otherwise)."""
    with_keys = set(ApiKey.objects.filter(agent_id=agent_id).values_list("tenant_id", flat=True).distinct()[:2])
    signing = set(AgentSigningKey.objects.filter(agent_id=agent_id).values_list("tenant_id", flat=True).distinct()[:2])
    if len(with_keys | signing) > 1:
        raise AgentAmbiguousError(
            f"Agent id {agent_id} names agents of several tenants; name one with the tenant_id query parameter."
        )
    if not with_keys:
        raise AgentNotFoundError(f"No agent {agent_id} is visible to this credential.")
    return with_keys.pop()


def _key_principal(key: ApiKey) -> Principal:
    """What a stored key may do, as far as ``api_key_within`` compares keys."""
    return Principal(
        tenant_id=key.tenant_id,
        can_read=key.can_read,
        can_write=key.can_write,
        can_admin=key.can_admin,
        store_ids=frozenset(key.store_ids),
        agent_id=key.agent_id,
    )
