"""Writes of the schema registry. Each public service is one transaction; caches are bumped after commit."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import orjson
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from schemas import errors
from schemas.compatibility import check_schema, compatibility_problems
from schemas.models import Compatibility, EventSchema, SchemaStatus, TenantSchemaSettings
from schemas.modes import ValidationMode
from schemas.registry import mode_cache, schema_cache
from schemas.selectors import ValidationModeState, schema_get_for_tenant_or_404, validation_mode_state
from sequencer_project.api.errors import InvalidFieldError
from sequencer_project.api.json_limits import nul_path
from sequencer_project.db.tenant_scope import TenantScope
from sequencer_project.tenant_keys import tenant_row_update
from tenants.models import Tenant
from tenants.services import tenant_ensure


def _bump_schema_cache() -> None:
    transaction.on_commit(schema_cache.invalidate)


@transaction.atomic(durable=True)
def schema_register(
    *,
    tenant_id: uuid.UUID,
    event_type: str,
    schema_json: Any,
    compatibility: str = Compatibility.BACKWARD,
    description: str = "",
    created_by: str = "",
    actor: str,
) -> EventSchema:
    """Register the next version of ``event_type``'s schema.

    The new version must be a valid JSON Schema and, against the latest version that is not
    archived, satisfy the compatibility the new version declares (``docs/schemas.md``).
    Locks: the tenant row (FOR NO KEY UPDATE), so versions of a tenant are allocated one at a time.
    """
    size = len(orjson.dumps(schema_json))
    if size > settings.SCHEMA_MAX_BYTES:
        raise errors.SchemaTooLargeError(
            f"schemaJson is {size} bytes; the limit is {settings.SCHEMA_MAX_BYTES}.", field="schemaJson"
        )
    if nul_path(schema_json) is not None:
        # PostgreSQL jsonb cannot store U+0000 (it used to fail the insert with a 500).
        raise InvalidFieldError("schemaJson holds a NUL character, which cannot be stored.", field="schemaJson")
    problem = check_schema(schema_json)
    if problem is not None:
        raise errors.InvalidSchemaError(f"schemaJson is not a valid JSON Schema: {problem}", field="schemaJson")
    tenant_ensure(tenant_id=tenant_id, actor=actor, via="schema.register")
    Tenant.objects.select_for_update(no_key=True).filter(id=tenant_id).get()
    versions = EventSchema.objects.filter(tenant_id=tenant_id, event_type=event_type)
    latest = versions.order_by("-version").first()
    previous = versions.exclude(status=SchemaStatus.ARCHIVED).order_by("-version").first()
    if previous is not None:
        problems = compatibility_problems(compatibility, previous.schema_json, schema_json)
        if problems:
            raise errors.IncompatibleSchemaError(
                f"The new version breaks {compatibility} compatibility with v{previous.version}: {problems[0]}",
                problems=problems[:20],
                against_version=previous.version,
            )
    schema = EventSchema.objects.create(
        tenant_id=tenant_id,
        event_type=event_type,
        version=(latest.version if latest is not None else 0) + 1,
        schema_json=schema_json,
        compatibility=compatibility,
        description=description,
        created_by=created_by,
    )
    _bump_schema_cache()
    return schema


# The caller's check on the tenant of the schema it names: raises (403) when it may not act there.
Authorise = Callable[[uuid.UUID], object]


def _schema_for(tenant_id: TenantScope, schema_id: uuid.UUID, authorise: Authorise) -> EventSchema:
    """Schema ``schema_id`` of ``tenant_id`` (404 otherwise), after ``authorise(its tenant)``."""
    schema = schema_get_for_tenant_or_404(tenant_id=tenant_id, schema_id=schema_id)
    authorise(schema.tenant_id)
    return schema


@transaction.atomic(durable=True)
def schema_status_set(
    *, tenant_id: TenantScope, schema_id: uuid.UUID, status: str, authorise: Authorise
) -> EventSchema:
    """Move version ``schema_id`` of ``tenant_id`` (``EVERY_TENANT``: the bootstrap admin) to
    active, deprecated or archived (archived versions stop validating). 404 ``schema_not_found``
    for another tenant's schema; ``authorise`` is the caller's 403."""
    schema = _schema_for(tenant_id, schema_id, authorise)
    schema.status, schema.updated_at = status, timezone.now()
    tenant_row_update(schema, "status", "updated_at")  # by (tenant_id, id): one shard on a distributed PostgreSQL
    _bump_schema_cache()
    return schema


@transaction.atomic(durable=True)
def schema_delete(*, tenant_id: TenantScope, schema_id: uuid.UUID, authorise: Authorise) -> EventSchema:
    """Remove version ``schema_id`` of ``tenant_id`` (admin; found and authorised as
    :func:`schema_status_set`) and return it. Its number is not reused while a later version exists."""
    schema = _schema_for(tenant_id, schema_id, authorise)
    EventSchema.objects.filter(tenant_id=schema.tenant_id, id=schema.id).delete()  # by (tenant_id, id)
    _bump_schema_cache()
    return schema


@transaction.atomic(durable=True)
def validation_mode_set(*, tenant_id: uuid.UUID, mode: ValidationMode | None, actor: str) -> ValidationModeState:
    """Override the tenant's validation mode (``None`` = follow ``SCHEMA_VALIDATION_MODE``); the
    tenant's state afterwards."""
    if mode is None:
        TenantSchemaSettings.objects.filter(tenant_id=tenant_id).delete()
    else:
        tenant_ensure(tenant_id=tenant_id, actor=actor, via="schema.validation_mode_set")
        TenantSchemaSettings.objects.update_or_create(tenant_id=tenant_id, defaults={"validation_mode": mode.value})
    transaction.on_commit(mode_cache.invalidate)
    return validation_mode_state(tenant_id=tenant_id, override=mode)
