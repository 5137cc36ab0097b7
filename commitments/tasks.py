"""Automatic commitments (``docs/commitments.md``): beat ticks that seal the due streams, and an
idempotent task per stream for what a tick leaves.

``commitments.commitment_tick`` runs every ``COMMITMENT_INTERVAL_SECONDS`` on one node at a time
(``@singleton_job``) and seals every stream whose head is past its last commitment, itself for up
to ``COMMITMENT_TICK_SEAL_SECONDS``, then through ``commitments.stream_commit`` messages. A seal
derives its range from the committed state under the stream lock, so a duplicate or redelivered
message seals nothing twice.
"""

from __future__ import annotations

import logging
import time
import uuid

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from commitments.anchor_chain import anchoring_configured
from commitments.errors import CommitmentNotFoundError
from commitments.lag import publish_lag
from commitments.selectors import PendingStream, pending_streams
from commitments.services.anchoring import commitment_anchor
from commitments.services.commitments import commitment_seal_next, commitment_seal_streams
from commitments.tenant_selectors import commitment_tenant_id
from sequencer_project.db.singleton import singleton_job
from sequencer_project.tenant_keys import task_tenant_and_id
from streams.kinds import StreamKind

logger = logging.getLogger(__name__)

# A tick takes at most this many streams; the rest wait for the next tick (most behind first).
MAX_STREAMS_PER_TICK = 1000


@shared_task(name="commitments.commitment_tick", acks_late=True, soft_time_limit=30, time_limit=60)
@singleton_job("commitments.commitment_tick")
def commitment_tick() -> int:
    """Seal the next range of every stream with uncommitted events (most behind first); returns
    how many streams were due.

    The tick seals them itself, several streams per transaction (:func:`_transactions`; a seal's
    statements serve all of them), for up to ``COMMITMENT_TICK_SEAL_SECONDS``: a
    ``stream_commit`` message per stream cost the worker a task's overhead per stream every
    interval, and a transaction per stream its statements per stream (docs/commitments.md). The
    streams left when the time is up, and those of a transaction that failed and then failed
    alone, go to ``stream_commit`` tasks, which retry and run on the worker's other processes.
    """
    streams = pending_streams(limit=MAX_STREAMS_PER_TICK)
    publish_lag(streams[0].backlog if streams else 0)  # the most behind first: its backlog is the lag
    started = time.monotonic()
    deadline = started + settings.COMMITMENT_TICK_SEAL_SECONDS
    handed = 0
    for group in _transactions(streams):
        if len(group) > 1 and time.monotonic() < deadline and _seal_together(group):
            continue
        for stream in group:  # alone, or one by one after the group failed
            if time.monotonic() < deadline and _seal_here(stream.tenant_id, stream.store_id, stream.kind):
                continue
            stream_commit.delay(str(stream.tenant_id), str(stream.store_id), int(stream.kind))
            handed += 1
    if streams:  # one line a tick, not one a seal: a busy node seals thousands of streams a minute
        logger.info(
            "commitment tick sealed %d streams, handed %d to stream_commit, in %.0f ms",
            len(streams) - handed,
            handed,
            (time.monotonic() - started) * 1000,
        )
    return len(streams)


def _transactions(streams: list[PendingStream]) -> list[list[PendingStream]]:
    """The due streams in transactions: one kind each, in the given order, up to
    ``COMMITMENT_TRANSACTION_EVENTS`` events to seal (at least one stream each)."""
    budget, cap = settings.COMMITMENT_TRANSACTION_EVENTS, settings.COMMITMENT_MAX_EVENTS
    groups: list[list[PendingStream]] = []
    open_groups: dict[StreamKind, tuple[list[PendingStream], int]] = {}
    for stream in streams:
        events = min(stream.backlog, cap)
        group, total = open_groups.get(stream.kind, ([], 0))
        if group and total + events > budget:
            group, total = [], 0
        if not group:
            groups.append(group)
        group.append(stream)
        open_groups[stream.kind] = (group, total + events)
    return groups


def _seal_together(group: list[PendingStream]) -> bool:
    """Seal a transaction's streams; ``False`` when it failed (the caller seals them one by one)."""
    try:
        commitment_seal_streams(
            kind=group[0].kind,
            streams=[(stream.tenant_id, stream.store_id) for stream in group],
            max_events=settings.COMMITMENT_MAX_EVENTS,
        )
    except SoftTimeLimitExceeded:
        raise
    except Exception:  # one stream's failure rolls its transaction back; each is tried alone then
        logger.warning("sealing %d streams together failed; sealing them one by one", len(group), exc_info=True)
        return False
    return True


def _seal_here(tenant_id: uuid.UUID, store_id: uuid.UUID, kind: StreamKind) -> bool:
    """Seal one stream's next range in the tick; ``False`` when it failed (its task retries it)."""
    try:
        commitment_seal_next(
            tenant_id=tenant_id, store_id=store_id, kind=kind, max_events=settings.COMMITMENT_MAX_EVENTS
        )
    except SoftTimeLimitExceeded:
        raise
    except Exception:  # one stream's failure must not hold the others; stream_commit retries it
        logger.exception("commitment of %s/%s failed in the tick; handing it to stream_commit", tenant_id, store_id)
        return False
    return True


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
