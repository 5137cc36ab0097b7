"""Tenancy schema: tenants, their stores, and API keys (hash only)."""

from __future__ import annotations

import uuid

from django.contrib.postgres.fields import ArrayField
from django.db import models

from tenants.limits import API_KEY_NAME_MAX


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
    """An API key. Only the SHA-256 of the key is stored; the key is shown once at creation.

    ``expires_at`` is set at creation and never changed (a key is revoked, not shortened), so a
    cached principal's expiry is always the stored one.
    """

    key_hash = models.CharField(max_length=64, primary_key=True)
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="api_keys")
    name = models.CharField(max_length=API_KEY_NAME_MAX, blank=True, default="")
    display_prefix = models.CharField(max_length=16)
    store_ids = ArrayField(models.UUIDField(), default=list, blank=True, help_text="Empty = all stores.")
    agent_id = models.UUIDField(null=True, blank=True)
    can_read = models.BooleanField(default=True)
    can_write = models.BooleanField(default=False)
    can_admin = models.BooleanField(default=False)
    rate_limit = models.PositiveIntegerField(null=True, blank=True, help_text="Requests per minute.")
    shared_rate_limits = models.JSONField(
        default=list,
        blank=True,
        help_text="The budgets of the keys it was minted from, [[credential id, requests per minute], ...]: "
        "its requests count against each (a minted key never adds to its minter's).",
    )
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="Refused at authentication from this instant on. Empty = never."
    )
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


class AgentKeyStatus(models.TextChoices):
    ACTIVE = "active", "active"
    REVOKED = "revoked", "revoked"


class AgentSigningKey(models.Model):
    """An agent's Ed25519 public key for VES signatures, addressed by ``(tenant, agent, key_id)``.

    A key verifies only while ``active`` and inside ``[valid_from, valid_to]`` (open ends allowed);
    "expired" is derived from ``valid_to`` at verification time, never stored.
    """

    pk = models.CompositePrimaryKey("tenant_id", "agent_id", "key_id")
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="agent_signing_keys")
    agent_id = models.UUIDField()
    key_id = models.BigIntegerField(help_text="u32, as signed in the envelope's agent_key_id.")
    public_key = models.BinaryField(help_text="32-byte Ed25519 public key.")
    key_algorithm = models.SmallIntegerField(default=1, help_text="1 = Ed25519 (the reference's numbering).")
    status = models.CharField(max_length=16, choices=AgentKeyStatus.choices, default=AgentKeyStatus.ACTIVE)
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_to = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "agent_signing_keys"
        indexes = [models.Index(fields=["tenant", "agent_id"], name="agent_keys_tenant_agent")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(key_id__gte=0) & models.Q(key_id__lte=4294967295), name="agent_keys_key_id_u32"
            ),
            models.CheckConstraint(
                condition=(models.Q(status="revoked") & models.Q(revoked_at__isnull=False))
                | (models.Q(status="active") & models.Q(revoked_at__isnull=True)),
                name="agent_keys_revoked_has_revoked_at",
            ),
            models.CheckConstraint(
                condition=models.Q(valid_from__isnull=True)
                | models.Q(valid_to__isnull=True)
                | models.Q(valid_from__lte=models.F("valid_to")),
                name="agent_keys_valid_window",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id}/{self.agent_id}#{self.key_id} ({self.status})"
