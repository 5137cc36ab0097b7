"""A model of the minting rule, written apart from ``tenants/key_scope.py``: what a caller may give.

Both key-scope properties (pure and over HTTP) judge the code by it.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sequencer_project.api.principal import Permission, Principal
from tenants.key_scope import KeyScope, RequestedScope
from tenants.models import ApiKey


def as_principal(key: KeyScope | ApiKey) -> Principal:
    """What a key (a computed scope or a stored row) can do, as the access rules see it."""
    return Principal(
        tenant_id=key.tenant_id,
        can_read=key.can_read,
        can_write=key.can_write,
        can_admin=key.can_admin,
        store_ids=frozenset(key.store_ids),
        agent_id=key.agent_id,
        rate_limit=key.rate_limit,
        expires_at=key.expires_at,
    )


def permissions(principal: Principal) -> frozenset[Permission]:
    return frozenset(p for p in Permission if principal.has(p))


def wider_than(key: Principal, caller: Principal) -> list[str]:
    """The dimensions in which ``key`` can do more than ``caller`` (empty: it is within)."""
    wider = []
    if not permissions(key) <= permissions(caller):
        wider.append("permissions")
    if not caller.is_superadmin and key.tenant_id != caller.tenant_id:
        wider.append("tenant")
    if caller.agent_id is not None and key.agent_id != caller.agent_id:
        wider.append("agent")
    if caller.store_ids and not (key.store_ids and key.store_ids <= caller.store_ids):
        wider.append("stores")
    if caller.rate_limit is not None and (key.rate_limit is None or key.rate_limit > caller.rate_limit):
        wider.append("rate_limit")
    if caller.expires_at is not None and (key.expires_at is None or key.expires_at > caller.expires_at):
        wider.append("expiry")
    return wider


def not_as_asked(key: Principal, requested: RequestedScope, caller: Principal) -> list[str]:
    """Where ``key`` differs from the request (an omitted dimension asks for the caller's)."""
    differs = []
    if key.agent_id != requested.agent_id:
        differs.append("agent")
    if key.can_admin != bool(requested.admin):
        differs.append("admin")
    wants_write = caller.has(Permission.WRITE) if requested.read_only is None else not requested.read_only
    if key.has(Permission.WRITE) != wants_write:
        differs.append("write")
    if key.has(Permission.READ) != caller.has(Permission.READ):
        differs.append("read")
    asked = [
        ("stores", key.store_ids, requested.store_ids, caller.store_ids),
        ("rate_limit", key.rate_limit, requested.rate_limit, caller.rate_limit),
        ("expiry", key.expires_at, requested.expires_at, caller.expires_at),
    ]
    differs += [name for name, got, wanted, inherited in asked if got != (inherited if wanted is None else wanted)]
    return differs


def refusals(caller: Principal, requested: RequestedScope, tenant_id: uuid.UUID, now: datetime) -> set[str]:
    """Every code the request may be refused with; empty when it must be served."""
    codes = set()
    if caller.agent_id not in (None, requested.agent_id) or (caller.agent_id is None and not caller.can_admin):
        codes.add("agent_scope_denied")
    if not caller.is_superadmin and caller.tenant_id != tenant_id:
        codes.add("tenant_access_denied")
    if requested.admin and requested.read_only:
        codes.add("invalid_request")
    stores, rate, expiry = requested.store_ids, requested.rate_limit, requested.expires_at
    if (
        (requested.admin and not caller.can_admin)
        or (requested.read_only is False and not caller.has(Permission.WRITE))
        or (requested.read_only is True and not caller.has(Permission.READ))
        or (stores is not None and caller.store_ids and not (stores and stores <= caller.store_ids))
        or (rate is not None and caller.rate_limit is not None and rate > caller.rate_limit)
        or (expiry is not None and caller.expires_at is not None and expiry > caller.expires_at)
    ):
        codes.add("permission_widening_denied")
    effective_expiry = caller.expires_at if expiry is None else expiry
    if effective_expiry is not None and effective_expiry <= now:
        codes.add("key_expiry_in_past")
    return codes
