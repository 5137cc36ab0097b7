"""Operator views of intents, batches, settlement attempts and settlement dead letters.

Read-only: intents are sequenced, batched and settled only by the services (an edited amount or
a deleted intent would break the ledger the chain settled); no page adds, changes or deletes.

Dead letters (ADR 0012) have a "Re-drive" action: it calls
:func:`payments.services.dead_letters.settlement_dead_letter_redrive` with each entry's tenant,
which audits and re-enqueues the settlement. The admin's lists and change pages read across
tenants by design: a coordinator-only path (docs/scaling.md, "Paths that fan out").
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from audit.services import admin_actor
from payments.models import (
    PaymentBatch,
    PaymentIntent,
    SettlementAttempt,
    SettlementDeadLetter,
    SettlementDeadLetterStatus,
)
from payments.selectors import account_key_filter
from payments.services.dead_letters import settlement_dead_letter_redrive
from sequencer_project.admin_actions import ActionReport, left_for_next_run
from sequencer_project.admin_base import OperatorActionsAdmin, ReadOnlyAdmin, hex_bytes_shown
from sequencer_project.admin_lists import IndexedSearch
from sequencer_project.api.errors import SequencerError


@admin.register(PaymentIntent)
class PaymentIntentAdmin(IndexedSearch, ReadOnlyAdmin):
    list_display = ("intent_id", "tenant_id", "store_id", "sequence_number", "status", "amount", "asset", "network")
    list_filter = ("status", "network", "asset")
    uuid_search_fields = ("intent_id", "tenant_id", "batch_id")
    search_help_text = (
        "An intent, tenant or batch id (whole), a payer or payee address in any spelling, or an idempotency key."
    )

    def term_match(self, term: str) -> Q:
        """An address matches its account in any spelling, as the API's filters do (one pass over
        the table: the account indexes lead with the tenant); any term an idempotency key exactly."""
        return (
            account_key_filter("payer_address", term)
            | account_key_filter("payee_address", term)
            | Q(idempotency_key=term)
        )

    readonly_fields = hex_bytes_shown(PaymentIntent, [f.name for f in PaymentIntent._meta.fields])


class AttemptInline(admin.TabularInline[SettlementAttempt, PaymentBatch]):
    model = SettlementAttempt
    extra = 0
    can_delete = False
    readonly_fields = ("attempt", "backend", "outcome", "tx_hash", "tx_nonce", "max_fee_per_gas", "error", "created_at")


class DeadLetterInline(admin.TabularInline[SettlementDeadLetter, PaymentBatch]):
    model = SettlementDeadLetter
    extra = 0
    can_delete = False
    fields = readonly_fields = ("id", "status", "attempts", "error_message", "created_at", "redriven_at", "redriven_by")


@admin.register(PaymentBatch)
class PaymentBatchAdmin(ReadOnlyAdmin):
    list_display = ("batch_id", "tenant_id", "store_id", "network", "status", "payment_count", "tx_hash", "created_at")
    list_filter = ("status", "network")
    search_fields = ("batch_id", "tx_hash")
    readonly_fields = hex_bytes_shown(PaymentBatch, [f.name for f in PaymentBatch._meta.fields])
    inlines = [DeadLetterInline, AttemptInline]


@admin.register(SettlementAttempt)
class SettlementAttemptAdmin(ReadOnlyAdmin):
    """Every try, per batch (``dead`` rows predate the dead-letter table)."""

    list_display = ("batch", "attempt", "backend", "outcome", "tx_hash", "created_at")
    list_filter = ("outcome", "backend")
    readonly_fields = ("batch", "attempt", "backend", "outcome", "tx_hash", "tx_nonce", "max_fee_per_gas", "error")


# Settlements one run of "Re-drive" enqueues again.
REDRIVE_PER_RUN = 200


@admin.register(SettlementDeadLetter)
class SettlementDeadLetterAdmin(IndexedSearch, OperatorActionsAdmin):
    """Failed settlements; "Re-drive" enqueues the settlement again (idempotent)."""

    list_display = ("id", "batch", "tenant_id", "status", "attempts", "error_message", "created_at", "redriven_at")
    list_filter = ("status",)
    uuid_search_fields = ("tenant_id", "batch__batch_id")
    search_help_text = "A tenant id or a batch id, whole."
    list_select_related = ("batch",)
    raw_id_fields = ("batch",)
    ordering = ("-id",)
    actions = ["redrive"]

    @admin.action(description="Re-drive selected settlements")
    def redrive(self, request: HttpRequest, queryset: QuerySet[SettlementDeadLetter]) -> None:
        """Re-drive the selected open entries, at most :data:`REDRIVE_PER_RUN` of them; closed ones
        are counted by status, as the projection dead letters' actions count them."""
        report = ActionReport()
        report.closed(queryset.exclude(status=SettlementDeadLetterStatus.OPEN), "re-driven")
        selected = queryset.filter(status=SettlementDeadLetterStatus.OPEN).order_by("id")
        done, left = 0, max(selected.count() - REDRIVE_PER_RUN, 0)  # the open ones this run does not reach
        for tenant_id, entry_id in selected.values_list("tenant_id", "id")[:REDRIVE_PER_RUN]:
            try:
                settlement_dead_letter_redrive(tenant_id=tenant_id, dead_letter_id=entry_id, actor=admin_actor(request))
            except SequencerError as exc:
                report.note(f"Entry {entry_id}: {exc.detail}")
                continue
            done += 1
        summary = (
            f"Re-drove {done} settlements: each batch is enqueued again." if done else "Re-drove no settlement."
        ) + left_for_next_run(left, REDRIVE_PER_RUN, "re-driven")
        report.tell(self, request, summary, ok=bool(done) and not left)
