"""Response shapes of the schema registry (camelCase, as the reference's SchemaResponse).

Timestamps are written as the reference's ``to_rfc3339()`` (``+00:00``, not ``Z``).
"""

from __future__ import annotations

from collections.abc import Sequence
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


def schemas_output(schemas: Sequence[EventSchema], *, next_offset: int | None) -> dict[str, Any]:
    """A page of versions, the reference's ``{schemas, count}`` (``count``: those on the page),
    and ``next_offset`` (ours: where the next page starts, ``None`` on the last page)."""
    return {"schemas": [schema_output(s) for s in schemas], "count": len(schemas), "next_offset": next_offset}


def registered_output(schema: EventSchema) -> dict[str, Any]:
    """The answer to a registration: the reference's RegisterSchemaResponse."""
    return {
        "id": schema.id,
        "eventType": schema.event_type,
        "version": schema.version,
        "createdAt": chrono_rfc3339(schema.created_at),
    }
