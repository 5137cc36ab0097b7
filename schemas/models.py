"""Schema registry tables: versioned JSON Schemas per (tenant, event_type), per-tenant mode override."""

from __future__ import annotations

import uuid

from django.db import models


class SchemaStatus(models.TextChoices):
    ACTIVE = "active"
    DEPRECATED = "deprecated"
    ARCHIVED = "archived"


class Compatibility(models.TextChoices):
    BACKWARD = "backward"
    FORWARD = "forward"
    FULL = "full"
    NONE = "none"


class EventSchema(models.Model):
    """One version of an event type's payload schema. Versions count 1, 2, … per (tenant, event_type)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="event_schemas")
    event_type = models.CharField(max_length=256)
    version = models.PositiveIntegerField()
    schema_json = models.JSONField()
    status = models.CharField(max_length=16, choices=SchemaStatus.choices, default=SchemaStatus.ACTIVE)
    compatibility = models.CharField(max_length=16, choices=Compatibility.choices, default=Compatibility.BACKWARD)
    description = models.TextField(blank=True, default="")
    created_by = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "event_schemas"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "event_type", "version"], name="event_schemas_version_unique"),
            models.CheckConstraint(condition=models.Q(version__gte=1), name="event_schemas_version_positive"),
        ]
        indexes = [models.Index(fields=["tenant", "event_type", "status"], name="event_schemas_type_status")]

    def __str__(self) -> str:
        return f"{self.event_type} v{self.version} ({self.tenant_id})"


class TenantSchemaSettings(models.Model):
    """A tenant's override of ``SCHEMA_VALIDATION_MODE`` (no row = the global mode)."""

    tenant = models.OneToOneField("tenants.Tenant", on_delete=models.CASCADE, primary_key=True)
    validation_mode = models.CharField(max_length=16)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "tenant_schema_settings"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(validation_mode__in=["disabled", "warn", "enforce", "required"]),
                name="tenant_schema_settings_mode",
            )
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id}: {self.validation_mode}"
