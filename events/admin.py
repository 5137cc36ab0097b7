"""Operator admin for projections: dead letters (retry, discard, bulk), and the tenant page.

The tenant page is tenants' ``TenantAdmin`` with the tenant's streams and projection lag added:
those are events' to read, and tenants never imports events, so events registers it.

The event tables have composite keys and are browsed through the keyset pages of
:mod:`sequencer_project.admin_site`. Actions call services with each entry's tenant, which
write the audit log. The admin reads across tenants by design (its change page finds an entry
by id alone): a coordinator-only path (docs/scaling.md, "Paths that fan out").
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from audit.services import admin_actor
from events.admin_selectors import tenant_streams_panel_get
from events.models import ProjectionDeadLetter
from events.services.dead_letters import OPEN, dead_letter_discard, dead_letter_retry
from sequencer_project.admin_actions import ActionReport, left_for_next_run
from sequencer_project.admin_base import OperatorActionsAdmin
from sequencer_project.admin_lists import IndexedSearch
from sequencer_project.api.errors import SequencerError
from tenants.admin import TenantAdmin
from tenants.models import Tenant

# Entries one run of an action handles (a retry applies an event, ~12 ms; a discard only closes the row).
RETRY_PER_RUN = 200
DISCARD_PER_RUN = 1000


@admin.register(Tenant)
class TenantWithStreamsAdmin(TenantAdmin):
    change_form_template = "admin/event_store/tenant_change_form.html"

    def panels(self, tenant: Tenant) -> dict[str, Any]:
        panel = tenant_streams_panel_get(tenant_id=tenant.id)
        return {**super().panels(tenant), "streams": panel.streams, "lags": panel.lags}


@admin.register(ProjectionDeadLetter)
class ProjectionDeadLetterAdmin(IndexedSearch, OperatorActionsAdmin):
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
    uuid_search_fields = ("tenant_id", "event_id")
    search_help_text = "A tenant id or an event id, whole."
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
        """Retry the selected open entries, each unit's (projection on a stream) in sequence order,
        at most :data:`RETRY_PER_RUN` of them (docs/projections.md, "Operator actions").

        An entry that is not applied (failed again, held, refused) holds its unit's later entries
        back, as the service would refuse them: they are counted, not tried. Units go in the
        order of their first entry's last failure, so a run after one that met entries failing
        again reaches the units it left. Closed entries are counted by status."""
        report = ActionReport()
        report.closed(queryset.exclude(status__in=OPEN), "retried")
        succeeded = failed = held = refused = behind = tried = left = 0
        for entries in _units(queryset.filter(status__in=OPEN)):
            for position, (tenant_id, entry_id) in enumerate(entries):
                if tried == RETRY_PER_RUN:
                    left += len(entries) - position
                    break
                tried += 1
                try:
                    outcome = dead_letter_retry(
                        tenant_id=tenant_id, dead_letter_id=entry_id, actor=admin_actor(request)
                    )
                except SequencerError as exc:
                    report.note(f"Entry {entry_id} not retried: {exc.detail}")
                    refused += 1
                else:
                    succeeded += outcome.succeeded
                    held += outcome.held
                    failed += not outcome.succeeded and not outcome.held
                    if outcome.succeeded:
                        continue
                    if outcome.held:
                        report.note(f"Entry {entry_id} held: {outcome.entry.error_message}")
                behind += len(entries) - position - 1  # its unit's later entries wait behind it
                break
        summary = f"Retried {succeeded + failed}: {succeeded} applied, {failed} failed again."
        if held or refused or behind:
            summary += (
                f" {held} held (payload key missing), {refused} refused, {behind} left behind an earlier entry"
                " of their stream that was not applied."
            )
        summary += left_for_next_run(left, RETRY_PER_RUN, "retried")
        report.tell(self, request, summary, ok=not (failed or held or refused or behind or left))

    @admin.action(description="Discard selected entries")
    def discard(self, request: HttpRequest, queryset: QuerySet[ProjectionDeadLetter]) -> None:
        """Discard the selected open entries, at most :data:`DISCARD_PER_RUN` of them; closed ones
        (retried or discarded already, the API's 409 ``dead_letter_closed``) are counted by status."""
        report = ActionReport()
        report.closed(queryset.exclude(status__in=OPEN), "discarded")
        selected = queryset.filter(status__in=OPEN).order_by("id")
        done, left = 0, max(selected.count() - DISCARD_PER_RUN, 0)  # the open ones this run does not reach
        for tenant_id, entry_id in selected.values_list("tenant_id", "id")[:DISCARD_PER_RUN]:
            try:
                dead_letter_discard(tenant_id=tenant_id, dead_letter_id=entry_id, actor=admin_actor(request))
            except SequencerError as exc:  # closed meanwhile (another operator)
                report.note(f"Entry {entry_id} not discarded: {exc.detail}")
                continue
            done += 1
        summary = f"Discarded {done} entries." + left_for_next_run(left, DISCARD_PER_RUN, "discarded")
        report.tell(self, request, summary, ok=bool(done) and not left)


def _units(open_entries: QuerySet[ProjectionDeadLetter]) -> list[list[tuple[uuid.UUID, int]]]:
    """The selected open entries as ``(tenant_id, id)`` lists, one per ordering unit in sequence
    order, the units ordered by their first entry's last failure (oldest first)."""
    units: dict[tuple[object, ...], list[tuple[uuid.UUID, int]]] = {}
    first_failed: dict[tuple[object, ...], datetime] = {}
    rows = open_entries.order_by("tenant_id", "projection", "store_id", "sequence_number").values_list(
        "tenant_id", "projection", "store_id", "id", "last_failed_at"
    )
    for tenant_id, projection, store_id, entry_id, last_failed_at in rows.iterator():
        unit = (tenant_id, projection, store_id)
        units.setdefault(unit, []).append((tenant_id, entry_id))
        first_failed.setdefault(unit, last_failed_at)
    return [units[unit] for unit in sorted(units, key=first_failed.__getitem__)]
