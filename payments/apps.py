"""The payments app: x402 intents, batches and settlement (docs/payments.md)."""

from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from payments.selectors import batches_failed_count, intents_waiting_count
        from sequencer_project.metrics import register_gauge_provider

        register_gauge_provider(
            "x402_batches_failed", "x402 batches whose settlement gave up (dead letters).", batches_failed_count
        )
        register_gauge_provider(
            "x402_intents_waiting", "x402 intents sequenced but not yet batched.", intents_waiting_count
        )
