"""Operator admin for projections: dead letters (retry, discard, bulk), and the tenant page.

The tenant page is tenants' ``TenantAdmin`` with the tenant's streams and projection lag added:
those are events' to read, and tenants never imports events, so events registers it.

The event tables have composite keys and are browsed through the keyset pages of
:mod:`sequencer_project.admin_site`. Actions call services with each entry's tenant, which
write the audit log. The admin reads across tenants by design (its change page finds an entry
by id alone): a coordinator-only path (docs/scaling.md, "Paths that fan out").
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from audit.services import admin_actor
from events.admin_selectors import tenant_streams_panel_get
from events.models import ProjectionDeadLetter
from events.services.dead_letters import OPEN, dead_letter_discard, dead_letter_retry
from sequencer_project.admin_base import OperatorActionsAdmin
from sequencer_project.api.errors import SequencerError
from tenants.admin import TenantAdmin
from tenants.models import Tenant


@admin.register(Tenant)
class TenantWithStreamsAdmin(TenantAdmin):
    change_form_template = "admin/event_store/tenant_change_form.html"

    def panels(self, tenant: Tenant) -> dict[str, Any]:
        panel = tenant_streams_panel_get(tenant_id=tenant.id)
        return {**super().panels(tenant), "streams": panel.streams, "lags": panel.lags}


@admin.register(ProjectionDeadLetter)
class ProjectionDeadLetterAdmin(OperatorActionsAdmin):
    list_display = (
        "id",
        "projection",
        "tenant_id",
        "store_id",
        "sequence_number",
        "status",
        "attempts",
        "error_class",
        "next_retry_at",
        "last_failed_at",
    )
    list_filter = ("status", "projection")
    search_fields = ("=tenant_id", "=event_id")
    ordering = ("-id",)
    actions = ["retry_now", "discard"]

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        return lookup in {"tenant_id__exact", "store_id__exact"} or super().lookup_allowed(lookup, value, request)

    @admin.action(description="Retry selected entries now")
    def retry_now(self, request: HttpRequest, queryset: QuerySet[ProjectionDeadLetter]) -> None:
        succeeded = failed = 0
        for tenant_id, entry_id in queryset.filter(status__in=OPEN).values_list("tenant_id", "id"):
            try:
                outcome = dead_letter_retry(tenant_id=tenant_id, dead_letter_id=entry_id, actor=admin_actor(request))
            except SequencerError as exc:
                self.message_user(request, f"Entry {entry_id}: {exc.detail}", messages.WARNING)
                continue
            succeeded += outcome.succeeded
            failed += not outcome.succeeded
        level = messages.SUCCESS if not failed else messages.WARNING
        self.message_user(request, f"Retried {succeeded + failed}: {succeeded} applied, {failed} failed again.", level)

    @admin.action(description="Discard selected entries")
    def discard(self, request: HttpRequest, queryset: QuerySet[ProjectionDeadLetter]) -> None:
        done = 0
        for tenant_id, entry_id in queryset.filter(status__in=OPEN).values_list("tenant_id", "id"):
            dead_letter_discard(tenant_id=tenant_id, dead_letter_id=entry_id, actor=admin_actor(request))
            done += 1
        self.message_user(request, f"Discarded {done} entries.", messages.SUCCESS)
