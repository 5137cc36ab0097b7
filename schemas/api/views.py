"""Schema registry endpoints (``docs/schemas.md``). Bodies and responses are camelCase."""

from __future__ import annotations

import uuid
from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response

from schemas import errors
from schemas.api import openapi as shapes
from schemas.api.serializers import registered_output, schema_output, schemas_output
from schemas.limits import MAX_DESCRIPTION, MAX_EVENT_TYPE
from schemas.modes import parse_mode
from schemas.registry import build_validator, global_mode, validate_payload
from schemas.selectors import (
    COMPATIBILITIES,
    STATUSES,
    EventSchema,
    schema_get_for_tenant,
    schema_latest_active_get,
    schema_list,
    schema_version_get,
    tenant_mode_override_get,
)
from schemas.services import schema_delete, schema_register, schema_status_set, validation_mode_set
from sequencer_project.api.fields import Fields, invalid_request, request_fields
from sequencer_project.api.openapi import QUERIED_TENANT, operation, path_param, path_uuid, query
from sequencer_project.api.principal import Permission
from sequencer_project.api.tenancy import (
    TenantApiMixin,
    parse_uuid,
    path_text,
    query_int,
)

MAX_VERSION = 2**31 - 1  # schema versions are PostgreSQL integers
SCHEMA_ID = path_uuid("schema_id")
EVENT_TYPE = path_param("event_type", shapes.EVENT_TYPE)


def _event_type_param(value: str) -> str:
    """The ``event_type`` path parameter: 400 ``invalid_parameter`` when it could name no schema."""
    return path_text(value, "event_type", MAX_EVENT_TYPE)


def _event_type(fields: Fields) -> str:
    value = fields.text("eventType", max_length=MAX_EVENT_TYPE)
    if not value:
        raise invalid_request("eventType", f"must be a string of 1 to {MAX_EVENT_TYPE} characters.")
    return value


def _schema_version(tenant_id: uuid.UUID, event_type: str, version: int) -> EventSchema:
    """One version of the event type's schema; 404 ``schema_not_found`` when there is none
    (where the reference's validate endpoint answers 500)."""
    schema = schema_version_get(tenant_id=tenant_id, event_type=event_type, version=version)
    if schema is None:
        raise errors.SchemaNotFoundError(f"No version {version} of {event_type!r}.")
    return schema


def _validation_mode_output(tenant_id: uuid.UUID) -> dict[str, Any]:
    """The tenant's effective mode: its override, else the global one."""
    override = tenant_mode_override_get(tenant_id=tenant_id)
    return {"tenantId": tenant_id, "mode": override or global_mode().value, "override": override}


class _SchemaApi(TenantApiMixin):
    def tenant_param(self, request: Request, permission: Permission) -> uuid.UUID:
        """``tenant_id`` from the query (defaults to the credential's tenant), authorised."""
        tenant_id = self.queried_tenant()
        self.principal.check_tenant(tenant_id, permission)
        return tenant_id

    def schema_or_404(self, schema_id: str, permission: Permission) -> EventSchema:
        parsed = parse_uuid(schema_id, "schema_id")
        schema = schema_get_for_tenant(tenant_id=self.principal.tenant_id, schema_id=parsed)
        if schema is None or not self.visible(schema.tenant_id, None):
            raise errors.SchemaNotFoundError(f"No schema {parsed} is visible to this credential.")
        self.principal.check_tenant(schema.tenant_id, permission)
        return schema


class SchemaCollectionApi(_SchemaApi):
    """``GET /api/v1/schemas?tenant_id`` lists; ``POST /api/v1/schemas`` registers the next version."""

    @operation("schemas", "schemas_list", "All schemas of a tenant", parameters=[QUERIED_TENANT], ok=shapes.SCHEMA_LIST)
    def get(self, request: Request) -> Response:
        tenant_id = self.tenant_param(request, Permission.READ)
        return Response(schemas_output(schema_list(tenant_id=tenant_id)))

    @operation(
        "schemas",
        "schemas_register",
        "Register the next version of an event type's schema",
        body=shapes.SCHEMA_REGISTER,
        ok=shapes.SCHEMA_REGISTERED,
    )
    def post(self, request: Request) -> Response:
        fields = request_fields(request)
        tenant_id = fields.uuid("tenantId")
        event_type = _event_type(fields)
        schema_json = fields.member("schemaJson")
        description = fields.text("description", max_length=MAX_DESCRIPTION, required=False)
        compatibility = fields.choice("compatibility", COMPATIBILITIES, default="backward")
        principal = self.principal
        principal.check_tenant(tenant_id, Permission.WRITE)
        schema = schema_register(
            tenant_id=tenant_id,
            event_type=event_type,
            schema_json=schema_json,
            compatibility=compatibility,
            description=description,
            created_by=str(principal.agent_id or principal.credential_id or ""),
        )
        return Response(registered_output(schema))  # 200, as the reference (its clients check for 200)


