from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "events"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from events.projections.entity_state import EntityStateProjection
        from events.projections.registry import projection_register
        from events.projections.selectors import dead_letter_open_count, projection_lag_max
        from sequencer_project.metrics import register_gauge_provider

        projection_register(EntityStateProjection())
        register_gauge_provider(
            "projection_lag_events",
            "Largest number of events any projection is behind any stream's head.",
            projection_lag_max,
        )
        register_gauge_provider("dlq_size", "Projection dead letters pending or parked.", dead_letter_open_count)
