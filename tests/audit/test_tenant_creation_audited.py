"""A tenant made on the way by another operation (a stream's first write, a schema, a validation
mode, an agent key) gets its ``tenant.create`` audit row in that operation's transaction, once."""

from __future__ import annotations

import uuid

import pytest
from rest_framework.test import APIClient

from audit.models import AuditLogEntry
from tenants.models import Tenant
from tests.conftest import IngestPoster, legacy_event

pytestmark = pytest.mark.django_db


def _creations(tenant_id: uuid.UUID) -> list[AuditLogEntry]:
    return list(AuditLogEntry.objects.filter(action="tenant.create", tenant_id=tenant_id))


def test_a_first_write_to_a_new_tenant_records_its_creation_once(
    admin_client: APIClient, post_ingest: IngestPoster
) -> None:
    tenant_id, store, other_store = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

    for target in (store, store, other_store):
        answer = post_ingest(admin_client, {"events": [legacy_event(tenant_id, target)]})
        assert answer.status_code == 200, answer.content

    assert Tenant.objects.filter(id=tenant_id).exists()
    [row] = _creations(tenant_id)
    assert row.actor == "api:bootstrap:bootstrap"  # the credential that wrote first
    assert row.target_id == str(tenant_id)
    assert row.detail == {
        "name": f"tenant {tenant_id}",
        "is_active": True,
        "via": "first write",
        "store_id": str(store),
        "stream_kind": 1,
    }


def test_a_schema_or_a_validation_mode_for_a_new_tenant_records_its_creation(admin_client: APIClient) -> None:
    by_schema, by_mode = uuid.uuid4(), uuid.uuid4()

    registered = admin_client.post(
        "/api/v1/schemas",
        {"tenantId": str(by_schema), "eventType": "order.created", "schemaJson": {"type": "object"}},
        format="json",
    )
    moded = admin_client.put(
        "/api/v1/schemas/validation-mode", {"tenantId": str(by_mode), "mode": "strict"}, format="json"
    )

    assert registered.status_code == 200, registered.content
    assert moded.status_code == 200, moded.content
    [schema_row] = _creations(by_schema)
    [mode_row] = _creations(by_mode)
    assert schema_row.detail["via"] == "schema.register"
    assert mode_row.detail["via"] == "schema.validation_mode_set"
    assert schema_row.actor.startswith("api:")
    assert mode_row.actor == schema_row.actor  # the bootstrap admin, named the same way
