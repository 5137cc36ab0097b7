"""Retention of the rejection log: ``rejected_events`` rows older than
``REJECTED_EVENTS_RETENTION_DAYS`` are deleted (docs/operations.md, "Retention").

Every per-event rejection is stored with the body received, and a client retrying a refused
batch adds a row per event per try, so without a bound the table grows at that client's ingest
rate. The beat task ``events.rejections_prune`` calls :func:`rejected_events_prune` on one node
at a time; it deletes a bounded batch per transaction (oldest first, through
``rejected_events_rejected_at_idx``) until none is left or its time budget is spent, and the
next run goes on. Idempotent: a row is deleted once, a rerun finds fewer or none.

Only ``rejected_events`` is pruned: ``audit_log`` is an audit trail, kept by policy, and
``command_dedupe`` is what makes a command id idempotent, so neither has a retention here.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.db import connection, transaction

from events.sql import DELETE_REJECTED_EVENTS_EXPIRED

logger = logging.getLogger(__name__)

# Rows per DELETE (one transaction each): short row locks and WAL bursts, ~1 s at most.
PRUNE_BATCH_SIZE = 5000
# A run stops starting batches after this long (the task's soft limit is 50 s); the rest is left
# to the next run.
PRUNE_BUDGET_SECONDS = 20.0


@dataclass(frozen=True, slots=True)
class RejectionsPruned:
    """What one run deleted: ``deleted`` rows in ``batches`` transactions; ``exhausted_budget``
    when it stopped with old rows possibly left for the next run."""

    deleted: int
    batches: int
    exhausted_budget: bool


def rejected_events_prune(
    *,
    retention_days: int,
    batch_size: int = PRUNE_BATCH_SIZE,
    budget_seconds: float = PRUNE_BUDGET_SECONDS,
) -> RejectionsPruned:
    """Prune the ``rejected_events`` rows rejected more than ``retention_days`` days ago (by the
    database's clock), ``batch_size`` rows per transaction, oldest first, until a batch comes
    back short or ``budget_seconds`` have passed. ``retention_days`` 0 (or less) deletes nothing.
    """
    if retention_days <= 0:
        return RejectionsPruned(deleted=0, batches=0, exhausted_budget=False)
    params = {"retention_days": retention_days, "batch_size": batch_size}
    deadline = time.monotonic() + budget_seconds
    deleted = batches = 0
    while True:
        with transaction.atomic(durable=True), connection.cursor() as cursor:
            cursor.execute(DELETE_REJECTED_EVENTS_EXPIRED, params)
            rows = cursor.rowcount
        deleted += rows
        batches += 1
        if rows < batch_size:
            return RejectionsPruned(deleted=deleted, batches=batches, exhausted_budget=False)
        if time.monotonic() >= deadline:
            return RejectionsPruned(deleted=deleted, batches=batches, exhausted_budget=True)
