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
from sequencer_project.api.errors import NotFoundError
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


def test_revoking_with_a_stale_api_key_records_nothing_twice(tenant: Tenant) -> None:
    """The admin's list read the key active, then another operator revoked it: the service reads
    the row under lock, so the second revocation neither rewrites it nor records it."""
    stale = ApiKey.objects.get(tenant=tenant, name="existing")
    api_key_revoke(api_key=ApiKey.objects.get(key_hash=stale.key_hash), actor="admin:first")
    revoked_at = ApiKey.objects.get(key_hash=stale.key_hash).revoked_at

    api_key_revoke(api_key=stale, actor="admin:second")

    assert ApiKey.objects.get(key_hash=stale.key_hash).revoked_at == revoked_at
    assert list(AuditLogEntry.objects.values_list("actor", flat=True)) == ["admin:first"]


def test_revoking_a_revoked_agent_key_records_nothing(tenant: Tenant) -> None:
    first = agent_key_revoke(tenant_id=tenant.id, agent_id=AGENT, key_id=1, actor="admin:first")

    again = agent_key_revoke(tenant_id=tenant.id, agent_id=AGENT, key_id=1, actor="admin:second")

    assert (again.status, again.revoked_at) == ("revoked", first.revoked_at)
    assert list(AuditLogEntry.objects.values_list("action", "actor")) == [("agent_key.revoke", "admin:first")]


@pytest.mark.parametrize(
    ("edit", "old", "new"),
    [
        ({"is_active": False}, {"is_active": True}, {"is_active": False}),
        ({"name": "renamed"}, {"name": "existing"}, {"name": "renamed"}),
    ],
)
def test_a_tenant_update_records_the_old_and_new_values(
    tenant: Tenant, edit: dict[str, object], old: dict[str, object], new: dict[str, object]
) -> None:
    for field, value in edit.items():
        setattr(tenant, field, value)

    tenant_update(tenant=tenant, changed=list(edit), actor="admin:ops")

    entry = AuditLogEntry.objects.get()
    assert (entry.action, entry.detail) == ("tenant.update", {"changed": list(edit), "old": old, "new": new})


def test_deactivating_and_reactivating_a_tenant_are_told_apart(tenant: Tenant) -> None:
    tenant.is_active = False
    tenant_update(tenant=tenant, changed=["is_active"], actor="admin:ops")
    tenant.is_active = True
    tenant_update(tenant=tenant, changed=["is_active"], actor="admin:ops")

    assert [(e["old"], e["new"]) for e in AuditLogEntry.objects.order_by("id").values_list("detail", flat=True)] == [
        ({"is_active": True}, {"is_active": False}),
        ({"is_active": False}, {"is_active": True}),
    ]


def test_a_tenant_update_that_changes_nothing_writes_and_records_nothing(tenant: Tenant) -> None:
    """Fields the form calls changed but whose values equal the stored row's (a save with no edit,
    or an edit another operator already made) are not written and not recorded."""
    stored = Tenant.objects.get(id=tenant.id)

    tenant_update(tenant=tenant, changed=[], actor="admin:ops")
    tenant_update(tenant=tenant, changed=["name", "is_active"], actor="admin:ops")

    assert not AuditLogEntry.objects.exists()
    assert Tenant.objects.get(id=tenant.id).name == stored.name


def test_registering_a_key_for_a_missing_tenant_creates_it_with_its_audit_row(db: None) -> None:
    tenant_id = uuid.uuid4()

    agent_key_register(tenant_id=tenant_id, agent_id=AGENT, key_id=1, public_key=KEY, actor="api:bootstrap")

    assert Tenant.objects.filter(id=tenant_id).exists()
    assert list(AuditLogEntry.objects.order_by("id").values_list("action", "actor", "target_id")) == [
        ("tenant.create", "api:bootstrap", str(tenant_id)),
        ("agent_key.register", "api:bootstrap", f"{AGENT}/1"),
    ]


def test_a_missing_tenant_whose_audit_row_is_refused_is_not_created(db: None) -> None:
    tenant_id = uuid.uuid4()
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_log ADD CONSTRAINT audit_log_refuse CHECK (actor <> 'refused-actor')")

    with pytest.raises(IntegrityError, match="audit_log_refuse"):
        agent_key_register(tenant_id=tenant_id, agent_id=AGENT, key_id=1, public_key=KEY, actor=REFUSED)

    assert not Tenant.objects.filter(id=tenant_id).exists()
    assert not AgentSigningKey.objects.filter(tenant_id=tenant_id).exists()


def test_the_operator_admin_cannot_create_a_tenant_by_registering_a_key(db: None) -> None:
    tenant_id = uuid.uuid4()

    with pytest.raises(NotFoundError, match=f"Tenant {tenant_id} does not exist") as refused:
        agent_key_register(
            tenant_id=tenant_id,
            agent_id=AGENT,
            key_id=1,
            public_key=KEY,
            actor="admin:ops",
            create_missing_tenant=False,
        )

    assert refused.value.extensions["field"] == "tenant_id"
    assert not Tenant.objects.filter(id=tenant_id).exists()
    assert not AuditLogEntry.objects.exists()
