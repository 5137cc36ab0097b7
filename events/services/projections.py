"""The projection runner (``docs/projections.md``).

Exactly once: a batch reads the checkpoint, applies the next events and moves the checkpoint
in ONE transaction, under a transaction-scoped advisory lock on ``(projection, stream)``. A
worker killed mid-batch rolls the whole batch back (writes and checkpoint alike); a redelivered
or concurrent run either waits for nothing (``try`` lock: it skips the stream) or starts from
the committed checkpoint. So no event is skipped or applied twice.

A handler that raises sends its event to ``projection_dead_letters`` (in the same transaction,
after rolling back the event's savepoint) and the batch goes on: poison events never block a
stream. Database connection failures and the Celery soft time limit abort the batch instead.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import psycopg
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from audit.services import audit_record
from events.errors import StreamNeverWrittenError, UnknownProjectionError
from events.models import DeadLetterStatus, ProjectionDeadLetter
from events.payload_crypto import PayloadDecryptionError, PayloadEncryptionUnavailableError
from events.projections.registry import (
    Projection,
    ProjectionEvent,
    projection_event_from_row,
    projection_get,
    projections,
)
from events.sql import (
    ENSURE_PROJECTION_CHECKPOINTS,
    INSERT_DEAD_LETTER,
    LOCK_PROJECTION_STREAMS,
    REFER_PROJECTION_BATCHES,
    RESET_PROJECTION_CHECKPOINT,
    SELECT_HEAD,
    SELECT_PROJECTION_BATCHES,
    SELECT_PROJECTION_STREAMS_DUE,
    UPDATE_PROJECTION_CHECKPOINTS,
)
from sequencer_project.db.kept_cursor import fetch, row_format
from sequencer_project.db.locks import LockNamespace, advisory_xact_lock
from streams.kinds import stream_params

logger = logging.getLogger(__name__)

# Failures that say nothing about the event: abort the batch (it is retried whole next tick).
# A state that no key opens, or no key to seal one with, stalls the stream like a payload that
# no key opens (projection_run_all), instead of dead-lettering every event of the entity.
ABORT_BATCH: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    SoftTimeLimitExceeded,
    PayloadDecryptionError,
    PayloadEncryptionUnavailableError,
)
# Of those, what ends a whole projection transaction (it is retried next tick), and what stops
# one stream of it (the others commit).
_ABORT_TRANSACTION: tuple[type[BaseException], ...] = (OperationalError, InterfaceError, SoftTimeLimitExceeded)
_STALL_STREAM: tuple[type[BaseException], ...] = (PayloadDecryptionError, PayloadEncryptionUnavailableError)


class StreamGapError(RuntimeError):
    """A hole below the stream's head (never expected: the store is gap-free)."""


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What one batch did on one stream. ``locked`` is False when another worker held it."""

    projection: str
    tenant_id: uuid.UUID
    store_id: uuid.UUID
    locked: bool
    applied: int
    dead_lettered: int
    checkpoint: int


@dataclass(frozen=True, slots=True)
class RunResult:
    streams: int  # due streams listed, counted again when a large round lists them again
    batches: int
    applied: int
    dead_lettered: int
    retried: int
    exhausted_budget: bool


def projection_lock_key(projection: str, tenant_id: uuid.UUID, store_id: uuid.UUID) -> int:
    """Signed 32-bit key of ``(projection, stream)`` under ``LockNamespace.PROJECTION_STREAM``."""
    digest = hashlib.sha256(projection.encode() + b"\x00" + tenant_id.bytes + store_id.bytes).digest()
    return int.from_bytes(digest[:4], "big", signed=True)


def dead_letter_backoff(attempts: int) -> timedelta:
    """Delay before retry number ``attempts + 1``: base doubling per attempt, capped."""
    base = settings.PROJECTION_DLQ_BACKOFF_BASE_SECONDS
    cap = settings.PROJECTION_DLQ_BACKOFF_MAX_SECONDS
    return timedelta(seconds=min(cap, base * 2 ** max(attempts - 1, 0)))


def apply_in_savepoint(projection: Projection, event: ProjectionEvent) -> BaseException | None:
    """Apply one event in a savepoint (a dead-letter retry, or a batch applied one by one); the
    handler's exception is returned, not raised.

    A handler offering ``apply_one`` (``entity_state``) applies it that way: a retried event
    older than its entity's state refolds the entity from its history, and the entity's other
    events that refold could not apply are dead-lettered here, in the savepoint, as the runner
    dead-letters them (docs/projections.md, "Dead letters"). Caller holds the transaction and
    the stream lock. Batch-aborting failures propagate.
    """
    try:
        with transaction.atomic():
            apply_one = getattr(projection, "apply_one", None)
            if apply_one is None:
                projection.apply(event)
            else:
                failures: list[tuple[ProjectionEvent, BaseException]] = apply_one(event)
                for other, error in failures:
                    _record_dead_letter(projection, other, error)
    except ABORT_BATCH:
        raise
    except Exception as exc:  # any handler failure dead-letters the event (by design)
        return exc
    return None


def _apply_batch(handler: Projection, events: list[ProjectionEvent]) -> list[tuple[ProjectionEvent, BaseException]]:
    """Apply a batch in order; returns the events that failed, with their errors.

    A handler with ``apply_many`` takes the batch at once in a savepoint; if that raises (a
    database error, say), the savepoint is rolled back and the events are applied one by one,
    each in its own savepoint, so only the poison events fail. Caller holds the transaction and
    the stream lock. Batch-aborting failures propagate.
    """
    apply_many = getattr(handler, "apply_many", None)
    if apply_many is not None and events:
        try:
            with transaction.atomic():
                failures: list[tuple[ProjectionEvent, BaseException]] = apply_many(events)
            return failures
        except ABORT_BATCH:
            raise
        except Exception as exc:  # find the poison event: one savepoint per event
            logger.info("projection %s: batch failed (%s); applying one by one", handler.name, type(exc).__name__)
    outcomes = ((event, apply_in_savepoint(handler, event)) for event in events)
    return [(event, error) for event, error in outcomes if error is not None]


def dead_letter_error(exc: BaseException) -> tuple[str, str]:
    """The ``(error_class, error_message)`` a dead letter stores and the admin API returns.

    Database errors keep only their SQLSTATE and primary message: psycopg's ``str()`` goes on
    with ``DETAIL``/``CONTEXT`` lines that quote the statement's data and bound parameters.
    """
    error_class = f"{type(exc).__module__}.{type(exc).__qualname__}"[:200]
    if not isinstance(exc, DatabaseError | psycopg.Error):
        return error_class, str(exc)[:4000]
    cause = exc if isinstance(exc, psycopg.Error) else exc.__cause__
    sqlstate = getattr(cause, "sqlstate", None)
    diag = getattr(cause, "diag", None)
    primary = getattr(diag, "message_primary", None) or str(cause or exc).split("\n", 1)[0]
    return error_class, (f"SQLSTATE {sqlstate}: {primary}" if sqlstate else primary)[:500]


def _require(name: str) -> Projection:
    projection = projection_get(name)
    if projection is None:
        raise UnknownProjectionError(f"No projection named {name!r} is registered.")
    return projection


def _record_dead_letter(projection: Projection, event: ProjectionEvent, exc: BaseException) -> None:
    """First failure of an event. Caller holds the batch's transaction."""
    max_attempts = settings.PROJECTION_DLQ_MAX_ATTEMPTS
    parked = max_attempts <= 1
    error_class, error_message = dead_letter_error(exc)
    with connection.cursor() as cursor:
        cursor.execute(
            INSERT_DEAD_LETTER,
            {
                "projection": projection.name,
                "tenant_id": event.tenant_id,
                "store_id": event.store_id,
                "stream_kind": int(projection.stream_kind),
                "sequence_number": event.sequence_number,
                "event_id": event.event_id,
                "error_class": error_class,
                "error_message": error_message,
                "status": DeadLetterStatus.PARKED if parked else DeadLetterStatus.PENDING,
                "next_retry_at": None if parked else timezone.now() + dead_letter_backoff(1),
            },
        )
    logger.warning(
        "projection %s: event %s/%s#%d dead-lettered: %s",
        projection.name,
        event.tenant_id,
        event.store_id,
        event.sequence_number,
        type(exc).__name__,
    )


