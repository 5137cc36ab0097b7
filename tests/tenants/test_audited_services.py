"""Every tenancy service writes its audit row in the transaction of its change (``audit.services``).

A refused audit insert is real: the test adds a CHECK constraint to ``audit_log`` that refuses
one actor (rolled back with the test's transaction), so the service's own INSERT fails in
PostgreSQL and the whole change must roll back with it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Hashable
from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection
from django.db.transaction import TransactionManagementError

from audit.models import AuditLogEntry
from audit.services import audit_record
from tenants.models import AgentSigningKey, ApiKey, Tenant
from tenants.services import (
    agent_key_register,
    agent_key_revoke,
    agent_register,
    api_key_create,
    api_key_revoke,
    staff_login_reset,
    tenant_create,
    tenant_update,
)
from tests.tenants.factories import make_tenant
from ves.signing import public_key_from_seed

REFUSED = "refused-actor"
AGENT = uuid.UUID("00000000-0000-4000-8000-00000000a9e1")
KEY = public_key_from_seed(b"\x07" * 32)


@dataclass(frozen=True)
class Case:
    """One audited service: the change it makes (given the actor) and the state that change moves."""

    action: str
    change: Callable[[Tenant, str], object]
    state: Callable[[Tenant], Hashable]


def _rename(tenant: Tenant, actor: str) -> None:
    tenant.name = "renamed"
    tenant_update(tenant=tenant, changed=["name"], actor=actor)


def _revoke_api_key(tenant: Tenant, actor: str) -> None:
    api_key_revoke(api_key=ApiKey.objects.get(tenant=tenant, name="existing"), actor=actor)


def _revoke_agent_key(tenant: Tenant, actor: str) -> None:
    agent_key_revoke(tenant_id=tenant.id, agent_id=AGENT, key_id=1, actor=actor)


CASES = {
    "tenant_create": Case(
        "tenant.create",
        lambda tenant, actor: tenant_create(name="created", actor=actor),
        lambda tenant: Tenant.objects.filter(name="created").count(),
    ),
    "tenant_update": Case(
        "tenant.update", _rename, lambda tenant: Tenant.objects.values_list("name", flat=True).get(id=tenant.id)
    ),
    "api_key_create": Case(
        "api_key.create",
        lambda tenant, actor: api_key_create(tenant=tenant, name="minted", actor=actor),
        lambda tenant: ApiKey.objects.filter(tenant=tenant, name="minted").count(),
    ),
    "api_key_revoke": Case(
        "api_key.revoke",
        _revoke_api_key,
        lambda tenant: ApiKey.objects.values_list("active", flat=True).get(tenant=tenant, name="existing"),
    ),
    "agent_key_register": Case(
        "agent_key.register",
        lambda tenant, actor: agent_key_register(
            tenant_id=tenant.id, agent_id=AGENT, key_id=2, public_key=KEY, actor=actor
        ),
        lambda tenant: AgentSigningKey.objects.filter(tenant_id=tenant.id, key_id=2).count(),
    ),
    "agent_key_revoke": Case(
        "agent_key.revoke",
        _revoke_agent_key,
        lambda tenant: AgentSigningKey.objects.values_list("status", flat=True).get(tenant_id=tenant.id, key_id=1),
    ),
    "agent_register": Case(
        "agent.register",
        lambda tenant, actor: agent_register(name="self-registered", actor=actor),
        lambda tenant: (
            Tenant.objects.filter(name="self-registered").count(),
            ApiKey.objects.filter(name="self-registered").count(),
        ),
    ),
    "staff_login_reset": Case(
        "staff.create",
        lambda tenant, actor: staff_login_reset(username="ops-on-call", actor=actor),
        lambda tenant: get_user_model().objects.filter(username="ops-on-call").count(),
    ),
}


@pytest.fixture
def tenant(db: None) -> Tenant:
    """A tenant with one active API key and one active agent signing key (for the revocations)."""
    tenant = make_tenant(name="existing")
    api_key_create(tenant=tenant, name="existing", actor="setup")
    agent_key_register(tenant_id=tenant.id, agent_id=AGENT, key_id=1, public_key=KEY, actor="setup")
    AuditLogEntry.objects.all().delete()
    return tenant


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_change_writes_exactly_one_audit_row_naming_its_actor(tenant: Tenant, case: Case) -> None:
    before = case.state(tenant)

    case.change(tenant, "admin:auditor")

    assert case.state(tenant) != before
    assert list(AuditLogEntry.objects.values_list("action", "actor")) == [(case.action, "admin:auditor")]


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_change_whose_audit_row_is_refused_changes_nothing(tenant: Tenant, case: Case) -> None:
    before = case.state(tenant)
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_log ADD CONSTRAINT audit_log_refuse CHECK (actor <> 'refused-actor')")

    with pytest.raises(IntegrityError, match="audit_log_refuse"):
        case.change(tenant, REFUSED)

    tenant.refresh_from_db()
    assert case.state(tenant) == before
    assert not AuditLogEntry.objects.exists()


def test_revoking_a_revoked_api_key_records_nothing(tenant: Tenant) -> None:
    api_key = ApiKey.objects.get(tenant=tenant, name="existing")
    api_key_revoke(api_key=api_key, actor="admin:first")

    api_key_revoke(api_key=ApiKey.objects.get(key_hash=api_key.key_hash), actor="admin:second")

    assert list(AuditLogEntry.objects.values_list("actor", flat=True)) == ["admin:first"]


@pytest.mark.django_db(transaction=True)
def test_an_audit_row_outside_a_transaction_is_refused() -> None:
    with pytest.raises(TransactionManagementError):
        audit_record(actor="cli:nobody", action="tenant.update", target_type="tenant", target_id="t")

    assert not AuditLogEntry.objects.exists()
