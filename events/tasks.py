"""Celery tasks of the events app (queue ``projections``, routed by ``events.projection_*``)."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from events.services.projections import projection_run_all
from sequencer_project.db.singleton import singleton_job

logger = logging.getLogger(__name__)


@shared_task(
    name="events.projection_run",
    acks_late=True,
    soft_time_limit=settings.PROJECTION_RUN_SOFT_TIME_LIMIT,
    time_limit=settings.PROJECTION_RUN_SOFT_TIME_LIMIT + 15,
    ignore_result=True,
)
@singleton_job("events.projection_run")
def projection_run() -> None:
    """Beat tick (every ``PROJECTION_RUN_INTERVAL_SECONDS``): retry due dead letters, then
    advance every projection on every stream with new events, for at most
    ``PROJECTION_RUN_BUDGET_SECONDS``. One node at a time (singleton); each batch is its own
    exactly-once transaction, so a killed or redelivered tick is harmless. Budget: one batch
    (``PROJECTION_BATCH_SIZE`` events) in memory.
    """
    result = projection_run_all(
        batch_size=settings.PROJECTION_BATCH_SIZE, time_budget_seconds=settings.PROJECTION_RUN_BUDGET_SECONDS
    )
    if result.batches or result.retried:
        logger.info(
            "projections: %d streams, %d batches, %d applied, %d dead-lettered, %d retried%s",
            result.streams,
            result.batches,
            result.applied,
            result.dead_lettered,
            result.retried,
            " (budget exhausted)" if result.exhausted_budget else "",
        )
