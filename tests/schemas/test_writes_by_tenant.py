"""Status changes and deletes of a schema write by ``(tenant_id, id)``, the table's primary key
(docs/scaling.md "When one primary is not enough: Citus"): another tenant's row with the same id
is never touched, and on a distributed PostgreSQL the write goes to one shard."""

from __future__ import annotations

import uuid

from django.db import connection

from schemas.models import EventSchema
from schemas.selectors import schema_get_for_tenant
from schemas.services import schema_delete, schema_status_set
from tests.conftest import Persona
from tests.schemas.helpers import register


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
    mine = schema_get_for_tenant(tenant_id=owner.tenant_id, schema_id=schema_id)
    assert mine is not None

    changed = schema_status_set(schema=mine, status="deprecated")

    assert changed.status == "deprecated"
    assert _status(owner.tenant_id, schema_id) == "deprecated"
    assert _status(outsider.tenant_id, schema_id) == "active"
    assert EventSchema.objects.get(tenant_id=owner.tenant_id, id=schema_id).updated_at == changed.updated_at

    schema_delete(schema=changed)

    assert _status(owner.tenant_id, schema_id) is None
    assert _status(outsider.tenant_id, schema_id) == "active"
