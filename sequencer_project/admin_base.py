"""Base classes of the operator admin (STYLE.md rule 40: read-mostly, actions call services)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    """No add, change or delete; no full count (tables can be large)."""

    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class OperatorActionsAdmin(ReadOnlyAdmin):
    """Read-only pages whose list actions (dead-letter retry, re-drive, discard) call services.

    Actions need "change"; the change form itself stays read-only (every field readonly).
    """

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in self.model._meta.fields]
