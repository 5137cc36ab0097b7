"""Writes of tenancy data: tenants, API keys, agent signing keys, operator logins.

Each public service is a transaction (``durable=True``) that takes the ``actor`` and writes the
audit row of its change inside it (``audit.services``): the change and its record commit
together or not at all, and callers never write audit rows. ``api_key_touch`` is the exception:
a usage stamp, not a change anyone made.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from audit.services import audit_record
from sequencer_project.api.errors import NotFoundError
from sequencer_project.api.fields import U32, invalid_field_value
from sequencer_project.api.principal import Principal
from tenants import selectors
from tenants.credentials import api_key_generate, api_key_hash, display_prefix
from tenants.errors import (
    AgentKeyExistsError,
    AgentKeyNotFoundError,
    AgentKeyRevokedMaterialError,
    AgentNotFoundError,
    ApiKeyNotFoundError,
    InvalidPublicKeyError,
    KeyPrefixAmbiguousError,
    PermissionWideningError,
)
from tenants.key_cache import agent_keys_changed, api_keys_changed, tenants_changed
from tenants.key_scope import RequestedScope, api_key_scope_narrow
from tenants.models import AgentKeyStatus, AgentSigningKey, ApiKey, Tenant
from tenants.sql import TOUCH_API_KEY
from ves.signing import is_usable_public_key

# ``api_keys.rate_limit`` is a PostgreSQL ``integer`` (CHECK > 0). Django sends a model integer as
# psycopg's ``Int4``, whose binary dumper (psycopg_binary, under ``server_side_binding``) keeps
# only the low 32 bits: 2**32 + 1 was stored as 1, so every writer refuses what the column
# cannot hold before it reaches the ORM.
API_KEY_RATE_LIMIT_MAX = 2**31 - 1
AGENT_KEY_ID_MAX = U32[1]  # agent_signing_keys.key_id is a u32 (CHECK agent_keys_key_id_u32)
# The tenant fields whose old and new values ``tenant.update`` records (none is a secret); any
# other changed field is named only.
_TENANT_VALUES_RECORDED = ("name", "is_active")
_UNIQUE_VIOLATION = "23505"


def _audited(actor: str, action: str, target_id: str, tenant_id: uuid.UUID, **detail: Any) -> None:
    """The audit row of a tenancy change; ``action`` is ``<target type>.<verb>``. Caller holds
    the change's transaction."""
    target_type = action.split(".", 1)[0]
    audit_record(
        actor=actor, action=action, target_type=target_type, target_id=target_id, tenant_id=tenant_id, detail=detail
    )


@dataclass(frozen=True, slots=True)
class IssuedApiKey:
    """A freshly minted key. ``key`` exists only here: it is never stored or shown again."""

    api_key: ApiKey
    key: str


@transaction.atomic(durable=True)
def tenant_create(*, name: str, actor: str, tenant_id: uuid.UUID | None = None, is_active: bool = True) -> Tenant:
    """Create a tenant (optionally with a chosen id). Audited (``tenant.create``)."""
    tenant = Tenant.objects.create(id=tenant_id or uuid.uuid4(), name=name, is_active=is_active)
    _audited(actor, "tenant.create", str(tenant.id), tenant.id, name=name, is_active=is_active)
    return tenant


@transaction.atomic(durable=True)
def tenant_update(*, tenant: Tenant, changed: Sequence[str], actor: str) -> Tenant:
    """Save the ``changed`` fields of an edited tenant (the admin form). Audited (``tenant.update``,
    with the old and new value of each changed field in ``_TENANT_VALUES_RECORDED``).

    Only the fields whose value differs from the stored row (read under lock) are saved; when
    none does, nothing is written and nothing recorded. Deactivating it (``is_active``) refuses
    its credentials everywhere within ``HOT_CACHE_CHECK_SECONDS`` of the commit (403
    ``tenant_inactive``); the bootstrap admin still acts on it."""
    stored = Tenant.objects.select_for_update().get(id=tenant.id)
    fields = [name for name in dict.fromkeys(changed) if getattr(stored, name) != getattr(tenant, name)]
    if not fields:
        return tenant
    tenant.save(update_fields=fields)
    recorded = [name for name in fields if name in _TENANT_VALUES_RECORDED]
    _audited(
        actor,
        "tenant.update",
        str(tenant.id),
        tenant.id,
        changed=fields,
        old={name: getattr(stored, name) for name in recorded},
        new={name: getattr(tenant, name) for name in recorded},
    )
    if "is_active" in fields:  # its credentials stop (or start) working everywhere
        tenants_changed()
    return tenant


