"""The payments app: x402 intents, batches and settlement (docs/payments.md)."""

from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"

    def ready(self) -> None:
        from payments.selectors import settlement_dead_letter_open_count
        from sequencer_project.metrics import register_gauge_provider

        register_gauge_provider(
            "x402_dlq_size", "x402 settlement dead letters open (batch failed).", settlement_dead_letter_open_count
        )
