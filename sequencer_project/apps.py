"""App config for the project package itself, so its system checks register."""

import logging
from typing import Any

from celery import signals
from django.apps import AppConfig

logger = logging.getLogger(__name__)


class SequencerProjectConfig(AppConfig):
    name = "sequencer_project"
    verbose_name = "Sequencer"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from sequencer_project import checks  # noqa: F401  (registers system checks)
        from sequencer_project.db import integer_bounds
        from sequencer_project.db.instrumentation import install_on_connection
        from sequencer_project.db.kept_connections import connection_checked_out
        from sequencer_project.db.session_settings import session_settings_health, verify_on_connection
        from sequencer_project.health_detailed import register_component_check

        integer_bounds.install()  # before any connection copies psycopg's adapters
        connection_created.connect(install_on_connection, dispatch_uid="sequencer_db_query_metrics")
        connection_created.connect(connection_checked_out, dispatch_uid="sequencer_kept_connections")
        # The session settings (timeouts, time zone) as the server has them, on each process's
        # first connection: an ERROR log, and /health/detailed degraded, when they differ.
        connection_created.connect(verify_on_connection, dispatch_uid="sequencer_session_settings")
        register_component_check("database_session", session_settings_health)
        signals.worker_ready.connect(_probe_session_continuity, dispatch_uid="sequencer_session_continuity")


def _probe_session_continuity(**kwargs: Any) -> None:
    """``worker_ready``: the worker takes session-level advisory locks (singleton jobs, the EVM
    sender), so its connections must keep their server session; an ERROR log and
    ``session_lock_violations_total{check="startup_probe"}`` when they do not
    (``sequencer_project.db.locks.session_continuity_problem``). The probe never stops the worker."""
    from sequencer_project.db.locks import session_continuity_problem

    try:
        session_continuity_problem()
    except Exception as exc:  # a probe that cannot run (database away at start) is not a finding
        logger.warning("could not probe the database session continuity: %s", exc)
