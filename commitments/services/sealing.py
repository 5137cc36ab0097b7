"""Sealing the due streams, the work of each ``commitments.commitment_tick`` (``docs/commitments.md``,
"Automatic commitments"; ADRs 0029 and 0034).

The tick seals the streams whose head is past their last commitment itself, several streams of
one kind per transaction (:func:`commitments.services.commitments.commitment_seal_streams`; a
seal's statements serve all of them), for up to ``COMMITMENT_TICK_SEAL_SECONDS``: a
``stream_commit`` message per stream cost the worker a task's overhead per stream every interval,
and a transaction per stream its statements per stream. The streams left when the time is up,
and those of a transaction that failed and then failed alone, go to ``commitments.stream_commit``
tasks, which retry and run on the worker's other processes.
"""

from __future__ import annotations

import logging
import time
import uuid

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from commitments.lag import publish_lag
from commitments.selectors import PendingStream, pending_streams
from commitments.services.commitments import commitment_seal_next, commitment_seal_streams
from sequencer_project.celery import task_enqueue_on_commit
from streams.kinds import StreamKind

logger = logging.getLogger(__name__)


def commitment_seal_due(*, max_streams: int) -> int:
    """Seal the next range of every stream with uncommitted events, most behind first, up to
    ``max_streams`` of them; returns how many streams were due.

    Publishes the largest backlog as the commitment lag, then seals the streams in transactions
    (:func:`_transactions`) until ``COMMITMENT_TICK_SEAL_SECONDS`` have passed; a group that fails
    is sealed again stream by stream. Every stream left, or whose seal failed alone, is handed to a
    ``commitments.stream_commit`` task (sent at once: the caller holds no transaction). Not a
    transaction itself: each seal is its own durable transaction under its streams' locks, and
    derives its range from committed state, so running this again (or a task sealing the same
    stream meanwhile) seals nothing twice. ``SoftTimeLimitExceeded`` propagates.
    """
    streams = pending_streams(limit=max_streams)
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
            task_enqueue_on_commit(
                "commitments.stream_commit", str(stream.tenant_id), str(stream.store_id), int(stream.kind)
            )
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
