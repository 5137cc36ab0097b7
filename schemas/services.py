"""Writes of the schema registry. Each public service is one transaction; caches are bumped after commit.

Every write changes what ingest accepts for a whole tenant, so each takes the ``actor`` and writes
its audit row (``audit.services.audit_record``) inside its transaction: the change and its record
commit together or not at all, and a refused or failed change records nothing (``docs/schemas.md``,
"Audit log").
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import orjson
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from schemas import errors
from schemas.compatibility import check_schema, compatibility_problems
from schemas.models import Compatibility, EventSchema, SchemaStatus, TenantSchemaSettings
from schemas.modes import ValidationMode
from schemas.registry import effective_mode, mode_cache, schema_cache
from schemas.selectors import ValidationModeState, schema_get_for_tenant_or_404, validation_mode_state
from sequencer_project.api.errors import InvalidFieldError
from sequencer_project.api.json_limits import nul_path
from sequencer_project.db.tenant_scope import TenantScope
from sequencer_project.tenant_keys import tenant_row_update
from tenants.models import Tenant
from tenants.services import tenant_ensure


def _bump_schema_cache(tenant_id: uuid.UUID) -> None:
    """After commit, every process drops its cached schemas of ``tenant_id`` (only that tenant's)."""
    transaction.on_commit(lambda: schema_cache.invalidate(tenant_id))


def _audited_schema(actor: str, verb: str, schema: EventSchema, **detail: Any) -> None:
    """The audit row ``schema.<verb>`` of a change to version ``schema``: its event type and
    version, then ``detail``. Caller holds the change's transaction."""
    audit_record(
        actor=actor,
        action=f"schema.{verb}",
        target_type="schema",
        target_id=str(schema.id),
        tenant_id=schema.tenant_id,
        detail={"event_type": schema.event_type, "version": schema.version, **detail},
    )


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
    Audited (``schema.register``: event type, version, compatibility, status).
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
    _audited_schema(actor, "register", schema, compatibility=schema.compatibility, status=schema.status)
    _bump_schema_cache(schema.tenant_id)
    return schema


# The caller's check on the tenant of the schema it names: raises (403) when it may not act there.
Authorise = Callable[[uuid.UUID], object]


def _schema_locked(tenant_id: TenantScope, schema_id: uuid.UUID, authorise: Authorise) -> EventSchema:
    """Schema ``schema_id`` of ``tenant_id`` (404 otherwise), after ``authorise(its tenant)``, read
    again under its row lock (FOR NO KEY UPDATE, by ``(tenant_id, id)``): the status recorded as
    the old one is the one this change replaces, and a version deleted meanwhile is a 404, never
    a second record. Caller holds the transaction."""
    found = schema_get_for_tenant_or_404(tenant_id=tenant_id, schema_id=schema_id)
    authorise(found.tenant_id)
    schema = EventSchema.objects.select_for_update(no_key=True).filter(tenant_id=found.tenant_id, id=found.id).first()
    if schema is None:
        raise errors.SchemaNotFoundError(f"No schema {schema_id} is visible to this credential.")
    return schema


@transaction.atomic(durable=True)
def schema_status_set(
    *, tenant_id: TenantScope, schema_id: uuid.UUID, status: str, authorise: Authorise, actor: str
) -> EventSchema:
    """Move version ``schema_id`` of ``tenant_id`` (``EVERY_TENANT``: the bootstrap admin) to
    active, deprecated or archived (archived versions stop validating). 404 ``schema_not_found``
    for another tenant's schema; ``authorise`` is the caller's 403.

    Audited (``schema.status_set``, with the old and new status). Setting the status it has
    changes nothing and records nothing. Locks: the version's row (``_schema_locked``)."""
    schema = _schema_locked(tenant_id, schema_id, authorise)
    old = schema.status
    if old == status:
        return schema
    schema.status, schema.updated_at = status, timezone.now()
    tenant_row_update(schema, "status", "updated_at")  # by (tenant_id, id): one shard on a distributed PostgreSQL
    _audited_schema(actor, "status_set", schema, old={"status": old}, new={"status": status})
    _bump_schema_cache(schema.tenant_id)
    return schema


@transaction.atomic(durable=True)
def schema_delete(*, tenant_id: TenantScope, schema_id: uuid.UUID, authorise: Authorise, actor: str) -> EventSchema:
    """Remove version ``schema_id`` of ``tenant_id`` (admin; found and authorised as
    :func:`schema_status_set`) and return it. Its number is not reused while a later version exists.

    Audited (``schema.delete``, with the status and compatibility it had)."""
    schema = _schema_locked(tenant_id, schema_id, authorise)
    EventSchema.objects.filter(tenant_id=schema.tenant_id, id=schema.id).delete()  # by (tenant_id, id)
    _audited_schema(actor, "delete", schema, status=schema.status, compatibility=schema.compatibility)
    _bump_schema_cache(schema.tenant_id)
    return schema


def _mode_recorded(override: ValidationMode | None) -> dict[str, str | None]:
    """How the audit log states a tenant's mode: its override (``None``: none) and the mode in effect."""
    return {"override": None if override is None else override.value, "mode": effective_mode(override).value}


@transaction.atomic(durable=True)
def validation_mode_set(*, tenant_id: uuid.UUID, mode: ValidationMode | None, actor: str) -> ValidationModeState:
    """Override the tenant's validation mode (``None`` = follow ``SCHEMA_VALIDATION_MODE``); the
    tenant's state afterwards.

    Audited (``validation_mode.set``, naming the tenant, with the old and new override and the
    mode each puts in effect). Setting the override it has (or clearing none) changes nothing and
    records nothing. Locks: the tenant row (FOR NO KEY UPDATE, as :func:`schema_register`), so a
    tenant's mode changes are recorded one after the other, each with the override it replaced."""
    if mode is not None:
        tenant_ensure(tenant_id=tenant_id, actor=actor, via="schema.validation_mode_set")
    locked = Tenant.objects.select_for_update(no_key=True).filter(id=tenant_id).values_list("id", flat=True).first()
    if locked is None:  # no tenant (clearing only): it has no override to clear
        return validation_mode_state(tenant_id=tenant_id, override=None)
    stored = TenantSchemaSettings.objects.filter(tenant_id=tenant_id).first()
    old = None if stored is None else ValidationMode(stored.validation_mode)
    if old == mode:
        return validation_mode_state(tenant_id=tenant_id, override=mode)
    if mode is None:
        TenantSchemaSettings.objects.filter(tenant_id=tenant_id).delete()
    else:
        TenantSchemaSettings.objects.update_or_create(tenant_id=tenant_id, defaults={"validation_mode": mode.value})
    audit_record(
        actor=actor,
        action="validation_mode.set",
        target_type="validation_mode",
        target_id=str(tenant_id),
        tenant_id=tenant_id,
        detail={"old": _mode_recorded(old), "new": _mode_recorded(mode)},
    )
    transaction.on_commit(lambda: mode_cache.invalidate(tenant_id))
    return validation_mode_state(tenant_id=tenant_id, override=mode)