@dataclass(frozen=True, slots=True)
class DueStream:
    """A stream with events past a projection's checkpoint, as the runner listed it."""

    tenant_id: uuid.UUID
    store_id: uuid.UUID
    backlog: int  # events past the checkpoint when listed
    has_checkpoint: bool = True

    def cap(self, batch_size: int) -> int:
        """Events to read for it in one transaction: a batch at most, no more than its backlog."""
        return min(batch_size, max(self.backlog, 1))


@dataclass(slots=True)
class _StreamBatch:
    """One stream's part of a projection transaction: its next events, or why it stalled.

    ``events`` are those the handler applies; ``referred`` more of the range were written by
    reference in SQL as they were read (ADR 0049) and never reach the handler."""

    stream: DueStream
    checkpoint: int
    events: list[ProjectionEvent]
    stalled: BaseException | None = None
    dead_lettered: int = 0
    referred: int = 0
    last_sequence: int = 0  # the range's last event (set by the read that refers in SQL)

    @property
    def read(self) -> int:
        """The events of the range: applied by the handler or written by reference."""
        return len(self.events) + self.referred

    @property
    def end(self) -> int:
        """Where the checkpoint moves once the batch is applied: its range's last event."""
        return self.last_sequence or (self.events[-1].sequence_number if self.events else self.checkpoint)


