"""Response shapes of the schema registry (camelCase, as the reference's SchemaResponse)."""

from __future__ import annotations

from typing import Any

from schemas.models import EventSchema


def schema_output(schema: EventSchema) -> dict[str, Any]:
    return {
        "id": schema.id,
        "tenantId": schema.tenant_id,
        "eventType": schema.event_type,
        "version": schema.version,
        "schemaJson": schema.schema_json,
        "status": schema.status,
        "compatibility": schema.compatibility,
        "description": schema.description or None,
        "createdAt": schema.created_at,
        "updatedAt": schema.updated_at,
        "createdBy": schema.created_by or None,
    }


def schemas_output(schemas: list[EventSchema]) -> dict[str, Any]:
    return {"schemas": [schema_output(s) for s in schemas], "count": len(schemas)}
