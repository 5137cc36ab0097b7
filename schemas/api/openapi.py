"""OpenAPI shapes of the schema registry endpoints (camelCase, as the reference's)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter

from schemas.limits import MAX_DESCRIPTION, MAX_EVENT_TYPE, MAX_VERSION
from schemas.selectors import COMPATIBILITIES, LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT, STATUSES
from sequencer_project.api.openapi import (
    ANY,
    BOOLEAN,
    DATETIME,
    INTEGER,
    STRING,
    SUCCESS_TRUE,
    UUID,
    Schema,
    array,
    nullable,
    obj,
    query,
)

EVENT_TYPE: Schema = {"type": "string", "minLength": 1, "maxLength": MAX_EVENT_TYPE}
MODE: Schema = {"type": "string", "enum": ["disabled", "warn", "enforce", "required"]}

SCHEMA = obj(
    {
        "id": UUID,
        "tenantId": UUID,
        "eventType": STRING,
        "version": INTEGER,
        "schemaJson": ANY,
        "status": {"type": "string", "enum": list(STATUSES)},
        "compatibility": {"type": "string", "enum": list(COMPATIBILITIES)},
        "description": nullable(STRING),
        "createdAt": DATETIME,
        "updatedAt": DATETIME,
        "createdBy": nullable(STRING),
    }
)
SCHEMA_LIST = obj({"schemas": array(SCHEMA), "count": INTEGER, "next_offset": nullable(INTEGER)})
SCHEMA_REGISTER = obj(
    {
        "tenantId": UUID,
        "eventType": EVENT_TYPE,
        "schemaJson": {
            "oneOf": [{"type": "object"}, {"type": "boolean"}],
            "description": "a JSON Schema: an object or a boolean; draft 2020-12 unless its $schema names"
            " draft 3, 4, 6, 7 or 2019-09 (docs/schemas.md)",
        },
        "description": nullable({"type": "string", "maxLength": MAX_DESCRIPTION}),
        "compatibility": nullable({"type": "string", "enum": list(COMPATIBILITIES)}),
    },
    optional=("description", "compatibility"),
)
SCHEMA_REGISTERED = obj({"id": UUID, "eventType": STRING, "version": INTEGER, "createdAt": DATETIME})
SCHEMA_VALIDATE = obj(
    {
        "tenantId": UUID,
        "eventType": EVENT_TYPE,
        "payload": ANY,
        "schemaVersion": nullable({"type": "integer", "minimum": 1, "maximum": MAX_VERSION}),
    },
    optional=("schemaVersion",),
)
VALIDATION_RESULT = obj(
    {
        "valid": BOOLEAN,
        "schemaId": nullable(UUID),
        "schemaVersion": nullable(INTEGER),
        "errors": array(
            obj({"path": {"type": "string", "description": 'JSON Pointer; the root is ""'}, "message": STRING})
        ),
    }
)
SCHEMA_DELETED = obj({"success": SUCCESS_TRUE, "deleted_schema_id": UUID})
SCHEMA_STATUS_SET = obj({"status": {"type": "string", "enum": list(STATUSES)}})
SCHEMA_STATUS_CHANGED = obj({"success": SUCCESS_TRUE, "schema_id": UUID, "new_status": STRING})
SCHEMA_ONE = obj({"schema": SCHEMA})
VALIDATION_MODE = obj({"tenantId": UUID, "mode": MODE, "override": nullable(MODE), "default": MODE})
VALIDATION_MODE_SET = obj(
    {
        "tenantId": UUID,
        "mode": nullable(
            {
                "type": "string",
                "description": "disabled, warn, enforce or required (aliases accepted); null clears the override",
            }
        ),
    }
)
VALIDATION_MODE_CHANGED = obj({"tenantId": UUID, "mode": MODE, "override": nullable(MODE)})

# Ours (the reference's lists take no paging parameter and answer every version): a page of the
# list, in its order (event type, then newest version first); ``count`` is the page's length.
PAGE: list[OpenApiParameter] = [
    query(
        "limit",
        {"type": "integer", "minimum": 1, "default": LIST_DEFAULT_LIMIT},
        f"Versions per page: default {LIST_DEFAULT_LIMIT}, at most {LIST_MAX_LIMIT} (larger values are capped).",
    ),
    query(
        "offset",
        {"type": "integer", "minimum": 0, "default": 0},
        "Skip this many versions of the list's order (event type, then newest version first). Walk "
        "offset=0, limit, 2*limit, ... until a page holds fewer than limit versions.",
    ),
]
