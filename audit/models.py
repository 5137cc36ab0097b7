"""The audit log's one table. It was created by ``events`` migration 0004 and keeps its name."""

from __future__ import annotations

from django.db import models


class AuditLogEntry(models.Model):
    """Who changed what, and when: one row per operator action (admin or admin API)."""

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(auto_now_add=True)
    actor = models.CharField(max_length=200)
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=200)
    tenant_id = models.UUIDField(null=True)
    detail = models.JSONField(default=dict)

    class Meta:
        db_table = "audit_log"
        verbose_name = "audit log entry"
        verbose_name_plural = "audit log"
        indexes = [models.Index(fields=["-at"], name="audit_log_at_idx")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.target_type}:{self.target_id}"