@transaction.atomic(durable=True)
def api_key_create(
    *,
    tenant: Tenant,
    actor: str,
    name: str = "",
    can_read: bool = True,
    can_write: bool = False,
    can_admin: bool = False,
    store_ids: Iterable[uuid.UUID] = (),
    agent_id: uuid.UUID | None = None,
    rate_limit: int | None = None,
    expires_at: datetime | None = None,
    shared_rate_limits: Sequence[tuple[str, int]] = (),
) -> IssuedApiKey:
    """Mint a key for ``tenant``. Returns the key once; only its SHA-256 is stored. Audited
    (``api_key.create``, named by its display prefix, with every right the key holds:
    :func:`_api_key_rights`).

    No scope check here: callers acting for a principal narrow first (``tenants.key_scope``), as
    :func:`agent_api_key_create` does. ``shared_rate_limits``: the budgets of the keys it is
    minted from, which its requests count against too.
    """
    issued = _api_key_insert(
        tenant=tenant,
        name=name,
        can_read=can_read,
        can_write=can_write,
        can_admin=can_admin,
        store_ids=store_ids,
        agent_id=agent_id,
        rate_limit=rate_limit,
        expires_at=expires_at,
        shared_rate_limits=shared_rate_limits,
    )
    api_key = issued.api_key
    _audited(actor, "api_key.create", api_key.display_prefix, tenant.id, **_api_key_rights(api_key))
    return issued


def _credential(api_key: ApiKey) -> str:
    """How the audit log names a key apart from every other: the first 16 hex digits of its hash,
    as the actor of its own requests names it (``api:api_key:<these>``). Its display prefix, the
    row's target, may be shared (a demo tenant's keys share ``ss_00000000`` and one character)."""
    return api_key.key_hash[:16]


def _api_key_rights(api_key: ApiKey) -> dict[str, Any]:
    """What the ``api_key.create`` row records of a new key, as stored (never its hash): its name,
    permissions, store scope (``None``: every store), agent scope, rate limit (``None``: none),
    expiry (``None``: never) and the budgets of the keys it was minted from that its requests
    also count against (``[credential id, limit]``, ADR 0015; ``[]`` for a key no limited key
    minted)."""
    return {
        "credential": _credential(api_key),
        "name": api_key.name,
        "read": api_key.can_read,
        "write": api_key.can_write,
        "admin": api_key.can_admin,
        "stores": [str(store) for store in api_key.store_ids] or None,
        "agent": None if api_key.agent_id is None else str(api_key.agent_id),
        "rate_limit": api_key.rate_limit,
        "expires_at": None if api_key.expires_at is None else api_key.expires_at.isoformat(),
        "shared_rate_limits": [list(budget) for budget in api_key.shared_rate_limits],
    }


def _api_key_insert(
    *,
    tenant: Tenant,
    name: str,
    can_read: bool,
    can_write: bool,
    can_admin: bool,
    store_ids: Iterable[uuid.UUID],
    agent_id: uuid.UUID | None,
    rate_limit: int | None,
    expires_at: datetime | None = None,
    shared_rate_limits: Sequence[tuple[str, int]] = (),
) -> IssuedApiKey:
    """A new key's row (only its hash) and the key itself. Caller holds the transaction and audits.

    A key with no permission, or a rate limit the column cannot hold, is refused (400
    ``invalid_field_value``): the API's readers refuse them first; this guards every other caller.
    """
    if not (can_read or can_write or can_admin):
        raise invalid_field_value("permissions", "must grant at least one of read, write, admin.")
    if rate_limit is not None and not 1 <= rate_limit <= API_KEY_RATE_LIMIT_MAX:
        raise invalid_field_value(
            "rateLimit", f"must be an integer in 1..{API_KEY_RATE_LIMIT_MAX} (requests per minute)."
        )
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
        shared_rate_limits=[list(budget) for budget in shared_rate_limits],
    )
    return IssuedApiKey(api_key=api_key, key=key)


