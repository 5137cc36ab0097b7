"""The operator audit log: every audited change writes one row, in the change's own transaction.

The services that change audited state (tenants, API keys, agent signing keys, dead letters,
operator logins, staff users and groups) take the ``actor`` and call :func:`audit_record` inside their
``transaction.atomic(durable=True)``, so a change and its record commit together or not at all.
Callers (views, admin actions, management commands) never write audit rows themselves.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.contrib.sessions.models import Session
from django.db import connection, connections, transaction
from django.db.transaction import TransactionManagementError
from django.http import HttpRequest
from django.utils import timezone

from audit.models import AuditLogEntry
from sequencer_project.api.principal import Principal


def audit_record(
    *,
    actor: str,
    action: str,
    target_type: str,
    target_id: str,
    tenant_id: uuid.UUID | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditLogEntry:
    """Write who did what to which object. ``actor`` names the user or credential.

    Caller holds the transaction of the change it records: outside one this raises
    ``TransactionManagementError`` rather than commit a record apart from its change.
    """
    if not connection.in_atomic_block:
        raise TransactionManagementError("audit_record runs inside the transaction of the change it records.")
    return AuditLogEntry.objects.create(
        actor=actor[:200],
        action=action[:64],
        target_type=target_type[:64],
        target_id=target_id[:200],
        tenant_id=tenant_id,
        detail=detail or {},
    )


def staff_change_record(*, actor: str, verb: str, target: Any, message: Any) -> AuditLogEntry:
    """The audit row of a change to a staff user or group made in the admin (``user.create``,
    ``group.update``, ...): what Django's admin log says changed, never a password. Caller holds
    the change's transaction."""
    kind = target._meta.model_name
    detail: dict[str, Any] = {"name": str(target)}
    if isinstance(message, list):  # Django's structured change message: the fields, never values
        changed = sorted({field for entry in message for field in entry.get("changed", {}).get("fields", [])})
        if changed:
            detail["changed"] = changed
    if kind == "user":
        detail.update(staff=bool(target.is_staff), superuser=bool(target.is_superuser), active=bool(target.is_active))
    return audit_record(actor=actor, action=f"{kind}.{verb}", target_type=kind, target_id=str(target.pk), detail=detail)


def admin_actor(request: HttpRequest) -> str:
    """How an operator of the Django admin is named in the audit log."""
    return f"admin:{request.user.get_username()}"


def cli_actor(command: str) -> str:
    """How a management command is named in the audit log (``cli:createsuperuser``)."""
    return f"cli:{command}"


@contextmanager
def interactive_transaction(using: str) -> Iterator[None]:
    """A transaction that waits on an operator's prompts: the audit row commits with the change,
    and the server's idle-in-transaction timeout (``DB_IDLE_IN_TX_TIMEOUT_MS``, meant for
    requests and tasks) does not end it while the operator types. It holds no row locks until the
    change is saved, so waiting on a prompt blocks nothing but DDL on the tables it has read."""
    with transaction.atomic(using=using):
        with connections[using].cursor() as cursor:
            cursor.execute("SET LOCAL idle_in_transaction_session_timeout = 0")
        yield


def api_actor(principal: Principal) -> str:
    """How an API credential is named in the audit log (never the secret)."""
    return f"api:{principal.kind}:{principal.credential_id or 'bootstrap-admin'}"


def expired_sessions_delete() -> int:
    """The admin's sessions past their expiry (``django_session.expire_date``, indexed) removed; how
    many. Django's ``clearsessions`` command, as a service the beat job ``audit.sessions_prune`` runs."""
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return deleted
