"""The operator audit log: every admin action and admin API action writes one row.

``audit_record`` joins the caller's transaction when there is one (so the change and its
record commit together) and otherwise commits on its own.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction

from audit.models import AuditLogEntry
from sequencer_project.api.principal import Principal


@transaction.atomic
def audit_record(
    *,
    actor: str,
    action: str,
    target_type: str,
    target_id: str,
    tenant_id: uuid.UUID | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditLogEntry:
    """Write who did what to which object. ``actor`` names the user or credential."""
    return AuditLogEntry.objects.create(
        actor=actor[:200],
        action=action[:64],
        target_type=target_type[:64],
        target_id=target_id[:200],
        tenant_id=tenant_id,
        detail=detail or {},
    )


def api_actor(principal: Principal) -> str:
    """How an API credential is named in the audit log (never the secret)."""
    return f"api:{principal.kind}:{principal.credential_id or 'bootstrap-admin'}"
