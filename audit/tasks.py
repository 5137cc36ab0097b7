"""Celery tasks of the staff side: ``audit.sessions_prune`` (expired admin sessions) on the
default ``maintenance`` queue."""

from __future__ import annotations

import logging

from celery import shared_task

from audit.services import expired_sessions_delete
from sequencer_project.db.singleton import singleton_job

logger = logging.getLogger(__name__)


@shared_task(name="audit.sessions_prune", acks_late=True, soft_time_limit=50, time_limit=60, ignore_result=True)
@singleton_job("audit.sessions_prune")
def sessions_prune() -> int:
    """Beat job (every ``SESSIONS_PRUNE_INTERVAL_SECONDS``, one node at a time): delete the admin
    sessions past their expiry (``django_session``: one row per login, never deleted otherwise);
    how many. Logs the count when any."""
    deleted = expired_sessions_delete()
    if deleted:
        logger.info("admin sessions: deleted %d expired", deleted)
    return deleted
