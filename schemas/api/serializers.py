"""Response shapes of the schema registry (camelCase, as the reference's SchemaResponse).

Timestamps are written as the reference's ``to_rfc3339()`` (``+00:00``, not ``Z``).
"""

from __future__ import annotations

from typing import Any

from schemas.models import EventSchema
from sequencer_project.api.timestamps import chrono_rfc3339


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
        "createdAt": chrono_rfc3339(schema.created_at),
        "updatedAt": chrono_rfc3339(schema.updated_at),
        "createdBy": schema.created_by or None,
    }


def schemas_output(schemas: list[EventSchema], *, limit: int, offset: int) -> dict[str, Any]:
    """A page of versions, the reference's ``{schemas, count}`` (``count``: those on the page);
    ``schemas`` holds up to ``limit + 1`` rows, the one past the page only telling that more follow:
    ``next_offset`` (ours) is where the next page starts, ``None`` on the last page."""
    page = schemas[:limit]
    more = len(schemas) > limit
    return {
        "schemas": [schema_output(s) for s in page],
        "count": len(page),
        "next_offset": offset + limit if more else None,
    }


def registered_output(schema: EventSchema) -> dict[str, Any]:
    """The answer to a registration: the reference's RegisterSchemaResponse."""
    return {
        "id": schema.id,
        "eventType": schema.event_type,
        "version": schema.version,
        "createdAt": chrono_rfc3339(schema.created_at),
    }