@transaction.atomic(durable=True)
def api_key_revoke(*, api_key: ApiKey, actor: str) -> ApiKey:
    """Deactivate a key. Once committed, every process refuses it within ``HOT_CACHE_CHECK_SECONDS``
    (0.25 s; ``HOT_CACHE_DEGRADED_TTL_SECONDS`` while Redis is unavailable), this one at once.

    Audited (``api_key.revoke``) when it deactivates the key; revoking a revoked key changes
    nothing and records nothing.
    """
    return _api_key_deactivate(api_key=api_key, actor=actor)


def _api_key_deactivate(*, api_key: ApiKey, actor: str) -> ApiKey:
    """:func:`api_key_revoke`'s update and audit row, on the row read under lock (a revocation
    committed since ``api_key`` was read is seen, and not recorded twice). Caller holds the
    transaction."""
    stored = ApiKey.objects.select_for_update().get(key_hash=api_key.key_hash)
    if stored.active:
        stored.active = False
        stored.revoked_at = timezone.now()
        stored.save(update_fields=["active", "revoked_at", "updated_at"])
        _audited(actor, "api_key.revoke", stored.display_prefix, stored.tenant_id, credential=_credential(stored))
    api_keys_changed()
    return stored


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
    actor: str,
    valid_from: datetime | None = None,
    valid_to: datetime | None = None,
    create_missing_tenant: bool = True,
) -> AgentSigningKey:
    """Register an agent's Ed25519 public key; a second registration of the same id is a 409.
    Audited (``agent_key.register``).

    A missing tenant is created, audited as ``tenant.create`` in the same transaction, as the
    reference registers a key for any tenant id (its table has no tenant key): a bootstrap admin
    may provision a new tenant's agents before its first event. With
    ``create_missing_tenant=False`` (the operator admin, whose operators create tenants on their
    own page) a missing tenant is refused (404, ``field`` ``tenant_id``).
    A key that is not a canonical point of Ed25519's prime-order subgroup is refused (400): no
    honest agent holds one, and one of small order verifies forged signatures (ADR 0026). A public
    key revoked in the tenant, under any agent or key id, is refused (409 ``agent_key_revoked``).
    """
    if not 0 <= key_id <= AGENT_KEY_ID_MAX:
        raise invalid_field_value("keyId", f"must be an integer in 0..{AGENT_KEY_ID_MAX}.")
    if not is_usable_public_key(public_key):
        raise InvalidPublicKeyError(
            "publicKey is not an Ed25519 public key an agent can hold: not a canonical point of the"
            " prime-order subgroup (a small-order key would verify forged signatures).",
            field="publicKey",
        )
    _agent_key_tenant_ensure(tenant_id=tenant_id, actor=actor, create=create_missing_tenant)
    if AgentSigningKey.objects.filter(
        tenant_id=tenant_id, public_key=public_key, status=AgentKeyStatus.REVOKED
    ).exists():  # a revoked key (compromised, maybe) does not come back under another id or agent
        raise AgentKeyRevokedMaterialError(
            "This public key was revoked in this tenant; register a new key pair.", field="publicKey"
        )
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
        if getattr(exc.__cause__, "sqlstate", None) != _UNIQUE_VIOLATION:
            raise  # a CHECK (the validity window): not a duplicate
        raise AgentKeyExistsError(
            f"Agent {agent_id} already has key {key_id} in tenant {tenant_id}; revoke it and register a new key id."
        ) from exc
    _audited(actor, "agent_key.register", f"{agent_id}/{key_id}", tenant_id, public_key=public_key.hex())
    agent_keys_changed()  # a cached "not found" must go
    return key


