"""Operator views of intents, batches and settlement attempts (``dead`` rows = dead letters)."""

from __future__ import annotations

from django.contrib import admin

from payments.models import PaymentBatch, PaymentIntent, SettlementAttempt


@admin.register(PaymentIntent)
class PaymentIntentAdmin(admin.ModelAdmin[PaymentIntent]):
    list_display = ("intent_id", "tenant_id", "store_id", "sequence_number", "status", "amount", "asset", "network")
    list_filter = ("status", "network", "asset")
    search_fields = ("intent_id", "payer_address", "payee_address", "idempotency_key")
    readonly_fields = [f.name for f in PaymentIntent._meta.fields]


class AttemptInline(admin.TabularInline[SettlementAttempt, PaymentBatch]):
    model = SettlementAttempt
    extra = 0
    can_delete = False
    readonly_fields = ("attempt", "backend", "outcome", "tx_hash", "tx_nonce", "max_fee_per_gas", "error", "created_at")


@admin.register(PaymentBatch)
class PaymentBatchAdmin(admin.ModelAdmin[PaymentBatch]):
    list_display = ("batch_id", "tenant_id", "store_id", "network", "status", "payment_count", "tx_hash", "created_at")
    list_filter = ("status", "network")
    search_fields = ("batch_id", "tx_hash")
    readonly_fields = [f.name for f in PaymentBatch._meta.fields]
    inlines = [AttemptInline]


@admin.register(SettlementAttempt)
class SettlementAttemptAdmin(admin.ModelAdmin[SettlementAttempt]):
    """Filter ``outcome = dead`` for the batches that need an operator."""

    list_display = ("batch", "attempt", "backend", "outcome", "tx_hash", "created_at")
    list_filter = ("outcome", "backend")
    readonly_fields = ("batch", "attempt", "backend", "outcome", "tx_hash", "tx_nonce", "max_fee_per_gas", "error")
