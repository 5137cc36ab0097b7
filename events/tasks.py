"""Celery tasks of the events app (queue ``projections``, routed by ``events.projection_*``)."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from events.services.projections import Shard, projection_run_all
from sequencer_project.db.singleton import try_run_singleton

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
