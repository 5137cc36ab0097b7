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
        "last_error",
        "next_retry_at",
        "last_failed_at",
    )
    list_filter = ("status", "projection")
    search_fields = ("=tenant_id", "=event_id")
    ordering = ("-id",)
    actions = ["retry_now", "discard"]

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        return lookup in {"tenant_id__exact", "store_id__exact"} or super().lookup_allowed(lookup, value, request)

    @admin.display(description="Last error")
    def last_error(self, entry: ProjectionDeadLetter) -> str:
        """The stored error message, cut for the list (a held entry's reason comes first:
        ``payload_key_missing: key id 1 ...``); the entry's page shows it whole."""
        message = entry.error_message
        return message if len(message) <= 160 else f"{message[:159]}…"

    @admin.action(description="Retry selected entries now")
    def retry_now(self, request: HttpRequest, queryset: QuerySet[ProjectionDeadLetter]) -> None:
        """Retry each selected open entry, each stream's in sequence order (so selecting several
        entries of one stream retries them in order); one an earlier open entry of its stream
        holds back is refused by the service and named in a message, as is every other refusal,
        and a closed one (retried or discarded already) with its status, as discarding names it."""
        succeeded = failed = held = refused = 0
        for entry_id, status in queryset.exclude(status__in=OPEN).order_by("id").values_list("id", "status"):
            self.message_user(request, f"Entry {entry_id} not retried: it is {status} already.", messages.WARNING)
            refused += 1
        selected = queryset.filter(status__in=OPEN).order_by("tenant_id", "projection", "store_id", "sequence_number")
        for tenant_id, entry_id in selected.values_list("tenant_id", "id"):
            try:
                outcome = dead_letter_retry(tenant_id=tenant_id, dead_letter_id=entry_id, actor=admin_actor(request))
            except SequencerError as exc:
                self.message_user(request, f"Entry {entry_id} not retried: {exc.detail}", messages.WARNING)
                refused += 1
                continue
            if outcome.held:
                self.message_user(request, f"Entry {entry_id} held: {outcome.entry.error_message}", messages.WARNING)
            succeeded += outcome.succeeded
            held += outcome.held
            failed += not outcome.succeeded and not outcome.held
        level = messages.SUCCESS if not (failed or held or refused) else messages.WARNING
        summary = f"Retried {succeeded + failed}: {succeeded} applied, {failed} failed again."
        if held or refused:
            summary += f" {held} held (payload key missing), {refused} not retried."
        self.message_user(request, summary, level)

    @admin.action(description="Discard selected entries")
    def discard(self, request: HttpRequest, queryset: QuerySet[ProjectionDeadLetter]) -> None:
        """Discard each selected open entry; a closed one (retried or discarded already) is named
        with its status, as the API's 409 ``dead_letter_closed`` names it."""
        done = 0
        for entry_id, status in queryset.exclude(status__in=OPEN).order_by("id").values_list("id", "status"):
            self.message_user(request, f"Entry {entry_id} not discarded: it is {status} already.", messages.WARNING)
        for tenant_id, entry_id in queryset.filter(status__in=OPEN).values_list("tenant_id", "id"):
            try:
                dead_letter_discard(tenant_id=tenant_id, dead_letter_id=entry_id, actor=admin_actor(request))
            except SequencerError as exc:  # closed meanwhile (another operator)
                self.message_user(request, f"Entry {entry_id} not discarded: {exc.detail}", messages.WARNING)
                continue
            done += 1
        self.message_user(request, f"Discarded {done} entries.", messages.SUCCESS if done else messages.WARNING)
