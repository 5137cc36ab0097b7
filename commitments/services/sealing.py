"""Sealing the due streams, the work of each ``commitments.commitment_tick``, and draining one
stream, the work of ``commitments.stream_commit`` (``docs/commitments.md``, "Automatic
commitments"; ADRs 0029 and 0034).

The tick seals the streams whose head is past their last commitment itself, several streams of
one kind per transaction (:func:`commitments.services.commitments.commitment_extend_chains`; a
seal's statements serve all of them), for up to ``COMMITMENT_TICK_SEAL_SECONDS``: a
``stream_commit`` message per stream cost the worker a task's overhead per stream every interval,
and a transaction per stream its statements per stream. A commitment seals at most
``COMMITMENT_MAX_EVENTS`` (it bounds a proof's and the log's work), so a stream further behind
is sealed again in rounds: each round seals one range of every stream still behind, most behind
first, so a hot stream never starves the others. The streams still behind when the time is up,
and those of a transaction that failed and then failed alone, go to ``commitments.stream_commit``
tasks, which seal range after range (:func:`commitment_stream_drain`) and run on the worker's
other processes.

A stream has at most one such sealer at a time: the tick and the task hold the stream's *drain
lock* while they seal it, a session-level advisory lock in the one-argument (bigint) form,
``pg_try_advisory_lock(stream_wide_lock_key("commitments.stream_drain", tenant, store, kind))``
(a 64-bit key: with 32 bits, two of 100,000 streams would share one with odds of ~69 %, and a hot
stream's drain would starve the other), taken without waiting for all of a tick's streams in one
statement (:func:`sequencer_project.db.locks.session_locks`, which checks at the release that
each was held, ADR 0047). A tick leaves a stream whose lock a task holds to that task; a task
that finds it held returns at once. Each seal still runs under the stream's transaction lock
(``COMMITMENT_STREAM``) and derives its range from committed state, so correctness never rests on
the drain lock (a client's ``POST`` seals beside it); the lock keeps two sealers from taking
turns on one stream and its tasks from multiplying. A sealer that dies frees it with its session;
one whose lock statement is interrupted (a soft time limit) discards its session, which frees it.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from commitments.lag import publish_lag
from commitments.selectors import CommitmentRow, PendingStream, pending_streams
from commitments.services.commitments import ChainsExtended, commitment_extend_chains
from sequencer_project.celery import task_enqueue_on_commit
from sequencer_project.db.locks import session_locks, stream_wide_lock_key
from streams.kinds import StreamKind

logger = logging.getLogger(__name__)


DRAIN_LOCK = "commitments.stream_drain"  # the drain lock's purpose in its key (docs/errors.md)


def drain_lock_key(tenant_id: uuid.UUID, store_id: uuid.UUID, kind: StreamKind) -> int:
    """The 64-bit key of a stream's drain lock (one-argument bigint form)."""
    return stream_wide_lock_key(DRAIN_LOCK, tenant_id, store_id, int(kind))


def _drains(keys: Iterable[int]) -> contextlib.AbstractContextManager[set[int]]:
    """Take the drain locks of ``keys`` that no other session holds, without waiting; yields the
    keys taken and releases them on the way out (each release checked, a session interrupted
    while taking or releasing them discarded). Caller holds no lock of them already."""
    return session_locks(keys, what="commitment drain locks")


def commitment_seal_due(*, max_streams: int) -> int:
    """Seal every stream with uncommitted events up to its head, most behind first, up to
    ``max_streams`` of them (the least recently sealed streams: a quiet stream is not kept out by
    busier ones); returns how many streams were due.

    Publishes the largest backlog as the commitment lag, takes the drain locks of the due streams
    (a stream whose lock a ``stream_commit`` task holds is that task's), then seals them in rounds
    of transactions (:func:`_seal_rounds`) until ``COMMITMENT_TICK_SEAL_SECONDS`` have passed. Every
    stream still behind then, or whose seal failed alone, is handed to a ``commitments.stream_commit``
    task once the drain locks are released (sent at once: the caller holds no transaction). Not a
    transaction itself: each seal is its own durable transaction under its streams' locks, and
    derives its range from committed state, so running this again (or a task sealing the same
    stream meanwhile) seals nothing twice. ``SoftTimeLimitExceeded`` propagates.
    """
    listed, lag = pending_streams(limit=max_streams)  # the least recently sealed first
    publish_lag(lag)
    streams = sorted(listed, key=lambda stream: stream.backlog, reverse=True)  # sealed most behind first
    if not streams:
        return 0
    started = time.monotonic()
    deadline = started + settings.COMMITMENT_TICK_SEAL_SECONDS
    keys = [drain_lock_key(stream.tenant_id, stream.store_id, stream.kind) for stream in streams]
    with _drains(keys) as taken:
        mine = [stream for stream, key in zip(streams, keys, strict=True) if key in taken]
        links, handed = _seal_rounds(mine, deadline)
    for stream in handed:  # after the release: each task takes its stream's drain lock
        task_enqueue_on_commit(
            "commitments.stream_commit", str(stream.tenant_id), str(stream.store_id), int(stream.kind)
        )
    # one line a tick, not one a seal: a busy node seals thousands of streams a minute
    logger.info(
        "commitment tick sealed %d streams (%d commitments), handed %d to stream_commit, left %d to their "
        "stream_commit, in %.0f ms",
        len(mine) - len(handed),
        links,
        len(handed),
        len(streams) - len(mine),
        (time.monotonic() - started) * 1000,
    )
    return len(streams)


