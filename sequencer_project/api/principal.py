"""Who is calling: the resolved credential and the access rules every view applies.

Rules (``docs/auth.md``): the bootstrap admin acts for every tenant; every other principal
acts only inside its tenant and, when its store scope is non-empty, inside those stores.
Each operation needs the read, write or admin permission.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sequencer_project.api import errors


class Permission(enum.Enum):
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller. ``tenant_id`` is ``None`` only for the bootstrap admin.

    ``expires_at`` is the instant the credential stops working (a key's ``expires_at``, a JWT's
    ``exp``); ``None``: never. ``tenant_active`` is false once an operator deactivated the
    tenant: authentication then refuses the credential (403 ``tenant_inactive``).
    """

    tenant_id: uuid.UUID | None
    can_read: bool
    can_write: bool
    can_admin: bool
    store_ids: frozenset[uuid.UUID] = field(default_factory=frozenset)
    agent_id: uuid.UUID | None = None
    rate_limit: int | None = None
    expires_at: datetime | None = None
    credential_id: str = ""
    kind: str = "api_key"
    # The budgets of the keys this one was minted from, (credential id, requests per window), the
    # minter's last: a request counts against each as well as against ``rate_limit`` (ADR 0015).
    shared_rate_limits: tuple[tuple[str, int], ...] = ()
    tenant_active: bool = True

    is_authenticated = True  # DRF/Django treat request.user as logged in

    @property
    def is_superadmin(self) -> bool:
        return self.tenant_id is None and self.can_admin

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def has(self, permission: Permission) -> bool:
        if permission is Permission.READ:
            return self.can_read or self.can_admin
        if permission is Permission.WRITE:
            return self.can_write or self.can_admin
        return self.can_admin

    def require(self, permission: Permission) -> None:
        if not self.has(permission):
            raise errors.PermissionDeniedError(f"This credential lacks the {permission.value} permission.")

    def can_see(self, tenant_id: uuid.UUID, store_id: uuid.UUID | None) -> bool:
        """Whether a resource of this tenant (and store) is visible at all."""
        if self.is_superadmin:
            return True
        if self.tenant_id != tenant_id:
            return False
        return store_id is None or not self.store_ids or store_id in self.store_ids

    def check_stream(self, tenant_id: uuid.UUID, store_id: uuid.UUID | None, permission: Permission) -> None:
        """Authorise an operation on a stream the client named by id (403 when outside scope)."""
        if not self.is_superadmin:
            if self.tenant_id != tenant_id:
                raise errors.TenantAccessDeniedError("This credential cannot access that tenant.")
            if store_id is not None and self.store_ids and store_id not in self.store_ids:
                raise errors.StoreAccessDeniedError("This credential cannot access that store.")
        self.require(permission)

    def check_tenant(self, tenant_id: uuid.UUID, permission: Permission) -> None:
        """Authorise an operation on a tenant-level resource (schemas, agent signing keys).

        Any reader of the tenant may read them; changing them changes every store of the
        tenant, so a store-scoped credential may not (403 ``store_access_denied``).
        """
        self.check_stream(tenant_id, None, permission)
        if permission is not Permission.READ and self.store_ids and not self.is_superadmin:
            raise errors.StoreAccessDeniedError("A store-scoped credential cannot change tenant-wide resources.")

    def check_agent(self, agent_id: uuid.UUID | None) -> None:
        """An agent-scoped credential may act only as its own agent."""
        if self.agent_id is not None and agent_id is not None and agent_id != self.agent_id:
            raise errors.AgentScopeDeniedError("This credential may only act as its own agent.")

    def refuse_agent_scope(self, action: str) -> None:
        """An action over every agent's events (schema registry writes, commitments and anchoring,
        x402 batches, dead-letter retries, the admin JSON): an agent-scoped credential, admin or
        not, acts only as its agent, so it may not (403 ``agent_scope_denied``; docs/auth.md)."""
        if self.agent_id is not None:
            raise errors.AgentScopeDeniedError(
                f"An agent-scoped credential cannot {action}: it acts on every agent's events."
            )

    @property
    def store_scope(self) -> frozenset[uuid.UUID] | None:
        """The stores this credential may read in its tenant: ``None`` for every store (the
        bootstrap admin, or a credential without a store scope), else its ``store_ids``."""
        return None if self.is_superadmin or not self.store_ids else self.store_ids
