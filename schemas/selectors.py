"""Reads of the schema registry for the API (the ingest hot path uses ``schemas.registry``)."""

from __future__ import annotations

import uuid

from schemas.models import Compatibility, SchemaStatus, TenantSchemaSettings
from schemas.models import EventSchema as EventSchema  # re-exported: views name the row type, never models

STATUSES: tuple[str, ...] = tuple(SchemaStatus.values)
COMPATIBILITIES: tuple[str, ...] = tuple(Compatibility.values)


def schema_get_for_tenant(*, tenant_id: uuid.UUID | None, schema_id: uuid.UUID) -> EventSchema | None:
    """A schema of the caller's tenant (another tenant's reads as ``None``); ``tenant_id`` is
    ``None`` only for the bootstrap admin, who sees every tenant (a read by id alone)."""
    rows = EventSchema.objects.filter(id=schema_id)
    return (rows if tenant_id is None else rows.filter(tenant_id=tenant_id)).first()


def schema_list(*, tenant_id: uuid.UUID, event_type: str | None = None) -> list[EventSchema]:
    rows = EventSchema.objects.filter(tenant_id=tenant_id)
    if event_type is not None:
        rows = rows.filter(event_type=event_type)
    return list(rows.order_by("event_type", "-version"))


def schema_version_get(*, tenant_id: uuid.UUID, event_type: str, version: int) -> EventSchema | None:
    return EventSchema.objects.filter(tenant_id=tenant_id, event_type=event_type, version=version).first()


def schema_latest_active_get(*, tenant_id: uuid.UUID, event_type: str) -> EventSchema | None:
    return (
        EventSchema.objects.filter(tenant_id=tenant_id, event_type=event_type, status=SchemaStatus.ACTIVE)
        .order_by("-version")
        .first()
    )


def tenant_mode_override_get(*, tenant_id: uuid.UUID) -> str | None:
    row = TenantSchemaSettings.objects.filter(tenant_id=tenant_id).first()
    return None if row is None else row.validation_mode
