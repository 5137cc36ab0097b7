"""Every write of the schema registry writes its audit row in the transaction of its change
(``docs/schemas.md``, "Audit log"): registering a version, changing its status, deleting it, and
setting or clearing a tenant's validation mode, each naming its actor, tenant and what changed.
A refused or failed change records nothing; a change whose audit row PostgreSQL refuses does not
happen (the test adds a CHECK constraint to ``audit_log``, rolled back with the test).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.db import IntegrityError, connection
from django.test import override_settings
from rest_framework.test import APIClient

from audit.models import AuditLogEntry
from schemas.models import EventSchema, TenantSchemaSettings
from schemas.modes import ValidationMode
from schemas.services import schema_delete, schema_register, schema_status_set, validation_mode_set
from tenants.credentials import api_key_hash
from tests.conftest import Persona, api_client
from tests.schemas.helpers import ORDER_SCHEMA, post_json, register, set_mode
from tests.tenants.factories import issue_key

pytestmark = pytest.mark.django_db

BOOTSTRAP = "api:bootstrap:bootstrap"


def _actor(key: str) -> str:
    """How the audit log names an API key (``audit.services.api_actor``): never the key itself."""
    return f"api:api_key:{api_key_hash(key)[:16]}"


def _rows(
    tenant_id: uuid.UUID, *, exclude: tuple[str, ...] = ("tenant.create", "api_key.create")
) -> list[dict[str, Any]]:
    """The tenant's audit rows in order, leaving out those of the test's setup by default."""
    rows = AuditLogEntry.objects.filter(tenant_id=tenant_id).exclude(action__in=exclude).order_by("id")
    return [dict(row) for row in rows.values("actor", "action", "target_type", "target_id", "detail")]


def _status(client: APIClient, schema_id: str, status: str) -> Any:
    return post_json(client, f"/api/v1/schemas/{schema_id}/status", {"status": status}, "put")


def test_registering_a_version_records_its_event_type_version_and_compatibility(owner: Persona) -> None:
    first = register(owner.client, owner.tenant_id)
    second = register(owner.client, owner.tenant_id, {"type": "string"}, compatibility="none")

    assert (first.status_code, second.status_code) == (200, 200), (first.content, second.content)
    schema = {"actor": _actor(owner.key), "action": "schema.register", "target_type": "schema"}
    assert _rows(owner.tenant_id) == [
        {
            **schema,
            "target_id": first.json()["id"],
            "detail": {"event_type": "order.created", "version": 1, "compatibility": "backward", "status": "active"},
        },
        {
            **schema,
            "target_id": second.json()["id"],
            "detail": {"event_type": "order.created", "version": 2, "compatibility": "none", "status": "active"},
        },
    ]


def test_a_status_change_records_the_old_and_new_status(owner: Persona) -> None:
    schema_id = register(owner.client, owner.tenant_id).json()["id"]
    writer = issue_key(owner.tenant, can_write=True)

    deprecated = _status(api_client(writer), schema_id, "deprecated")
    again = _status(owner.client, schema_id, "deprecated")  # the status it has: nothing changes
    archived = _status(owner.client, schema_id, "archived")

    assert [deprecated.status_code, again.status_code, archived.status_code] == [200, 200, 200]
    assert again.json() == {"success": True, "schema_id": schema_id, "new_status": "deprecated"}
    changes = [row for row in _rows(owner.tenant_id) if row["action"] == "schema.status_set"]
    version = {"event_type": "order.created", "version": 1}
    assert changes == [
        {
            "actor": _actor(writer),
            "action": "schema.status_set",
            "target_type": "schema",
            "target_id": schema_id,
            "detail": {**version, "old": {"status": "active"}, "new": {"status": "deprecated"}},
        },
        {
            "actor": _actor(owner.key),
            "action": "schema.status_set",
            "target_type": "schema",
            "target_id": schema_id,
            "detail": {**version, "old": {"status": "deprecated"}, "new": {"status": "archived"}},
        },
    ]


def test_a_delete_records_the_version_it_removed(owner: Persona, admin_client: APIClient) -> None:
    """The bootstrap admin finds a schema by id alone; the row names the schema's own tenant."""
    schema_id = register(owner.client, owner.tenant_id).json()["id"]
    _status(owner.client, schema_id, "deprecated")

    deleted = admin_client.delete(f"/api/v1/schemas/{schema_id}")

    assert deleted.status_code == 200, deleted.content
    assert not EventSchema.objects.filter(id=schema_id).exists()
    assert _rows(owner.tenant_id)[-1] == {
        "actor": BOOTSTRAP,
        "action": "schema.delete",
        "target_type": "schema",
        "target_id": schema_id,
        "detail": {"event_type": "order.created", "version": 1, "status": "deprecated", "compatibility": "backward"},
    }


