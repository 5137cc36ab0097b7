"""Automatic commitments (``docs/commitments.md``): beat ticks, one idempotent task per stream.

``commitments.commitment_tick`` runs every ``COMMITMENT_INTERVAL_SECONDS`` on one node at a time
(``@singleton_job``) and enqueues ``commitments.stream_commit`` for every stream whose head is past
its last commitment. That task derives its range from the committed state under the stream lock,
so a duplicate or redelivered message seals nothing twice.
"""

from __future__ import annotations

import logging
import uuid

from celery import shared_task
from django.conf import settings

from commitments.anchor_chain import anchoring_configured
from commitments.lag import publish_lag
from commitments.selectors import commitment_lag, pending_streams
from commitments.services.anchoring import commitment_anchor
from commitments.services.commitments import commitment_seal_next
from sequencer_project.db.singleton import singleton_job
from streams.kinds import StreamKind

logger = logging.getLogger(__name__)

# A tick enqueues at most this many streams; the rest wait for the next tick (most behind first).
MAX_STREAMS_PER_TICK = 1000


@shared_task(name="commitments.commitment_tick", acks_late=True, soft_time_limit=30, time_limit=60)
@singleton_job("commitments.commitment_tick")
def commitment_tick() -> int:
    """Enqueue one ``stream_commit`` per stream with uncommitted events; returns how many."""
    streams = pending_streams(limit=MAX_STREAMS_PER_TICK)
    publish_lag(commitment_lag())
    for stream in streams:
        stream_commit.delay(str(stream.tenant_id), str(stream.store_id), int(stream.kind))
    return len(streams)


@shared_task(
    name="commitments.stream_commit",
    acks_late=True,
    soft_time_limit=60,
    time_limit=90,
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def stream_commit(tenant_id: str, store_id: str, stream_kind: int) -> str | None:
    """Seal the next range (up to ``COMMITMENT_MAX_EVENTS``) of one stream; the batch id or ``None``."""
    result = commitment_seal_next(
        tenant_id=uuid.UUID(tenant_id),
        store_id=uuid.UUID(store_id),
        kind=StreamKind(stream_kind),
        max_events=settings.COMMITMENT_MAX_EVENTS,
    )
    if result is None:
        return None
    return str(result.commitment.batch_id)


@shared_task(name="commitments.commitment_anchor", acks_late=True, soft_time_limit=300, time_limit=360)
def commitment_anchor_task(batch_id: str) -> str | None:
    """Anchor one commitment (no-op when anchoring is not configured or it is anchored already)."""
    if not anchoring_configured():
        return None
    result = commitment_anchor(batch_id=uuid.UUID(batch_id))
    return result.commitment.chain_tx_hash.hex() if result.commitment.chain_tx_hash else None