def _ensure_checkpoints(handler: Projection, streams: Sequence[DueStream]) -> None:
    """Create the missing checkpoint rows (at 0) of ``streams``; one statement."""
    with connection.cursor() as cursor:
        cursor.execute(
            ENSURE_PROJECTION_CHECKPOINTS,
            {
                "projection": handler.name,
                "stream_kind": int(handler.stream_kind),
                "tenant_ids": [s.tenant_id for s in streams],
                "store_ids": [s.store_id for s in streams],
            },
        )


def _lock_streams(handler: Projection, streams: Sequence[DueStream]) -> list[DueStream]:
    """The streams of ``streams`` whose advisory lock this transaction now holds (``try``:
    the others are being advanced, rebuilt or retried elsewhere). One statement."""
    keys = [projection_lock_key(handler.name, s.tenant_id, s.store_id) for s in streams]
    with connection.cursor() as cursor:
        cursor.execute(LOCK_PROJECTION_STREAMS, {"namespace": int(LockNamespace.PROJECTION_STREAM), "lock_keys": keys})
        return [streams[row[0] - 1] for row in cursor.fetchall()]


def _read_batches(handler: Projection, streams: Sequence[DueStream], caps: Sequence[int]) -> list[_StreamBatch]:
    """Lock the checkpoints of ``streams`` (their advisory locks held) and read each one's next
    events, at most its cap, in one statement. A stream with a hole below its head comes back
    stalled, with no events: nothing of it is applied or skipped. Payloads stay as stored until a
    handler reads them; one no key opens stalls its stream then (:func:`_apply_together`)."""
    batches: dict[int, _StreamBatch] = {}
    for row in _batch_rows(SELECT_PROJECTION_BATCHES, handler, streams, caps):
        batch = batches.get(row[0])
        if batch is None:
            batch = batches[row[0]] = _StreamBatch(streams[row[0] - 1], int(row[1]), [])
        if row[2] is None:
            continue
        batch.events.append(projection_event_from_row(row[2:], batch.stream.tenant_id, batch.stream.store_id))
    for batch in batches.values():
        _stall_at_hole(batch)
    return list(batches.values())


def _batch_rows(statement: str, handler: Projection, streams: Sequence[DueStream], caps: Sequence[int]) -> list[Any]:
    """The rows of one of the two batch reads (``streams`` and each one's cap as arrays)."""
    with connection.cursor() as cursor:
        # Binary results: psycopg's C loaders read the two timestamps of each row; Django's text
        # loader for timestamptz parsed them in Python (a fifth of the worker's samples).
        cursor.cursor.format = row_format(cursor.cursor, binary=True)  # text without server-side binding
        cursor.execute(
            statement,
            {
                "projection": handler.name,
                "tenant_ids": [s.tenant_id for s in streams],
                "store_ids": [s.store_id for s in streams],
                "caps": list(caps),
            },
        )
        rows: list[Any] = cursor.fetchall()
    return rows


def _stall_at_hole(batch: _StreamBatch) -> None:
    """Stall ``batch`` (no events) when its events do not follow its checkpoint one by one: the
    store is gap-free, so a hole is never skipped."""
    expected = batch.checkpoint + 1
    for event in batch.events:
        if event.sequence_number != expected:
            stream = batch.stream
            batch.stalled = StreamGapError(f"sequence gap after {expected - 1} in {stream.tenant_id}/{stream.store_id}")
            batch.events, batch.referred, batch.last_sequence = [], 0, 0
            return
        expected += 1


