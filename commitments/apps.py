from django.apps import AppConfig


class CommitmentsConfig(AppConfig):
    name = "commitments"

    def ready(self) -> None:
        from commitments.anchor_chain import anchor_service_health
        from commitments.lag import commitment_tick_health, read_published_lag
        from commitments.services.anchoring import anchor_given_up_gauge
        from sequencer_project import metrics
        from sequencer_project.health_detailed import register_component_check

        register_component_check("anchor_service", anchor_service_health)
        register_component_check("commitment_tick", commitment_tick_health)

        metrics.register_gauge_provider(
            "sequencer_commitment_lag_events",
            "Largest number of sequenced events of any legacy or VES stream that no commitment covers yet "
            "(published by each automatic commitment tick).",
            read_published_lag,
        )
        metrics.register_gauge_provider(
            "sequencer_anchor_given_up_commitments",
            "Unanchored commitments whose anchoring was given up after ANCHOR_MAX_ATTEMPTS failed sends "
            "(re-armed with manage.py anchor_rearm); absent when anchoring is not configured.",
            anchor_given_up_gauge,
        )
