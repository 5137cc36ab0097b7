"""What a minted API key may hold: never more than its caller, in any dimension (ADR 0015).

``api_key_scope_narrow`` is the one place that decides it, for every caller alike (tenant admin,
store- or agent-scoped admin, read or write key, JWT, the bootstrap admin). It is pure: no
database, no clock of its own (``now`` is passed in), so it is tested as a property
(``tests/tenants/test_key_scope.py``) and over HTTP (``tests/tenants/test_minted_key_scope_api.py``).

| dimension | omitted | refused (403 ``permission_widening_denied`` unless noted) |
|---|---|---|
| agent | (in the path) | not an agent-scoped caller's own; any, for a non-admin (``agent_scope_denied``) |
| tenant | the agent's tenant | not the caller's (``tenant_access_denied``); the bootstrap admin: any |
| read | the caller's read | ``readOnly: true`` without read (the key would hold nothing) |
| write | the caller's write | ``readOnly: false`` without write |
| admin | no admin | ``admin: true`` without admin; with ``readOnly: true`` (422: an admin key can write) |
| stores | the caller's stores | ``[]`` (all) or any store outside the caller's, when the caller is store-scoped |
| rate limit | the caller's | above the caller's; a caller with a limit shares its budget with the key |
| expiry | the caller's | after the caller's; in the past (400 ``key_expiry_in_past``) |

``api_key_within`` holds keys that exist to the same rule, in tenant, agent, permissions and
stores: a caller lists and revokes only keys no wider than itself.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sequencer_project.api.errors import AgentScopeDeniedError, InvalidRequestError, TenantAccessDeniedError
from sequencer_project.api.principal import Permission, Principal
from tenants.errors import KeyExpiryInPastError, KeyLineageTooDeepError, PermissionWideningError

MINTED_RATE_LIMITS_MAX = 8  # one Redis counter each per request (one round trip for all)


@dataclass(frozen=True, slots=True)
class RequestedScope:
    """A mint request: the target agent, and ``None`` for every dimension the caller leaves to us."""

    agent_id: uuid.UUID
    read_only: bool | None = None
    admin: bool | None = None
    store_ids: frozenset[uuid.UUID] | None = None
    rate_limit: int | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class KeyScope:
    """Everything a new key holds. ``store_ids`` empty: every store; ``None`` limits: none."""

    tenant_id: uuid.UUID
    agent_id: uuid.UUID
    can_read: bool
    can_write: bool
    can_admin: bool
    store_ids: frozenset[uuid.UUID]
    rate_limit: int | None
    expires_at: datetime | None
    shared_rate_limits: tuple[tuple[str, int], ...] = ()


def agent_access_check(caller: Principal, agent_id: uuid.UUID) -> None:
    """The agent itself, or an admin not scoped to another agent, may act on an agent's keys."""
    if caller.agent_id is not None and caller.agent_id != agent_id:
        raise AgentScopeDeniedError("This credential may only act for its own agent.")
    if caller.agent_id is None and not caller.can_admin:
        raise AgentScopeDeniedError("Only the agent itself or an admin of its tenant may do this.")


def api_key_within(caller: Principal, key: Principal) -> bool:
    """Whether ``key`` (a stored key, as the principal it resolves to) can do nothing ``caller``
    cannot in tenant, agent, permissions (admin included) and stores: the keys ``caller`` may
    list and revoke (``docs/auth.md`` "Agents"). Rate limit and expiry are not compared."""
    return (
        (caller.is_superadmin or key.tenant_id == caller.tenant_id)
        and caller.agent_id in (None, key.agent_id)
        and all(caller.has(permission) for permission in Permission if key.has(permission))
        and _stores_within(caller, key.store_ids)
    )