def _refers_in_sql(handler: Projection) -> bool:
    """Whether the runner writes ``handler``'s new one-event entities by reference as it reads
    (ADR 0049): a handler that says so (``entity_state`` with the built-in merge)."""
    refers = getattr(handler, "refers_in_sql", None)
    return bool(refers is not None and refers())


def _read_referring(handler: Projection, streams: Sequence[DueStream], caps: Sequence[int]) -> list[_StreamBatch]:
    """:func:`_read_batches` for a handler that refers in SQL (ADR 0049): one statement locks the
    checkpoints, writes by reference every entity of each range with one event there and no row
    yet, and returns the range's other events, which ``batch.events`` holds (``batch.referred``
    counts the rest). A stream with a hole writes nothing, returns all, and stalls here; one
    with nothing new is absent."""
    batches: dict[int, _StreamBatch] = {}
    for row in _batch_rows(REFER_PROJECTION_BATCHES, handler, streams, caps):
        batch = batches.get(row[0])
        if batch is None:
            batch = batches[row[0]] = _StreamBatch(streams[row[0] - 1], int(row[1]), [], referred=int(row[2]))
            batch.last_sequence = int(row[3])
        if row[4]:  # the range's last event, written by reference: it carries the figures only
            continue
        batch.referred -= 1
        batch.events.append(projection_event_from_row(row[5:], batch.stream.tenant_id, batch.stream.store_id))
    for batch in batches.values():
        if batch.read != batch.last_sequence - batch.checkpoint:
            _stall_at_hole(batch)  # nothing was written for it: every event of its range is here
    return list(batches.values())


def _refer_and_apply(
    handler: Projection, streams: Sequence[DueStream], caps: Sequence[int]
) -> list[_StreamBatch] | None:
    """Read with :func:`_read_referring` and merge the returned events through the handler's
    ``apply_many(events, referred=True)``, in one savepoint; dead-letter the events it refused.

    ``None`` when anything in the savepoint raised (a key missing from the ring, say): it is
    rolled back, references and all, and the caller reads and applies the streams as any
    handler's (:func:`_read_batches`, :func:`_apply_together`), where such a failure stalls its
    stream only. Caller holds the transaction and the streams' advisory locks."""
    try:
        with transaction.atomic():
            batches = _read_referring(handler, streams, caps)
            events = [event for b in batches if b.stalled is None for event in b.events]
            failures: list[tuple[ProjectionEvent, BaseException]] = (
                handler.apply_many(events, referred=True) if events else []  # type: ignore[attr-defined]
            )
    except _ABORT_TRANSACTION:
        raise
    except Exception as exc:
        logger.info(
            "projection %s: batch of %d streams failed (%s); applying them one stream at a time",
            handler.name,
            len(streams),
            type(exc).__name__,
        )
        return None
    _dead_letter_failures(handler, batches, failures)
    return batches


def _dead_letter_failures(
    handler: Projection, batches: Sequence[_StreamBatch], failures: Sequence[tuple[ProjectionEvent, BaseException]]
) -> None:
    """Record the dead letters of ``failures`` and count, per batch, those of its range (a
    handler may also refuse an earlier event its entity's state referred to: ADR 0049)."""
    by_stream = {(b.stream.tenant_id, b.stream.store_id): b for b in batches}
    for event, error in failures:
        batch = by_stream[(event.tenant_id, event.store_id)]
        if event.sequence_number > batch.checkpoint:
            batch.dead_lettered += 1
        _record_dead_letter(handler, event, error)


def _apply_together(handler: Projection, batches: list[_StreamBatch]) -> None:
    """Apply the events of every ready batch: all at once through the handler's ``apply_many``
    (one savepoint), else, or when that raises, each stream alone in a savepoint
    (:func:`_apply_batch`), where a payload or state no key opens, or a state no key seals,
    stalls that stream only.
    Dead-letters the events the handler refused. Caller holds the transaction and the locks."""
    ready = [b for b in batches if b.events and b.stalled is None]
    apply_many = getattr(handler, "apply_many", None)
    if ready and apply_many is not None:
        try:
            with transaction.atomic():
                failures: list[tuple[ProjectionEvent, BaseException]] = apply_many(
                    [event for batch in ready for event in batch.events]
                )
        except _ABORT_TRANSACTION:
            raise
        except Exception as exc:  # one stream's failure must not hold the others: stream by stream
            logger.info("projection %s: batch of %d streams failed (%s)", handler.name, len(ready), type(exc).__name__)
        else:
            _dead_letter_failures(handler, ready, failures)
            return
    for batch in ready:
        try:
            with transaction.atomic():
                failures = _apply_batch(handler, batch.events)
        except _STALL_STREAM as exc:
            batch.stalled = exc
            continue
        _dead_letter_failures(handler, [batch], failures)


