"""Read-only admin of commitments (rows are written only by the commitment service)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from commitments.models import Commitment


@admin.register(Commitment)
class CommitmentAdmin(admin.ModelAdmin[Commitment]):
    list_display = (
        "batch_id",
        "tenant_id",
        "store_id",
        "stream_kind",
        "sequence_start",
        "sequence_end",
        "committed_at",
    )
    list_filter = ("stream_kind",)
    search_fields = ("batch_id", "tenant_id", "store_id")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