def api_key_scope_narrow(
    *, caller: Principal, requested: RequestedScope, tenant_id: uuid.UUID, now: datetime
) -> KeyScope:
    """The scope of a key ``caller`` mints for ``requested.agent_id`` of ``tenant_id``.

    Exactly what was asked, each omitted dimension taken from the caller; raises instead of
    returning anything wider than the caller in any dimension (table in the module docstring).
    """
    agent_access_check(caller, requested.agent_id)
    if not caller.is_superadmin and caller.tenant_id != tenant_id:
        raise TenantAccessDeniedError("A key can only be minted in this credential's tenant.")
    can_admin = _admin(caller, requested)
    return KeyScope(
        tenant_id=tenant_id,
        agent_id=requested.agent_id,
        can_read=caller.has(Permission.READ),
        can_write=_write(caller, requested.read_only),
        can_admin=can_admin,
        store_ids=_stores(caller, requested.store_ids),
        rate_limit=_rate_limit(caller, requested.rate_limit),
        expires_at=_expiry(caller, requested.expires_at, now),
        shared_rate_limits=_shared_rate_limits(caller),
    )


def _admin(caller: Principal, requested: RequestedScope) -> bool:
    if not requested.admin:
        return False
    if requested.read_only:
        raise InvalidRequestError(
            "An admin key can write: readOnly and admin cannot both be true.",
            errors={"readOnly": ["Must not be true together with admin."]},
        )
    if not caller.can_admin:
        raise PermissionWideningError("Only an admin credential can mint an admin key.")
    return True


def _write(caller: Principal, read_only: bool | None) -> bool:
    if read_only and not caller.has(Permission.READ):
        raise PermissionWideningError("A credential without read cannot mint a read-only key.")
    can_write = caller.has(Permission.WRITE) if read_only is None else not read_only
    if can_write and not caller.has(Permission.WRITE):
        raise PermissionWideningError("A credential without write can only mint read-only keys.")
    return can_write


def _stores(caller: Principal, wanted: frozenset[uuid.UUID] | None) -> frozenset[uuid.UUID]:
    if wanted is None:
        return caller.store_ids
    if not _stores_within(caller, wanted):
        raise PermissionWideningError("The new key's stores must be a non-empty subset of this credential's stores.")
    return wanted


def _stores_within(caller: Principal, stores: frozenset[uuid.UUID]) -> bool:
    """Whether a key naming ``stores`` (empty: every store) reaches no store ``caller`` cannot: for
    a store-scoped caller, a non-empty subset of its stores (as the admin JSON's SQL counts keys)."""
    return not caller.store_ids or (bool(stores) and stores <= caller.store_ids)


def _rate_limit(caller: Principal, wanted: int | None) -> int | None:
    if wanted is None:
        return caller.rate_limit
    if caller.rate_limit is not None and wanted > caller.rate_limit:
        raise PermissionWideningError(f"The new key's rate limit cannot exceed {caller.rate_limit}.")
    return wanted


def _shared_rate_limits(caller: Principal) -> tuple[tuple[str, int], ...]:
    """The budgets the new key's requests count against besides its own: its caller's, and those
    the caller shares with its own minters. A key's own limit alone would let a key limited to
    N requests mint keys with N each and multiply its rate."""
    shared = caller.shared_rate_limits
    if caller.rate_limit is not None and caller.credential_id:
        shared = (*shared, (caller.credential_id, caller.rate_limit))
    if len(shared) > MINTED_RATE_LIMITS_MAX:
        raise KeyLineageTooDeepError(
            f"A key minted here would count against {len(shared)} rate limits; at most {MINTED_RATE_LIMITS_MAX}."
        )
    return shared


def _expiry(caller: Principal, wanted: datetime | None, now: datetime) -> datetime | None:
    if wanted is not None and wanted <= now:
        raise KeyExpiryInPastError("expiresAt must be in the future.", field="expiresAt")
    if wanted is not None and caller.expires_at is not None and wanted > caller.expires_at:
        raise PermissionWideningError(
            f"The new key cannot outlive this credential, which expires at {caller.expires_at.isoformat()}."
        )
    expires_at = caller.expires_at if wanted is None else wanted
    if expires_at is not None and expires_at <= now:  # a JWT inside its leeway
        raise KeyExpiryInPastError("This credential has expired: a key minted now would never work.")
    return expires_at
