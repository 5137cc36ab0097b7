"""Schema registry endpoints (``docs/schemas.md``). Bodies and responses are camelCase."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response

from audit.services import api_actor
from schemas import errors
from schemas.api import openapi as shapes
from schemas.api.serializers import registered_output, schema_output, schemas_output
from schemas.limits import MAX_DESCRIPTION, MAX_EVENT_TYPE, MAX_VERSION
from schemas.modes import ValidationMode, parse_mode
from schemas.selectors import (
    COMPATIBILITIES,
    LIST_DEFAULT_LIMIT,
    LIST_MAX_LIMIT,
    STATUSES,
    ValidationModeState,
    schema_get_for_tenant_or_404,
    schema_latest_active_get,
    schema_list,
    schema_validate,
    schema_versions_get,
    validation_mode_state_get,
)
from schemas.services import schema_delete, schema_register, schema_status_set, validation_mode_set
from sequencer_project.api.fields import (
    Fields,
    field_value_error,
    invalid_request,
    parse_uuid,
    query_int_optional,
    request_fields,
)
from sequencer_project.api.openapi import QUERIED_TENANT, operation, path_param, path_uuid, query
from sequencer_project.api.paging import Page, query_page
from sequencer_project.api.path_segments import path_segment_text
from sequencer_project.api.principal import Permission
from sequencer_project.api.tenancy import TenantApiMixin

MAX_MODE = 32  # longer than every spelling of a mode
SCHEMA_ID = path_uuid("schema_id")
EVENT_TYPE = path_param("event_type", shapes.EVENT_TYPE)


def _event_type_param(value: str) -> str:
    """The ``event_type`` path parameter, decoded from the segment sent (``schemas.api.urls``):
    400 ``invalid_parameter`` when it could name no schema (empty, too long, NUL, not UTF-8)."""
    return path_segment_text(value, "event_type", MAX_EVENT_TYPE)


def _event_type(fields: Fields) -> str:
    value = fields.text("eventType", max_length=MAX_EVENT_TYPE)
    if not value:
        raise invalid_request("eventType", f"must be a string of 1 to {MAX_EVENT_TYPE} characters.")
    return value


_REFUSE_MODE = field_value_error(errors.InvalidValidationModeError)


def _mode_text(fields: Fields) -> str | None:
    """``mode`` as sent: a string, or null (clear the override); absent or another type is 422
    (a body without ``mode`` had cleared the override as if it said null)."""
    text = fields.member("mode", message="is required: a mode, or null to remove the tenant's override.")
    if text is not None and not isinstance(text, str):
        raise invalid_request("mode", "must be a string.")
    return text


def _mode(text: str | None) -> ValidationMode | None:
    """The mode ``text`` spells (400 ``invalid_validation_mode`` otherwise); ``None`` clears."""
    if text is None:
        return None
    if len(text) > MAX_MODE:
        raise _REFUSE_MODE("mode", f"must be a string of at most {MAX_MODE} characters.")
    mode = parse_mode(text)
    if mode is None:
        raise _REFUSE_MODE("mode", f"{text!r} is not a mode: use disabled, warn, enforce or required.")
    return mode


def _validation_mode_output(state: ValidationModeState) -> dict[str, Any]:
    override = None if state.override is None else state.override.value
    return {"tenantId": state.tenant_id, "mode": state.mode.value, "override": override}


class _SchemaApi(TenantApiMixin):
    def tenant_param(self, request: Request, permission: Permission) -> uuid.UUID:
        """``tenant_id`` from the query (defaults to the credential's tenant), authorised."""
        tenant_id = self.queried_tenant()
        self.principal.check_tenant(tenant_id, permission)
        return tenant_id


class SchemaCollectionApi(_SchemaApi):
    """``GET /api/v1/schemas?tenant_id&limit&offset`` lists a page; ``POST /api/v1/schemas``
    registers the next version."""

    @operation(
        "schemas",
        "schemas_list",
        "A page of the versions of a tenant's schemas (event type, then newest version first)",
        parameters=[QUERIED_TENANT, *shapes.PAGE],
        ok=shapes.SCHEMA_LIST,
    )
    def get(self, request: Request) -> Response:
        tenant_id = self.tenant_param(request, Permission.READ)
        page = query_page(request, default=LIST_DEFAULT_LIMIT, maximum=LIST_MAX_LIMIT)
        schemas, next_offset = page.cut(schema_list(tenant_id=tenant_id, limit=page.rows_to_read, offset=page.offset))
        return Response(schemas_output(schemas, next_offset=next_offset))

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
        principal.refuse_agent_scope("change the tenant's schemas")
        schema = schema_register(
            tenant_id=tenant_id,
            event_type=event_type,
            schema_json=schema_json,
            compatibility=compatibility,
            description=description,
            created_by=str(principal.agent_id or principal.credential_id or ""),
            actor=api_actor(principal),
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
        checked = schema_validate(tenant_id=tenant_id, event_type=event_type, version=version, payload=payload)
        return Response(
            {
                "valid": checked.valid,
                "schemaId": None if checked.schema is None else checked.schema.id,
                "schemaVersion": None if checked.schema is None else checked.schema.version,
                "errors": [{"path": p.path, "message": p.message} for p in checked.errors],
            }
        )


class SchemaDetailApi(_SchemaApi):
    """``GET`` / ``DELETE /api/v1/schemas/{id}`` (delete needs the admin permission)."""

    @operation("schemas", "schemas_get", "One schema version", parameters=[SCHEMA_ID], ok=shapes.SCHEMA)
    def get(self, request: Request, schema_id: str) -> Response:
        parsed = parse_uuid(schema_id, "schema_id")
        schema = schema_get_for_tenant_or_404(tenant_id=self.tenant_scope, schema_id=parsed)
        self.principal.check_tenant(schema.tenant_id, Permission.READ)
        return Response(schema_output(schema))

    @operation(
        "schemas", "schemas_delete", "Remove a schema version (admin)", parameters=[SCHEMA_ID], ok=shapes.SCHEMA_DELETED
    )
    def delete(self, request: Request, schema_id: str) -> Response:
        self.principal.refuse_agent_scope("change the tenant's schemas")
        schema = schema_delete(
            tenant_id=self.tenant_scope,
            schema_id=parse_uuid(schema_id, "schema_id"),
            authorise=partial(self.principal.check_tenant, permission=Permission.ADMIN),
            actor=api_actor(self.principal),
        )
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
        self.principal.refuse_agent_scope("change the tenant's schemas")
        schema = schema_status_set(
            tenant_id=self.tenant_scope,
            schema_id=parse_uuid(schema_id, "schema_id"),
            status=status,
            authorise=partial(self.principal.check_tenant, permission=Permission.WRITE),
            actor=api_actor(self.principal),
        )
        return Response({"success": True, "schema_id": schema.id, "new_status": schema.status})


class SchemaByTypeApi(_SchemaApi):
    """``GET /api/v1/schemas/event-type/{type}?tenant_id&version&limit&offset``: one version, or a
    page of them."""

    @operation(
        "schemas",
        "schemas_by_event_type",
        "A page of an event type's versions (newest first), or one with ?version",
        parameters=[EVENT_TYPE, QUERIED_TENANT, query("version", {"type": "integer", "minimum": 1}), *shapes.PAGE],
        ok={"oneOf": [shapes.SCHEMA_ONE, shapes.SCHEMA_LIST]},
    )
    def get(self, request: Request, event_type: str) -> Response:
        _event_type_param(event_type)
        tenant_id = self.tenant_param(request, Permission.READ)
        version = query_int_optional(request, "version", minimum=1)
        page = (
            query_page(request, default=LIST_DEFAULT_LIMIT, maximum=LIST_MAX_LIMIT) if version is None else Page(1, 0)
        )
        schemas, next_offset = page.cut(
            schema_versions_get(
                tenant_id=tenant_id, event_type=event_type, version=version, limit=page.rows_to_read, offset=page.offset
            )
        )
        if version is not None:
            return Response({"schema": schema_output(schemas[0])})
        return Response(schemas_output(schemas, next_offset=next_offset))


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
        state = validation_mode_state_get(tenant_id=self.tenant_param(request, Permission.READ))
        return Response({**_validation_mode_output(state), "default": state.default.value})

    @operation(
        "schemas",
        "validation_mode_set",
        "Set or clear the tenant's validation mode override (admin)",
        body=shapes.VALIDATION_MODE_SET,
        ok=shapes.VALIDATION_MODE_CHANGED,
    )
    def put(self, request: Request) -> Response:
        fields = request_fields(request)
        tenant_id, text = fields.uuid("tenantId"), _mode_text(fields)  # shapes (422) first
        self.principal.check_tenant(tenant_id, Permission.ADMIN)  # then the caller (403)
        self.principal.refuse_agent_scope("change the tenant's validation mode")
        mode = _mode(text)  # then the value (400)
        state = validation_mode_set(tenant_id=tenant_id, mode=mode, actor=api_actor(self.principal))
        return Response(_validation_mode_output(state))
