"""Celery tasks of the events app: ``events.projection_*`` on queue ``projections``;
``events.rejections_prune`` (retention of the rejection log) on the default ``maintenance``."""

from __future__ import annotations

import logging
import time

from celery import shared_task
from django.conf import settings

from events.services.projections import Shard, projection_run_all
from events.services.rejection_retention import rejected_events_prune
from sequencer_project.db.singleton import singleton_job, try_run_singleton

logger = logging.getLogger(__name__)


@shared_task(
    name="events.projection_run",
    acks_late=True,
    soft_time_limit=settings.PROJECTION_RUN_SOFT_TIME_LIMIT,
    time_limit=settings.PROJECTION_RUN_SOFT_TIME_LIMIT + 15,
    ignore_result=True,
)
def projection_run(shard: int = 0, shards: int = 1) -> None:
    """Beat tick (every ``PROJECTION_RUN_INTERVAL_SECONDS``, one per shard of
    ``PROJECTION_SHARDS``): retry due dead letters (shard 0), then advance every projection on
    every stream of the shard with new events, for at most ``PROJECTION_RUN_BUDGET_SECONDS``.
    One node at a time per shard (singleton); shards run side by side on disjoint streams; each
    batch is its own exactly-once transaction, so a killed or redelivered tick is harmless.
    A message without arguments (an older release's) is one tick over every stream.
    Budget: one batch (``PROJECTION_BATCH_SIZE`` events) in memory.
    """
    where = Shard(shard, shards)
    try_run_singleton(f"events.projection_run:{shard}/{shards}", lambda: _run(where))


def _run(shard: Shard) -> None:
    result = projection_run_all(
        batch_size=settings.PROJECTION_BATCH_SIZE,
        time_budget_seconds=settings.PROJECTION_RUN_BUDGET_SECONDS,
        shard=shard,
    )
    if result.batches or result.retried:
        logger.info(
            "projections (shard %d of %d): %d streams, %d batches, %d applied, %d dead-lettered, %d retried%s",
            shard.index,
            shard.of,
            result.streams,
            result.batches,
            result.applied,
            result.dead_lettered,
            result.retried,
            " (budget exhausted)" if result.exhausted_budget else "",
        )


@shared_task(name="events.rejections_prune", acks_late=True, soft_time_limit=50, time_limit=60, ignore_result=True)
@singleton_job("events.rejections_prune")
def rejections_prune() -> int:
    """Beat job (every ``REJECTED_EVENTS_PRUNE_INTERVAL_SECONDS``, one node at a time): delete the
    ``rejected_events`` rows older than ``REJECTED_EVENTS_RETENTION_DAYS`` (0: none), in bounded
    batches for at most ``PRUNE_BUDGET_SECONDS``; how many. Logs the count when any."""
    started = time.monotonic()
    days = settings.REJECTED_EVENTS_RETENTION_DAYS
    result = rejected_events_prune(retention_days=days)
    if result.deleted:
        logger.info(
            "rejected_events retention: pruned %d rows older than %d days in %d batches, %.0f ms%s",
            result.deleted,
            days,
            result.batches,
            (time.monotonic() - started) * 1000,
            " (budget exhausted: the next run goes on)" if result.exhausted_budget else "",
        )
    return result.deleted