def _move_checkpoints(handler: Projection, batches: Sequence[_StreamBatch]) -> None:
    """Move each applied batch's checkpoint past its last event; one statement."""
    moved = [b for b in batches if b.read and b.stalled is None]
    if not moved:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            UPDATE_PROJECTION_CHECKPOINTS,
            {
                "projection": handler.name,
                "tenant_ids": [b.stream.tenant_id for b in moved],
                "store_ids": [b.stream.store_id for b in moved],
                "last_sequences": [b.end for b in moved],
            },
        )


@transaction.atomic(durable=True)
def _advance_streams(handler: Projection, streams: Sequence[DueStream], batch_size: int) -> list[_StreamBatch]:
    """One transaction advancing several streams of ``handler`` by a batch each (at most
    ``batch_size`` events, and no more than each stream's listed backlog): lock what is free,
    read, apply together, move the checkpoints. Skipped (locked elsewhere) streams are absent
    from the result; stalled ones carry their error and moved nothing. About six statements
    whatever the number of streams (ADR 0028)."""
    held = _lock_streams(handler, streams)
    if not held:
        return []
    caps = [s.cap(batch_size) for s in held]
    batches = _refer_and_apply(handler, held, caps) if _refers_in_sql(handler) else None
    if batches is None:
        batches = _read_batches(handler, held, caps)
        _apply_together(handler, batches)
    _move_checkpoints(handler, batches)
    return batches


def _advance_held(handler: Projection, stream: DueStream, batch_size: int) -> tuple[int, int, int]:
    """Apply the next ``batch_size`` events of one stream; ``(applied, dead_lettered, checkpoint)``.

    Caller holds the transaction and the stream's advisory lock. A stall raises (rolling the
    caller's transaction back), as for an operator's command it should."""
    _ensure_checkpoints(handler, [stream])
    (batch,) = _read_batches(handler, [stream], [batch_size])
    _apply_together(handler, [batch])
    if batch.stalled is not None:
        raise batch.stalled
    _move_checkpoints(handler, [batch])
    return batch.read - batch.dead_lettered, batch.dead_lettered, batch.end


@transaction.atomic(durable=True)
def projection_advance(*, projection: str, tenant_id: uuid.UUID, store_id: uuid.UUID, batch_size: int) -> BatchResult:
    """Apply the next ``batch_size`` events of one stream to ``projection``, exactly once.

    Transaction boundary. Locks: ``try`` advisory lock PROJECTION_STREAM(projection, stream)
    (skips, ``locked=False``, when another worker holds it), then the checkpoint row.
    Idempotent: re-running after a crash starts from the committed checkpoint.
    """
    handler = _require(projection)
    stream = DueStream(tenant_id, store_id, batch_size)
    if not _lock_streams(handler, [stream]):
        logger.debug("projection %s on %s/%s is running elsewhere", projection, tenant_id, store_id)
        return BatchResult(projection, tenant_id, store_id, False, 0, 0, -1)
    applied, failed, checkpoint = _advance_held(handler, stream, batch_size)
    return BatchResult(projection, tenant_id, store_id, True, applied, failed, checkpoint)


@dataclass(frozen=True, slots=True)
class RebuildResult:
    """What a rebuild replayed: every event of the stream up to ``checkpoint``. Of the events that
    failed (``dead_lettered``), those an operator had discarded stay discarded and unapplied
    (``left_discarded``); the others are open dead letters again."""

    projection: str
    tenant_id: uuid.UUID
    store_id: uuid.UUID
    applied: int
    dead_lettered: int
    checkpoint: int
    left_discarded: int = 0


