"""The payments app: x402 intents, batches and settlement (docs/payments.md)."""

from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    default_auto_field = "django.db.models.BigAutoField"
