"""Status changes and deletes of a schema write by ``(tenant_id, id)``, the table's primary key
(docs/scaling.md "When one primary is not enough: Citus"): another tenant's row with the same id
is never touched, and on a distributed PostgreSQL the write goes to one shard."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection

from schemas.errors import SchemaNotFoundError
from schemas.models import EventSchema
from schemas.services import Authorise, schema_delete, schema_status_set
from sequencer_project.api.errors import PermissionDeniedError
from sequencer_project.db.tenant_scope import EVERY_TENANT, TenantScope
from tests.conftest import Persona
from tests.schemas.helpers import register


def _any(tenant_id: uuid.UUID) -> None:
    """A caller that may act on every tenant."""


def _twin_in(tenant_id: uuid.UUID, schema_id: uuid.UUID) -> None:
    """A copy of the schema row under ``tenant_id`` with the same id (the key allows it)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO event_schemas (id, tenant_id, event_type, version, schema_json, status, compatibility,"
            " description, created_by, created_at, updated_at)"
            " SELECT id, %s, event_type, version, schema_json, status, compatibility, description, created_by,"
            " created_at, updated_at FROM event_schemas WHERE id = %s",
            [tenant_id, schema_id],
        )


def _status(tenant_id: uuid.UUID, schema_id: uuid.UUID) -> str | None:
    row = EventSchema.objects.filter(tenant_id=tenant_id, id=schema_id).first()
    return None if row is None else row.status


def test_a_status_change_and_a_delete_touch_only_the_callers_row(owner: Persona, outsider: Persona) -> None:
    schema_id = uuid.UUID(register(owner.client, owner.tenant_id).json()["id"])
    _twin_in(outsider.tenant_id, schema_id)
    changed = schema_status_set(
        tenant_id=owner.tenant_id, schema_id=schema_id, status="deprecated", authorise=_any, actor="test"
    )

    assert changed.status == "deprecated"
    assert _status(owner.tenant_id, schema_id) == "deprecated"
    assert _status(outsider.tenant_id, schema_id) == "active"
    assert EventSchema.objects.get(tenant_id=owner.tenant_id, id=schema_id).updated_at == changed.updated_at

    assert schema_delete(tenant_id=owner.tenant_id, schema_id=schema_id, authorise=_any, actor="test").id == schema_id

    assert _status(owner.tenant_id, schema_id) is None
    assert _status(outsider.tenant_id, schema_id) == "active"


def _write(kind: str, tenant_id: TenantScope, schema_id: uuid.UUID, authorise: Authorise) -> object:
    if kind == "status":
        return schema_status_set(
            tenant_id=tenant_id, schema_id=schema_id, status="archived", authorise=authorise, actor="test"
        )
    return schema_delete(tenant_id=tenant_id, schema_id=schema_id, authorise=authorise, actor="test")


@pytest.mark.parametrize("kind", ["status", "delete"])
def test_the_writes_find_the_schema_in_the_callers_tenant_and_authorise_before_writing(
    owner: Persona, outsider: Persona, kind: str
) -> None:
    schema_id = uuid.UUID(register(owner.client, owner.tenant_id).json()["id"])
    with pytest.raises(SchemaNotFoundError):
        _write(kind, outsider.tenant_id, schema_id, _any)
    seen: list[uuid.UUID] = []

    def refuse(tenant_id: uuid.UUID) -> None:
        seen.append(tenant_id)
        raise PermissionDeniedError("no")

    with pytest.raises(PermissionDeniedError):
        _write(kind, EVERY_TENANT, schema_id, refuse)  # the bootstrap admin's read by id alone; the check refuses
    assert seen == [owner.tenant_id]
    assert _status(owner.tenant_id, schema_id) == "active"