@transaction.atomic(durable=True)
def projection_rebuild(
    *,
    projection: str,
    tenant_id: uuid.UUID,
    store_id: uuid.UUID,
    batch_size: int,
    actor: str,
    progress: Callable[[int, int], None] | None = None,
) -> RebuildResult:
    """Rebuild ``projection`` for one stream from the event log, in ONE transaction.

    Forgets what the projection built for the stream, closes the stream's open dead letters
    (the replay applies their events again; one that fails again is re-opened, attempt 1), then
    applies every event up to the head, ``batch_size`` at a time, and leaves the checkpoint
    there: the head read once, under the lock, so a stream ingesting meanwhile does not keep the
    replay (and its lock) going; the runner applies the events past it after the commit.
    Transaction boundary. Locks: waits for the advisory lock PROJECTION_STREAM(projection,
    stream) (a running batch or dead-letter retry finishes first) and holds it to the commit, so
    the runner, whose lock is a ``try``, skips the stream meanwhile and nothing interleaves;
    then the checkpoint row. Readers see the old state until the commit, then the rebuilt one.
    Budget: one batch of events in memory; the transaction lasts as long as the replay.
    Idempotent: running it again rebuilds the same state. Operators run it as
    ``manage.py projections_rebuild`` (``docs/projections.md``). A stream never written raises
    :class:`StreamNeverWrittenError` (a mistyped id rebuilds nothing and records nothing).
    Audited: one ``projection.rebuild`` row naming ``actor``, the dead letters it closed and
    the outcome, in the same transaction. ``progress(checkpoint, head)`` is called after each
    batch (a rebuild of a million events takes minutes).
    """
    handler = _require(projection)
    advisory_xact_lock(LockNamespace.PROJECTION_STREAM, projection_lock_key(projection, tenant_id, store_id))
    # The head once, under the lock: the replay ends there however fast the stream grows, and the
    # runner goes on from it after the commit (docs/projections.md, "Rebuilding a stream's projection").
    head = int(fetch(SELECT_HEAD, stream_params(tenant_id, store_id, handler.stream_kind))[0][0])
    if not head:
        raise StreamNeverWrittenError(f"No event was ever written to stream {tenant_id}/{store_id}.")
    handler.reset(tenant_id=tenant_id, store_id=store_id)
    with connection.cursor() as cursor:
        cursor.execute(
            RESET_PROJECTION_CHECKPOINT, {"projection": projection, "tenant_id": tenant_id, "store_id": store_id}
        )
    closed = ProjectionDeadLetter.objects.filter(
        tenant_id=tenant_id,
        projection=projection,
        store_id=store_id,
        status__in=(DeadLetterStatus.PENDING, DeadLetterStatus.PARKED),
    ).update(status=DeadLetterStatus.RESOLVED, resolved_at=timezone.now(), next_retry_at=None)
    applied = failed = checkpoint = 0
    while checkpoint < head:
        cap = min(batch_size, head - checkpoint)
        batch_applied, batch_failed, moved = _advance_held(handler, DueStream(tenant_id, store_id, cap), cap)
        applied, failed = applied + batch_applied, failed + batch_failed
        if moved == checkpoint:  # nothing read below the head (never expected: a gap stalls instead)
            break
        checkpoint = moved
        if progress is not None:
            progress(checkpoint, head)
    # Every open entry was closed above, so the open ones now are the replay's; a failure beyond
    # them was an event an operator discarded, which stays so (insert_dead_letter.sql).
    reopened = ProjectionDeadLetter.objects.filter(
        tenant_id=tenant_id,
        projection=projection,
        store_id=store_id,
        status__in=(DeadLetterStatus.PENDING, DeadLetterStatus.PARKED),
    ).count()
    left_discarded = max(failed - reopened, 0)
    audit_record(
        actor=actor,
        action="projection.rebuild",
        target_type="stream",
        target_id=f"{projection}:{store_id}",
        tenant_id=tenant_id,
        detail={
            "dead_letters_closed": closed,
            "applied": applied,
            "dead_lettered": failed,
            "left_discarded": left_discarded,
            "checkpoint": checkpoint,
        },
    )
    return RebuildResult(projection, tenant_id, store_id, applied, failed, checkpoint, left_discarded)


@dataclass(frozen=True, slots=True)
class Shard:
    """Which streams a tick advances: those whose hash modulo ``of`` is ``index``."""

    index: int = 0
    of: int = 1

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.of:
            raise ValueError(f"shard {self.index} of {self.of} does not exist")


EVERY_STREAM = Shard()


