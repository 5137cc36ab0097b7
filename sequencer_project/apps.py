"""App config for the project package itself, so its system checks register."""

from django.apps import AppConfig


class SequencerProjectConfig(AppConfig):
    name = "sequencer_project"
    verbose_name = "Sequencer"

    def ready(self) -> None:
        from sequencer_project import checks  # noqa: F401  (registers system checks)