@override_settings(SCHEMA_VALIDATION_MODE="enforce")
def test_validation_mode_changes_record_the_old_and_new_override_and_mode(owner: Persona) -> None:
    answers = [
        set_mode(owner.client, owner.tenant_id, "warn"),
        set_mode(owner.client, owner.tenant_id, "warning"),  # the same mode spelt otherwise: no change
        set_mode(owner.client, owner.tenant_id, "strict"),
        set_mode(owner.client, owner.tenant_id, None),
        set_mode(owner.client, owner.tenant_id, None),  # no override to clear: no change
    ]

    assert [answer.status_code for answer in answers] == [200] * 5, [a.content for a in answers]
    assert answers[1].json()["override"] == "warn"
    actor, target = _actor(owner.key), str(owner.tenant_id)
    mode = {"actor": actor, "action": "validation_mode.set", "target_type": "validation_mode", "target_id": target}
    assert _rows(owner.tenant_id) == [
        {
            **mode,
            "detail": {"old": {"override": None, "mode": "enforce"}, "new": {"override": "warn", "mode": "warn"}},
        },
        {
            **mode,
            "detail": {
                "old": {"override": "warn", "mode": "warn"},
                "new": {"override": "required", "mode": "required"},
            },
        },
        {
            **mode,
            "detail": {
                "old": {"override": "required", "mode": "required"},
                "new": {"override": None, "mode": "enforce"},
            },
        },
    ]


def test_a_mode_for_a_new_tenant_records_its_creation_then_the_mode(admin_client: APIClient) -> None:
    tenant_id = uuid.uuid4()

    assert set_mode(admin_client, tenant_id, "disabled").status_code == 200

    assert [(row["actor"], row["action"]) for row in _rows(tenant_id, exclude=())] == [
        (BOOTSTRAP, "tenant.create"),
        (BOOTSTRAP, "validation_mode.set"),
    ]


# --- Refused changes record nothing ------------------------------------------------------------


def _refusals(owner: Persona, member: Persona, outsider: Persona, schema_id: str) -> dict[str, Callable[[], Any]]:
    """Each refused registry write, by the request that makes it, and the status it answers."""
    reader = api_client(issue_key(owner.tenant))
    writer = api_client(issue_key(owner.tenant, can_write=True))
    return {
        "incompatible version (409)": lambda: register(
            owner.client, owner.tenant_id, {**ORDER_SCHEMA, "required": ["total", "currency"]}
        ),
        "invalid schema (400)": lambda: register(owner.client, owner.tenant_id, {"type": "nope"}),
        "register without write (403)": lambda: register(reader, owner.tenant_id, {"type": "object"}),
        "register for another tenant (403)": lambda: register(outsider.client, owner.tenant_id, {"type": "object"}),
        "status without write (403)": lambda: _status(reader, schema_id, "archived"),
        "status of another tenant's schema (404)": lambda: _status(outsider.client, schema_id, "archived"),
        "status that is not one (400)": lambda: _status(owner.client, schema_id, "retired"),
        "status by a store-scoped key (403)": lambda: _status(member.client, schema_id, "archived"),
        "delete without admin (403)": lambda: writer.delete(f"/api/v1/schemas/{schema_id}"),
        "delete another tenant's schema (404)": lambda: outsider.client.delete(f"/api/v1/schemas/{schema_id}"),
        "mode without admin (403)": lambda: set_mode(writer, owner.tenant_id, "disabled"),
        "mode for another tenant (403)": lambda: set_mode(outsider.client, owner.tenant_id, "disabled"),
        "mode that is not one (400)": lambda: set_mode(owner.client, owner.tenant_id, "sometimes"),
    }