def projection_streams_due(*, projection: Projection, limit: int, shard: Shard = EVERY_STREAM) -> list[DueStream]:
    """Streams of ``shard`` whose head is past the projection's checkpoint (read on the primary)."""
    with connection.cursor() as cursor:
        cursor.execute(
            SELECT_PROJECTION_STREAMS_DUE,
            {
                "projection": projection.name,
                "stream_kind": int(projection.stream_kind),
                "limit": limit,
                "shard": shard.index,
                "shards": shard.of,
            },
        )
        return [DueStream(row[0], row[1], int(row[2]) - int(row[3]), bool(row[4])) for row in cursor.fetchall()]


def _due(handler: Projection, max_streams: int, shard: Shard) -> list[DueStream]:
    """The shard's streams with new events for ``handler``, their checkpoint rows made first."""
    due = projection_streams_due(projection=handler, limit=max_streams, shard=shard)
    if new := [s for s in due if not s.has_checkpoint]:
        _ensure_checkpoints(handler, new)
    return due


def _transactions(streams: list[DueStream], batch_size: int, events_per_transaction: int) -> list[list[DueStream]]:
    """``streams`` in order, grouped so that a transaction reads at most ``events_per_transaction``
    events (by the listed backlogs, a batch at most per stream; a group has one stream at least)."""
    groups: list[list[DueStream]] = []
    room = 0
    for stream in streams:
        size = stream.cap(batch_size)
        if not groups or size > room:
            groups.append([])
            room = events_per_transaction
        groups[-1].append(stream)
        room -= size
    return groups


def projection_run_all(
    *,
    batch_size: int,
    time_budget_seconds: float,
    max_streams: int = 500,
    shard: Shard = EVERY_STREAM,
    events_per_transaction: int | None = None,
) -> RunResult:
    """One tick of the runner on the streams of ``shard``: retry due dead letters (shard 0
    only), then advance every due stream, a batch per stream in turn, until each is caught up.

    The due streams are advanced several per transaction (:func:`_advance_streams`: at most
    ``events_per_transaction`` events, default ``PROJECTION_TRANSACTION_EVENTS``), so the
    statements a tick runs follow its events, not its streams (ADR 0028); each transaction is
    exactly once for each of its streams. The loop stops at ``time_budget_seconds`` (checked
    between transactions) so a tick stays well inside the task's soft time limit. Memory: one
    transaction's events at a time. Idempotent: a tick interrupted anywhere loses at most its
    open transaction. Ticks of different shards run side by side on disjoint streams.
    """
    from events.services.dead_letters import dead_letter_retry_due  # runner <-> DLQ are siblings

    per_transaction = events_per_transaction or settings.PROJECTION_TRANSACTION_EVENTS
    deadline = time.monotonic() + time_budget_seconds
    retried = dead_letter_retry_due(limit=100) if shard.index == 0 else 0
    streams = batches = applied = failed = 0
    exhausted = False
    for handler in projections():
        # Round robin: one batch per due stream per pass, again for the streams whose batch
        # was full, so a long backlog on one stream never holds the others' events back.
        pending = _due(handler, max_streams, shard)
        streams += len(pending)
        round_applied = 0
        while pending and not exhausted:
            full: list[DueStream] = []
            for group in _transactions(pending, batch_size, per_transaction):
                if time.monotonic() >= deadline:
                    exhausted = True
                    break
                for batch in _advance_streams(handler, group, batch_size):
                    stream = batch.stream
                    if batch.stalled is not None:
                        # A key missing from the ring (to open a payload or a state, or to seal
                        # a state when sealing is required), or a hole in the store, stops this
                        # stream only (in order, nothing skipped): the others go on.
                        # /health/detailed reports the stall until the key is back.
                        logger.error(
                            "projection %s stalled on %s/%s: %s",
                            handler.name,
                            stream.tenant_id,
                            stream.store_id,
                            batch.stalled,
                        )
                        continue
                    batches += 1
                    applied += batch.read - batch.dead_lettered
                    round_applied += batch.read
                    failed += batch.dead_lettered
                    if batch.read == batch_size:
                        full.append(DueStream(stream.tenant_id, stream.store_id, stream.backlog - batch_size))
            pending = full
            if not pending and round_applied >= settings.PROJECTION_RELIST_EVENTS and not exhausted:
                # A round this large took long enough for every stream to have new events again:
                # take them now rather than a tick later, when they would have waited a round
                # and an interval (the lag would grow with the load). A small round ends the
                # tick, so light load keeps its batches large.
                pending = _due(handler, max_streams, shard)
                streams += len(pending)
                round_applied = 0
        if exhausted:
            break
    return RunResult(streams, batches, applied, failed, retried, exhausted)
