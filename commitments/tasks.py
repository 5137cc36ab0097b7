"""Automatic commitments (``docs/commitments.md``): beat ticks that seal the due streams, and an
idempotent task per stream for what a tick leaves.

``commitments.commitment_tick`` runs every ``COMMITMENT_INTERVAL_SECONDS`` on one node at a time
(``@singleton_job``) and seals every stream whose head is past its last commitment, itself for up
to ``COMMITMENT_TICK_SEAL_SECONDS``, then through ``commitments.stream_commit`` messages. A seal
derives its range from the committed state under the stream lock, so a duplicate or redelivered
message seals nothing twice.
"""

from __future__ import annotations

import uuid

from celery import shared_task
from django.conf import settings

from commitments.anchor_chain import anchoring_configured
from commitments.errors import CommitmentNotFoundError
from commitments.services.anchoring import commitment_anchor
from commitments.services.commitments import commitment_seal_next
from commitments.services.sealing import commitment_seal_due
from commitments.tenant_selectors import commitment_tenant_id
from sequencer_project.db.singleton import singleton_job
from sequencer_project.tenant_keys import task_tenant_and_id
from streams.kinds import StreamKind

# A tick takes at most this many streams; the rest wait for the next tick (most behind first).
MAX_STREAMS_PER_TICK = 1000


@shared_task(name="commitments.commitment_tick", acks_late=True, soft_time_limit=30, time_limit=60)
@singleton_job("commitments.commitment_tick")
def commitment_tick() -> int:
    """Seal the next range of every stream with uncommitted events (most behind first); returns
    how many streams were due (:func:`commitments.services.sealing.commitment_seal_due`: several
    streams per transaction for up to ``COMMITMENT_TICK_SEAL_SECONDS``, the rest handed to
    ``stream_commit`` tasks)."""
    return commitment_seal_due(max_streams=MAX_STREAMS_PER_TICK)


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
def commitment_anchor_task(tenant_id: str, batch_id: str | None = None) -> str | None:
    """Anchor commitment ``(tenant_id, batch_id)`` (no-op when anchoring is not configured or it is
    anchored already). A message of the previous release carries the batch id alone (it arrives
    as ``tenant_id``): its tenant is looked up once by id (:mod:`sequencer_project.tenant_keys`)."""
    if not anchoring_configured():
        return None
    tenant, batch = task_tenant_and_id(tenant_id, batch_id, tenant_of=commitment_tenant_id)
    if tenant is None:
        raise CommitmentNotFoundError(f"No commitment {batch}.")
    result = commitment_anchor(tenant_id=tenant, batch_id=batch)
    return result.commitment.chain_tx_hash.hex() if result.commitment.chain_tx_hash else None
