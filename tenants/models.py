"""Tenancy schema: tenants, their stores, and API keys (hash only)."""

from __future__ import annotations

import uuid

from django.contrib.postgres.fields import ArrayField
from django.db import models


class Tenant(models.Model):
    """An isolated customer. Every tenant-scoped row carries ``tenant_id`` first in its key."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "tenants"
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class Store(models.Model):
    """A store of a tenant; ``(tenant, store)`` names a stream. Created on first write."""

    pk = models.CompositePrimaryKey("tenant_id", "store_id")
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="stores")
    store_id = models.UUIDField()
    name = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "stores"

    def __str__(self) -> str:
        return f"{self.tenant_id}/{self.store_id}"


class ApiKey(models.Model):
    """An API key. Only the SHA-256 of the key is stored; the key is shown once at creation."""

    key_hash = models.CharField(max_length=64, primary_key=True)
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="api_keys")
    name = models.CharField(max_length=200, blank=True, default="")
    display_prefix = models.CharField(max_length=16)
    store_ids = ArrayField(models.UUIDField(), default=list, blank=True, help_text="Empty = all stores.")
    agent_id = models.UUIDField(null=True, blank=True)
    can_read = models.BooleanField(default=True)
    can_write = models.BooleanField(default=False)
    can_admin = models.BooleanField(default=False)
    rate_limit = models.PositiveIntegerField(null=True, blank=True, help_text="Requests per minute.")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "api_keys"
        indexes = [
            models.Index(fields=["tenant", "-created_at"], name="api_keys_tenant_created"),
            models.Index(fields=["tenant", "agent_id"], name="api_keys_tenant_agent"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rate_limit__isnull=True) | models.Q(rate_limit__gt=0),
                name="api_keys_rate_limit_positive",
            ),
            models.CheckConstraint(
                condition=models.Q(active=True) | models.Q(revoked_at__isnull=False),
                name="api_keys_inactive_has_revoked_at",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.display_prefix}… ({self.tenant_id})"

    @property
    def hash_prefix(self) -> str:
        return self.key_hash[:16]
