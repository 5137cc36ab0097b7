"""The audit log in the operator admin: read-only, for staff."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from audit.models import AuditLogEntry
from sequencer_project.admin_base import ReadOnlyAdmin


@admin.register(AuditLogEntry)
class AuditLogEntryAdmin(ReadOnlyAdmin):
    list_display = ("at", "actor", "action", "target_type", "target_id", "tenant_id")
    list_filter = ("action", "target_type")
    search_fields = ("=tenant_id", "actor", "=target_id")
    ordering = ("-at",)
    date_hierarchy = None

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_staff)