def _agent_key_tenant_ensure(*, tenant_id: uuid.UUID, actor: str, create: bool) -> None:
    """The tenant of a key being registered exists after this: created and audited (``tenant.create``)
    when missing and ``create``, else refused. Caller holds the transaction."""
    if not create:
        if not Tenant.objects.filter(id=tenant_id).exists():
            raise NotFoundError(
                f"Tenant {tenant_id} does not exist: create it on the Tenants page first.", field="tenant_id"
            )
        return
    tenant_ensure(tenant_id=tenant_id, actor=actor, via="agent_key.register")


def tenant_ensure(*, tenant_id: uuid.UUID, actor: str, via: str) -> bool:
    """Create the tenant when missing (a bootstrap admin provisions a new tenant's keys or schemas
    before its first event), audited as ``tenant.create`` naming ``via``, the operation that
    needed it; whether it was created. Caller holds the transaction. (A stream's first write
    creates its tenant in SQL, audited the same way: ``streams/sql/create_stream.sql``.)"""
    name = f"tenant {tenant_id}"
    _, created = Tenant.objects.get_or_create(id=tenant_id, defaults={"name": name})
    if created:
        _audited(actor, "tenant.create", str(tenant_id), tenant_id, name=name, is_active=True, via=via)
    return created


@transaction.atomic(durable=True)
def agent_key_revoke(*, tenant_id: uuid.UUID, agent_id: uuid.UUID, key_id: int, actor: str) -> AgentSigningKey:
    """Revoke a key. Every process drops its cached keys within 0.25 s of the commit (``tenants.key_cache``).

    Audited (``agent_key.revoke``) when it revokes the key; revoking a revoked key changes
    nothing and records nothing (as :func:`api_key_revoke`), and returns it as it is.
    """
    key = (
        AgentSigningKey.objects.select_for_update()
        .filter(tenant_id=tenant_id, agent_id=agent_id, key_id=key_id)
        .first()
    )
    if key is None:
        raise AgentKeyNotFoundError(f"Agent {agent_id} has no key {key_id} in tenant {tenant_id}.")
    if key.status != AgentKeyStatus.REVOKED:
        key.status, key.revoked_at = AgentKeyStatus.REVOKED, timezone.now()
        AgentSigningKey.objects.filter(tenant_id=tenant_id, agent_id=agent_id, key_id=key_id).update(
            status=key.status, revoked_at=key.revoked_at
        )
        _audited(actor, "agent_key.revoke", f"{agent_id}/{key_id}", tenant_id)
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
    actor: str,
    description: str = "",
    store_ids: Iterable[uuid.UUID] = (),
    read_only: bool = False,
    rate_limit: int | None = None,
) -> RegisteredAgent:
    """Create a new tenant and an agent in it with one non-admin key, in one transaction.

    Audited (``agent.register``, naming the new tenant and the key's display prefix).
    """
    tenant = Tenant.objects.create(id=uuid.uuid4(), name=name)
    agent_id = uuid.uuid4()
    issued = _api_key_insert(
        tenant=tenant,
        name=f"{name}: {description}" if description else name,
        can_read=True,
        can_write=not read_only,
        can_admin=False,
        store_ids=store_ids,
        agent_id=agent_id,
        rate_limit=rate_limit,
    )
    api_key = issued.api_key
    _audited(
        actor,
        "agent.register",
        str(agent_id),
        tenant.id,
        name=name,
        api_key=api_key.display_prefix,
        write=not read_only,
    )
    return RegisteredAgent(tenant=tenant, agent_id=agent_id, issued=issued)


