"""Reads of the schema registry for the API (the ingest hot path uses ``schemas.registry``)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import orjson

from schemas import errors
from schemas.models import Compatibility, SchemaStatus, TenantSchemaSettings
from schemas.models import EventSchema as EventSchema  # re-exported: views name the row type, never models
from schemas.modes import ValidationMode
from schemas.registry import SchemaError, build_validator, effective_mode, global_mode, validate_payload
from sequencer_project.db.tenant_scope import TenantScope, tenant_filter

STATUSES: tuple[str, ...] = tuple(SchemaStatus.values)
COMPATIBILITIES: tuple[str, ...] = tuple(Compatibility.values)
# Pages of the lists (``limit``): a version is at most ``SCHEMA_MAX_BYTES`` (100 KiB), so a
# default page is at most ~10 MiB of schemas and the largest ~50 MiB (docs/schemas.md).
LIST_DEFAULT_LIMIT = 100
LIST_MAX_LIMIT = 500


def schema_get_for_tenant(*, tenant_id: TenantScope, schema_id: uuid.UUID) -> EventSchema | None:
    """A schema of the caller's tenant (another tenant's reads as ``None``), or of any tenant for
    ``EVERY_TENANT`` (the bootstrap admin's read by id alone)."""
    return EventSchema.objects.filter(id=schema_id, **tenant_filter(tenant_id)).first()


def schema_get_for_tenant_or_404(*, tenant_id: TenantScope, schema_id: uuid.UUID) -> EventSchema:
    """:func:`schema_get_for_tenant`, or 404 ``schema_not_found``. Schemas belong to no store, so
    the caller's tenant is its whole scope: another tenant's schema is not found."""
    schema = schema_get_for_tenant(tenant_id=tenant_id, schema_id=schema_id)
    if schema is None:
        raise errors.SchemaNotFoundError(f"No schema {schema_id} is visible to this credential.")
    return schema


def schema_list(
    *,
    tenant_id: uuid.UUID,
    event_type: str | None = None,
    limit: int = LIST_DEFAULT_LIMIT,
    offset: int = 0,
) -> list[EventSchema]:
    """At most ``limit`` versions of the tenant's schemas (of ``event_type`` only, when given)
    from ``offset``, in the reference's order: event type, then newest version first. The order
    is total (``(tenant, event_type, version)`` is unique), so consecutive pages neither skip
    nor repeat a version that stays put; ``LIMIT``/``OFFSET`` are the query's."""
    rows = EventSchema.objects.filter(tenant_id=tenant_id)
    if event_type is not None:
        rows = rows.filter(event_type=event_type)
    return list(rows.order_by("event_type", "-version")[offset : offset + limit])


def schema_version_get(*, tenant_id: uuid.UUID, event_type: str, version: int) -> EventSchema | None:
    return EventSchema.objects.filter(tenant_id=tenant_id, event_type=event_type, version=version).first()


def schema_version_get_or_404(*, tenant_id: uuid.UUID, event_type: str, version: int) -> EventSchema:
    """One version of the event type's schema; 404 ``schema_not_found`` when there is none
    (where the reference's validate endpoint answers 500)."""
    schema = schema_version_get(tenant_id=tenant_id, event_type=event_type, version=version)
    if schema is None:
        raise errors.SchemaNotFoundError(f"No version {version} of {event_type!r}.")
    return schema


def schema_versions_get(
    *,
    tenant_id: uuid.UUID,
    event_type: str,
    version: int | None,
    limit: int = LIST_DEFAULT_LIMIT,
    offset: int = 0,
) -> list[EventSchema]:
    """A page of the event type's versions, newest first (:func:`schema_list`); with
    ``version``, that one alone (404 ``schema_not_found`` when there is none)."""
    if version is None:
        return schema_list(tenant_id=tenant_id, event_type=event_type, limit=limit, offset=offset)
    return [schema_version_get_or_404(tenant_id=tenant_id, event_type=event_type, version=version)]


def schema_latest_active_get(*, tenant_id: uuid.UUID, event_type: str) -> EventSchema | None:
    return (
        EventSchema.objects.filter(tenant_id=tenant_id, event_type=event_type, status=SchemaStatus.ACTIVE)
        .order_by("-version")
        .first()
    )


@dataclass(frozen=True, slots=True)
class SchemaValidation:
    """A payload checked against a schema version; ``schema`` is ``None`` when the event type has
    no active schema (nothing to check: valid, as in the reference)."""

    schema: EventSchema | None
    errors: tuple[SchemaError, ...]

    @property
    def valid(self) -> bool:
        return not self.errors


def schema_validate(*, tenant_id: uuid.UUID, event_type: str, version: int | None, payload: Any) -> SchemaValidation:
    """Validate ``payload`` against ``version`` of the event type's schema (404 when there is no
    such version), or against its latest active version when ``version`` is ``None``."""
    schema = (
        schema_latest_active_get(tenant_id=tenant_id, event_type=event_type)
        if version is None
        else schema_version_get_or_404(tenant_id=tenant_id, event_type=event_type, version=version)
    )
    if schema is None:
        return SchemaValidation(schema=None, errors=())
    return SchemaValidation(schema=schema, errors=validate_payload(build_validator(_as_ingest_reads(schema)), payload))


def _as_ingest_reads(schema: EventSchema) -> Any:
    """The schema's document as ingest's validators read it: its stored JSON text parsed by
    orjson (``schemas.registry``), where a number past 64-bit integers is a double. The model's
    field parses with ``json`` (an exact integer there), so a schema number such as ``1e29`` was
    ``100000000000000000000000000000`` here and equal to no payload number, which are doubles
    past 64 bits: this endpoint and ingest judged the same payload differently."""
    return orjson.loads(json.dumps(schema.schema_json))


def tenant_mode_override_get(*, tenant_id: uuid.UUID) -> str | None:
    row = TenantSchemaSettings.objects.filter(tenant_id=tenant_id).first()
    return None if row is None else row.validation_mode


@dataclass(frozen=True, slots=True)
class ValidationModeState:
    tenant_id: uuid.UUID
    mode: ValidationMode  # the effective mode
    override: ValidationMode | None  # the tenant's own, if any
    default: ValidationMode  # SCHEMA_VALIDATION_MODE


def validation_mode_state(*, tenant_id: uuid.UUID, override: ValidationMode | None) -> ValidationModeState:
    """The state a tenant with ``override`` has (:func:`schemas.registry.effective_mode`)."""
    return ValidationModeState(
        tenant_id=tenant_id, mode=effective_mode(override), override=override, default=global_mode()
    )


def validation_mode_state_get(*, tenant_id: uuid.UUID) -> ValidationModeState:
    """The tenant's validation mode as stored now (read past the ingest path's cache, so the API
    answers a change at once)."""
    override = tenant_mode_override_get(tenant_id=tenant_id)
    return validation_mode_state(tenant_id=tenant_id, override=None if override is None else ValidationMode(override))