def test_a_refused_registry_write_changes_and_records_nothing(
    owner: Persona, member: Persona, outsider: Persona
) -> None:
    schema_id = register(owner.client, owner.tenant_id).json()["id"]
    refusals = _refusals(owner, member, outsider, schema_id)
    rows_before = AuditLogEntry.objects.count()
    schemas_before = list(EventSchema.objects.order_by("id").values("id", "version", "status"))

    answers = {name: refuse().status_code for name, refuse in refusals.items()}

    assert {name: status for name, status in answers.items() if f"({status})" not in name} == {}
    assert AuditLogEntry.objects.count() == rows_before
    assert list(EventSchema.objects.order_by("id").values("id", "version", "status")) == schemas_before
    assert not TenantSchemaSettings.objects.filter(tenant_id=owner.tenant_id).exists()


# --- A change whose audit row is refused does not happen ---------------------------------------

REFUSED = "refused-actor"


def _refuse_the_actor() -> None:
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_log ADD CONSTRAINT audit_log_refuse CHECK (actor <> 'refused-actor')")


def _anyone(tenant_id: uuid.UUID) -> None:
    """An ``authorise`` that lets the caller act on every tenant."""


def _state(tenant_id: uuid.UUID) -> tuple[object, ...]:
    return (
        tuple(EventSchema.objects.filter(tenant_id=tenant_id).order_by("version").values_list("version", "status")),
        tuple(TenantSchemaSettings.objects.filter(tenant_id=tenant_id).values_list("validation_mode", flat=True)),
    )


CHANGES: dict[str, Callable[[uuid.UUID, uuid.UUID], object]] = {
    "register": lambda tenant_id, schema_id: schema_register(
        tenant_id=tenant_id, event_type="order.created", schema_json={"type": "object"}, actor=REFUSED
    ),
    "status": lambda tenant_id, schema_id: schema_status_set(
        tenant_id=tenant_id, schema_id=schema_id, status="archived", authorise=_anyone, actor=REFUSED
    ),
    "delete": lambda tenant_id, schema_id: schema_delete(
        tenant_id=tenant_id, schema_id=schema_id, authorise=_anyone, actor=REFUSED
    ),
    "set mode": lambda tenant_id, schema_id: validation_mode_set(
        tenant_id=tenant_id, mode=ValidationMode.WARN, actor=REFUSED
    ),
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_a_registry_write_whose_audit_row_is_refused_changes_nothing(
    owner: Persona, change: Callable[[uuid.UUID, uuid.UUID], object]
) -> None:
    schema_id = uuid.UUID(register(owner.client, owner.tenant_id).json()["id"])
    before, rows_before = _state(owner.tenant_id), AuditLogEntry.objects.count()
    _refuse_the_actor()

    with pytest.raises(IntegrityError, match="audit_log_refuse"):
        change(owner.tenant_id, schema_id)

    assert _state(owner.tenant_id) == before
    assert AuditLogEntry.objects.count() == rows_before


def test_clearing_a_mode_whose_audit_row_is_refused_keeps_the_mode(owner: Persona) -> None:
    assert set_mode(owner.client, owner.tenant_id, "warn").status_code == 200
    _refuse_the_actor()

    with pytest.raises(IntegrityError, match="audit_log_refuse"):
        validation_mode_set(tenant_id=owner.tenant_id, mode=None, actor=REFUSED)

    assert TenantSchemaSettings.objects.get(tenant_id=owner.tenant_id).validation_mode == "warn"