def _seal_rounds(streams: list[PendingStream], deadline: float) -> tuple[int, list[PendingStream]]:
    """Seal ``streams`` (most behind first) in rounds until each is at its head or ``deadline``
    passed; returns the commitments sealed and the streams to hand to ``stream_commit``: those
    still behind at the deadline, and those whose seal failed alone.

    A round seals one range of each stream still behind, in transactions (:func:`_transactions`);
    a group that fails is sealed again stream by stream. The next round takes the streams whose
    head was still past their new link, most behind first, so every behind stream gets a range a
    round and none waits for another to catch up. Caller holds the streams' drain locks.
    """
    links = 0
    handed: list[PendingStream] = []
    behind = streams
    while behind:
        again: list[PendingStream] = []
        for group in _transactions(behind):
            if len(group) > 1 and time.monotonic() < deadline:
                extended = _seal_together(group)
                if extended is not None:
                    links += len(extended.links)
                    again += _still_behind(group[0].kind, extended)
                    continue
            for stream in group:  # alone, or one by one after the group failed
                one = _seal_here(stream) if time.monotonic() < deadline else None
                if one is None:  # out of time, or failed: its task seals it
                    handed.append(stream)
                    continue
                links += len(one.links)
                again += _still_behind(stream.kind, one)
        if time.monotonic() >= deadline:
            return links, handed + again
        behind = sorted(again, key=lambda stream: stream.backlog, reverse=True)
    return links, handed


def _still_behind(kind: StreamKind, extended: ChainsExtended) -> list[PendingStream]:
    """The streams whose head (under the seal's lock) was still past their new link."""
    return [
        PendingStream(link.tenant_id, link.store_id, kind, link.sequence_end + left, link.sequence_end)
        for link in extended.links
        if (left := extended.left.get((link.tenant_id, link.store_id), 0)) > 0
    ]


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


def _seal_together(group: list[PendingStream]) -> ChainsExtended | None:
    """Seal a transaction's streams; ``None`` when it failed (the caller seals them one by one)."""
    try:
        return commitment_extend_chains(
            kind=group[0].kind,
            streams=[(stream.tenant_id, stream.store_id) for stream in group],
            max_events=settings.COMMITMENT_MAX_EVENTS,
        )
    except SoftTimeLimitExceeded:
        raise
    except Exception:  # one stream's failure rolls its transaction back; each is tried alone then
        logger.warning("sealing %d streams together failed; sealing them one by one", len(group), exc_info=True)
        return None


def _seal_here(stream: PendingStream) -> ChainsExtended | None:
    """Seal one stream's next range in the tick; ``None`` when it failed (its task retries it)."""
    try:
        return commitment_extend_chains(
            kind=stream.kind,
            streams=[(stream.tenant_id, stream.store_id)],
            max_events=settings.COMMITMENT_MAX_EVENTS,
        )
    except SoftTimeLimitExceeded:
        raise
    except Exception:  # one stream's failure must not hold the others; stream_commit retries it
        logger.exception(
            "commitment of %s/%s failed in the tick; handing it to stream_commit", stream.tenant_id, stream.store_id
        )
        return None


@dataclass(frozen=True, slots=True)
class StreamDrained:
    """What :func:`commitment_stream_drain` did: the commitments it sealed, the last of them, and
    whether the stream was still behind when its time was up (a new task carries on) or another
    sealer held it (nothing was done)."""

    links: int
    last: CommitmentRow | None
    behind: bool
    busy: bool


def commitment_stream_drain(
    *, tenant_id: uuid.UUID, store_id: uuid.UUID, kind: StreamKind, seconds: float
) -> StreamDrained:
    """Seal one stream range after range (each up to ``COMMITMENT_MAX_EVENTS``, each its own
    durable transaction) until its chain reaches its head or ``seconds`` have passed; then, if it
    is still behind, enqueue ``commitments.stream_commit`` for it again (after releasing the drain
    lock, so the next task can take it). Seals at least one range when one is due.

    Runs only as the stream's one drainer: when another session holds its drain lock (the tick,
    or another task) it returns at once, ``busy``, and enqueues nothing (that sealer carries on).
    A seal that raises propagates (the lock is released; the task's retry or the next tick takes
    the stream up again). Caller holds no transaction.
    """
    deadline = time.monotonic() + seconds
    links, last, behind = 0, None, False
    with _drains([drain_lock_key(tenant_id, store_id, kind)]) as taken:
        if not taken:
            return StreamDrained(links=0, last=None, behind=False, busy=True)
        while True:
            extended = commitment_extend_chains(
                kind=kind, streams=[(tenant_id, store_id)], max_events=settings.COMMITMENT_MAX_EVENTS
            )
            links += len(extended.links)
            last = extended.links[-1] if extended.links else last
            if not extended.left:
                break
            if time.monotonic() >= deadline:
                behind = True
                break
    if behind:
        task_enqueue_on_commit("commitments.stream_commit", str(tenant_id), str(store_id), int(kind))
    logger.debug("stream_commit of %s/%s sealed %d commitments (still behind: %s)", tenant_id, store_id, links, behind)
    return StreamDrained(links=links, last=last, behind=behind, busy=False)
