from typing import Any

from django.apps import AppConfig
from django.core import checks


def check_payload_encryption(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    """Payload encryption settings parse, and ``required`` has a key (docs/encryption.md)."""
    from django.conf import settings

    from events.payload_crypto import MODES, KeyringConfigError, _keyrings

    mode = settings.PAYLOAD_ENCRYPTION_MODE
    if mode not in MODES:
        return [
            checks.Error(f"PAYLOAD_ENCRYPTION_MODE={mode!r}: use required, optional or disabled.", id="events.E101")
        ]
    try:
        global_ring, by_tenant = _keyrings(settings.PAYLOAD_ENCRYPTION_KEYS, settings.PAYLOAD_ENCRYPTION_KEYS_BY_TENANT)
    except KeyringConfigError as exc:
        return [checks.Error(f"Payload encryption keys: {exc}", id="events.E102")]
    if mode == "required" and global_ring.newest is None and not by_tenant:
        return [
            checks.Error(
                "PAYLOAD_ENCRYPTION_MODE is required but no payload key is configured.",
                hint="Set PAYLOAD_ENCRYPTION_KEYS (or _FILE), or PAYLOAD_ENCRYPTION_MODE=optional outside production.",
                id="events.E103",
            )
        ]
    return []


class EventsConfig(AppConfig):
    name = "events"

    def ready(self) -> None:
        checks.register(check_payload_encryption)
        from events.projections.entity_state import EntityStateProjection
        from events.projections.registry import projection_register
        from events.projections.selectors import (
            dead_letter_open_count,
            projection_health,
            projection_lag_max,
            projection_stalled_count,
        )
        from sequencer_project.health_detailed import register_component_check
        from sequencer_project.metrics import register_gauge_provider

        projection_register(EntityStateProjection())
        register_gauge_provider(
            "projection_lag_events",
            "Largest number of events any projection is behind any stream's head.",
            projection_lag_max,
        )
        register_gauge_provider("dlq_size", "Projection dead letters pending or parked.", dead_letter_open_count)
        register_gauge_provider(
            "projection_stalled_streams",
            "Streams whose head moves while a projection's checkpoint has not for PROJECTION_STALL_SECONDS.",
            projection_stalled_count,
        )
        register_component_check("projections", projection_health)