class SchemaValidateApi(_SchemaApi):
    """``POST /api/v1/schemas/validate``: check a payload against a version (latest active by default)."""

    @operation(
        "schemas",
        "schemas_validate",
        "Validate a payload against a schema version (latest active by default)",
        body=shapes.SCHEMA_VALIDATE,
        ok=shapes.VALIDATION_RESULT,
    )
    def post(self, request: Request) -> Response:
        fields = request_fields(request)
        tenant_id = fields.uuid("tenantId")
        event_type = _event_type(fields)
        payload = fields.member("payload")
        version = fields.optional_integer("schemaVersion", minimum=1, maximum=MAX_VERSION)
        self.principal.check_tenant(tenant_id, Permission.READ)
        schema = (
            schema_latest_active_get(tenant_id=tenant_id, event_type=event_type)
            if version is None
            else _schema_version(tenant_id, event_type, version)
        )
        if schema is None:
            # As the reference: no active schema means nothing to check, so the payload is valid.
            return Response({"valid": True, "schemaId": None, "schemaVersion": None, "errors": []})
        problems = validate_payload(build_validator(schema.schema_json), payload)
        return Response(
            {
                "valid": not problems,
                "schemaId": schema.id,
                "schemaVersion": schema.version,
                "errors": [{"path": p.path, "message": p.message} for p in problems],
            }
        )


class SchemaDetailApi(_SchemaApi):
    """``GET`` / ``DELETE /api/v1/schemas/{id}`` (delete needs the admin permission)."""

    @operation("schemas", "schemas_get", "One schema version", parameters=[SCHEMA_ID], ok=shapes.SCHEMA)
    def get(self, request: Request, schema_id: str) -> Response:
        return Response(schema_output(self.schema_or_404(schema_id, Permission.READ)))

    @operation(
        "schemas", "schemas_delete", "Remove a schema version (admin)", parameters=[SCHEMA_ID], ok=shapes.SCHEMA_DELETED
    )
    def delete(self, request: Request, schema_id: str) -> Response:
        schema = self.schema_or_404(schema_id, Permission.ADMIN)
        schema_delete(schema=schema)
        return Response({"success": True, "deleted_schema_id": schema.id})


class SchemaStatusApi(_SchemaApi):
    """``PUT /api/v1/schemas/{id}/status``: ``{status: active|deprecated|archived}``."""

    @operation(
        "schemas",
        "schemas_status_set",
        "Set a schema version's status",
        body=shapes.SCHEMA_STATUS_SET,
        parameters=[SCHEMA_ID],
        ok=shapes.SCHEMA_STATUS_CHANGED,
    )
    def put(self, request: Request, schema_id: str) -> Response:
        status = request_fields(request).choice("status", STATUSES)
        schema = schema_status_set(schema=self.schema_or_404(schema_id, Permission.WRITE), status=status)
        return Response({"success": True, "schema_id": schema.id, "new_status": schema.status})


class SchemaByTypeApi(_SchemaApi):
    """``GET /api/v1/schemas/event-type/{type}?tenant_id&version``: one version or all of them."""

    @operation(
        "schemas",
        "schemas_by_event_type",
        "All versions of an event type's schema, or one with ?version",
        parameters=[EVENT_TYPE, QUERIED_TENANT, query("version", {"type": "integer", "minimum": 1})],
        ok={"oneOf": [shapes.SCHEMA_ONE, shapes.SCHEMA_LIST]},
    )
    def get(self, request: Request, event_type: str) -> Response:
        _event_type_param(event_type)
        tenant_id = self.tenant_param(request, Permission.READ)
        if request.query_params.get("version"):
            version = query_int(request, "version", default=1, minimum=1)
            return Response({"schema": schema_output(_schema_version(tenant_id, event_type, version))})
        return Response(schemas_output(schema_list(tenant_id=tenant_id, event_type=event_type)))


class SchemaLatestApi(_SchemaApi):
    """``GET /api/v1/schemas/event-type/{type}/latest?tenant_id``: the latest active version."""

    @operation(
        "schemas",
        "schemas_latest",
        "The latest active version of an event type's schema",
        parameters=[EVENT_TYPE, QUERIED_TENANT],
        ok=shapes.SCHEMA,
    )
    def get(self, request: Request, event_type: str) -> Response:
        _event_type_param(event_type)
        tenant_id = self.tenant_param(request, Permission.READ)
        schema = schema_latest_active_get(tenant_id=tenant_id, event_type=event_type)
        if schema is None:
            raise errors.SchemaNotFoundError(f"No active schema for {event_type!r}.")
        return Response(schema_output(schema))


class ValidationModeApi(_SchemaApi):
    """``GET`` / ``PUT /api/v1/schemas/validation-mode?tenant_id``: the tenant's mode override."""

    @operation(
        "schemas",
        "validation_mode_get",
        "The tenant's validation mode",
        parameters=[QUERIED_TENANT],
        ok=shapes.VALIDATION_MODE,
    )
    def get(self, request: Request) -> Response:
        tenant_id = self.tenant_param(request, Permission.READ)
        return Response({**_validation_mode_output(tenant_id), "default": global_mode().value})

    @operation(
        "schemas",
        "validation_mode_set",
        "Set or clear the tenant's validation mode override (admin)",
        body=shapes.VALIDATION_MODE_SET,
        ok=shapes.VALIDATION_MODE_CHANGED,
    )
    def put(self, request: Request) -> Response:
        fields = request_fields(request)
        tenant_id = fields.uuid("tenantId")
        raw = fields.raw("mode")
        self.principal.check_tenant(tenant_id, Permission.ADMIN)
        if raw is None:
            validation_mode_set(tenant_id=tenant_id, mode=None)
        else:
            mode = parse_mode(raw) if isinstance(raw, str) else None
            if mode is None:
                raise errors.InvalidValidationModeError(
                    f"Unknown mode {raw!r}: use disabled, warn, enforce or required.", field="mode"
                )
            validation_mode_set(tenant_id=tenant_id, mode=mode)
        return Response(_validation_mode_output(tenant_id))
