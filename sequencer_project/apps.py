"""App config for the project package itself, so its system checks register."""

from django.apps import AppConfig


class SequencerProjectConfig(AppConfig):
    name = "sequencer_project"
    verbose_name = "Sequencer"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from sequencer_project import checks  # noqa: F401  (registers system checks)
        from sequencer_project.db import integer_bounds
        from sequencer_project.db.instrumentation import install_on_connection
        from sequencer_project.db.kept_connections import connection_checked_out

        integer_bounds.install()  # before any connection copies psycopg's adapters
        connection_created.connect(install_on_connection, dispatch_uid="sequencer_db_query_metrics")
        connection_created.connect(connection_checked_out, dispatch_uid="sequencer_kept_connections")