def agent_api_key_create(
    *, caller: Principal, requested: RequestedScope, name: str, actor: str, tenant_id: uuid.UUID | None = None
) -> IssuedApiKey:
    """Mint an API key for agent ``requested.agent_id`` in the agent's tenant, never wider than
    ``caller`` (``tenants.key_scope``). Audited (``api_key.create``). The access check reads
    first; the insert and its audit row are :func:`api_key_create`'s transaction.

    403 ``agent_scope_denied`` unless the caller is the agent or an admin of its tenant; 404
    ``agent_not_found`` when the agent has no key visible to the caller or no tenant. ``tenant_id``
    is the tenant the request names (the bootstrap admin's way to name the agent's tenant, and
    to mint a new tenant's first key): :func:`tenants.selectors.agent_api_keys_get_for_caller`.
    """
    agent = selectors.agent_api_keys_get_for_caller(caller=caller, agent_id=requested.agent_id, tenant_id=tenant_id)
    scope = api_key_scope_narrow(caller=caller, requested=requested, tenant_id=agent.tenant_id, now=timezone.now())
    tenant = selectors.tenant_get(tenant_id=scope.tenant_id)
    if tenant is None:  # a JWT may name a tenant that has no row yet
        raise AgentNotFoundError(f"Agent {requested.agent_id} has no tenant.")
    return api_key_create(
        tenant=tenant,
        actor=actor,
        name=name,
        can_read=scope.can_read,
        can_write=scope.can_write,
        can_admin=scope.can_admin,
        store_ids=scope.store_ids,
        agent_id=scope.agent_id,
        rate_limit=scope.rate_limit,
        expires_at=scope.expires_at,
        shared_rate_limits=scope.shared_rate_limits,
    )


@transaction.atomic(durable=True)
def agent_api_key_revoke_by_prefix(
    *, caller: Principal, agent_id: uuid.UUID, key_prefix: str, actor: str, tenant_id: uuid.UUID | None = None
) -> ApiKey:
    """Revoke the one API key of the agent whose hash starts with ``key_prefix`` (lower-case hex),
    as :func:`api_key_revoke`. Audited (``api_key.revoke``).

    Access as :func:`agent_api_key_create`; 404 ``api_key_not_found`` when no key of the agent
    matches, 409 ``key_prefix_ambiguous`` when several do (never "the first match"), 403
    ``permission_widening_denied`` when the key is wider than ``caller`` (more permissions, or
    stores outside a store-scoped caller's: ``tenants.key_scope.api_key_within``).
    """
    agent = selectors.agent_api_keys_get_for_caller(caller=caller, agent_id=agent_id, tenant_id=tenant_id)
    matches = [key for key in (*agent.keys, *agent.wider) if key.key_hash.startswith(key_prefix)]
    if not matches:
        raise ApiKeyNotFoundError(f"Agent {agent_id} has no key whose hash starts with {key_prefix}.")
    if len(matches) > 1:
        raise KeyPrefixAmbiguousError(
            f"{len(matches)} keys of agent {agent_id} start with {key_prefix}; send more of it."
        )
    if matches[0] in agent.wider:
        raise PermissionWideningError(
            "This key is wider than this credential (more permissions, or stores outside its own): it"
            " can only be revoked by a credential that holds all it holds."
        )
    return _api_key_deactivate(api_key=matches[0], actor=actor)


# --- Operator logins (the admin site) ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StaffLogin:
    """A staff login and its new password (shown once, never stored in clear)."""

    username: str
    password: str
    created: bool


@transaction.atomic(durable=True)
def staff_login_reset(*, username: str, actor: str) -> StaffLogin:
    """Create a staff superuser, or reset its password when it exists (and make it an active
    staff superuser: an existing login widened says which flags it changed in its audit row).
    Audited (``staff.create`` or ``staff.reset_password``)."""
    password = secrets.token_urlsafe(12)
    user, created = get_user_model().objects.get_or_create(username=username)
    flags = ("is_staff", "is_superuser", "is_active")
    old = {flag: getattr(user, flag) for flag in flags}
    for flag in flags:
        setattr(user, flag, True)
    user.set_password(password)
    user.save()
    action = "staff.create" if created else "staff.reset_password"
    # An existing login it widened (made a superuser, staff or active again) says so, as the admin's
    # audited changes name their fields (docs/projections.md).
    changed = [] if created else [flag for flag in flags if not old[flag]]
    detail = (
        {"changed": changed, "old": {f: old[f] for f in changed}, "new": {f: True for f in changed}}
        if changed
        else None
    )
    audit_record(actor=actor, action=action, target_type="user", target_id=user.get_username(), detail=detail)
    return StaffLogin(username=user.get_username(), password=password, created=created)
