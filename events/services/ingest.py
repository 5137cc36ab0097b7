"""Legacy ingest: sequence a validated batch into its stream, gap-free.

One short transaction per group of concurrent requests for the stream (``docs/ingest.md``;
group commit, ADR 0014: requests of one web process that wait for the same stream are merged
into one transaction by ``events.services.group_commit``, each keeps its own outcome):

1. lock the stream's counter row (``lock_counter.sql``; created on first write),
2. read stored event ids, reserved command ids and entity versions (``classify_batch.sql``),
3. classify each event in request order in memory (replay, duplicate, command, version);
   the requests of a group are classified one after the other against a shared state, so a
   later request sees an earlier one's events exactly as if it had committed first,
4. write counter, events, versions, command ids and the rejection log in one statement
   (``append_batch.sql``), commit.

A stream this process has written before usually skips 1-3 and both BEGIN and COMMIT: the
optimistic append (``_append_optimistic``) classifies against the head it last saw and nothing
stored, and ``append_batch.sql`` alone checks both (counter compare-and-set, unique indexes);
when either check fails it writes nothing and the locked path decides.

Hashing and validation happened before (``events.envelopes``); nothing CPU-heavy runs while
the lock is held. Numbers are consumed only by the commit that inserts the rows, so rejected
events, rollbacks and races never burn a number.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DataError, IntegrityError, connection, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from events.envelopes import LegacyEvent
from events.payload_crypto import (
    FORMAT_PLAIN,
    FORMAT_SSE1,
    PayloadKey,
    encrypt_blob,
    encryption_key_for_write,
    payload_aad_in_stream,
    payload_aad_prefix,
    random_nonces,
)
from events.rejected_bodies import rejected_body_columns
from events.services.group_commit import GroupCommitter
from events.services.ingest_retry import NUMERIC_VALUE_OUT_OF_RANGE, EventIdRaceError, ingest_with_retries
from events.sql import APPEND_BATCH, APPEND_STREAMS, CLASSIFY_BATCH, INSERT_REJECTIONS, SELECT_HEAD
from schemas.registry import SchemaFailure, schema_failures
from sequencer_project.db import availability, prepared
from sequencer_project.db.instrumentation import timed_transaction
from sequencer_project.db.kept_connections import pool_wants_it_back
from sequencer_project.db.prepared import PreparedStatement, Row, as_bool, as_int
from sequencer_project.metrics import HEAD_GUESS_MOVED, HEAD_GUESS_RIGHT, INGEST_GROUP_REQUESTS, TALLY
from streams import classification, head_hints, turns
from streams.classification import Rejection, StreamState
from streams.counters import stream_counter_lock
from streams.kinds import StreamKind, stream_params

# The optimistic appends, one per request, below psycopg's cursor (sequencer_project.db.prepared).
_APPEND_ONE_STREAM = PreparedStatement(
    "sequencer_append_batch",
    APPEND_BATCH,
    {
        "tenant_id": prepared.UUID,
        "store_id": prepared.UUID,
        "stream_kind": prepared.SMALLINT,
        "rows": prepared.JSONB,
        "payloads": prepared.BYTEA_ARRAY,
        "rejections": prepared.JSONB,
        "expected_head": prepared.BIGINT,
        "new_head": prepared.BIGINT,
    },
)
_APPEND_STREAMS = PreparedStatement(
    "sequencer_append_streams",
    APPEND_STREAMS,
    {
        "tenant_ids": prepared.UUID_ARRAY,
        "store_ids": prepared.UUID_ARRAY,
        "expected_heads": prepared.BIGINT_ARRAY,
        "new_heads": prepared.BIGINT_ARRAY,
        "stream_kind": prepared.SMALLINT,
        "rows": prepared.JSONB,
        "payloads": prepared.BYTEA_ARRAY,
        "rejections": prepared.JSONB,
    },
)

logger = logging.getLogger(__name__)


class RejectionReason:
    """Per-event rejection reasons of the legacy endpoint (the reference's variant names)."""

    DUPLICATE_EVENT_ID = "DuplicateEventId"
    DUPLICATE_COMMAND_ID = "DuplicateCommandId"
    VERSION_CONFLICT = "VersionConflict"
    INVALID_PAYLOAD_HASH = "InvalidPayloadHash"
    INVALID_PAYLOAD = "InvalidPayload"  # a payload PostgreSQL jsonb cannot hold (ADR 0016)
    SCHEMA_VALIDATION = "SchemaValidation"


@dataclass(slots=True)  # not frozen: one per event answered (see streams.classification.StoredEvent)
class Receipt:
    event_id: uuid.UUID
    sequence_number: int
    replayed: bool


class IngestResult(classification.SequencedBatch[Receipt]):
    __slots__ = ()


@dataclass(slots=True)
class _Classification:
    accepted: list[tuple[int, LegacyEvent]] = field(default_factory=list)
    rejections: list[tuple[Rejection, LegacyEvent]] = field(default_factory=list)
    receipts: list[Receipt] = field(default_factory=list)


_WORDS = classification.RejectionWords(
    duplicate_event_id=RejectionReason.DUPLICATE_EVENT_ID,
    duplicate_command_id=RejectionReason.DUPLICATE_COMMAND_ID,
    version_conflict=RejectionReason.VERSION_CONFLICT,
)


@dataclass(frozen=True, slots=True)
class IngestJob:
    """One request's events, checked and ready to sequence; nothing touched the database yet."""

    batch_id: uuid.UUID
    tenant_id: uuid.UUID
    store_id: uuid.UUID
    candidates: list[LegacyEvent]
    pre_rejected: list[tuple[Rejection, LegacyEvent]]
    schema_rejects: dict[int, SchemaFailure]  # event index -> why the schema registry refused it
    seal: PayloadKey | None
    request_id: str
    actor: str  # the credential, as the audit log names it (a first write may create the tenant)

    @property
    def size(self) -> int:
        return max(len(self.candidates), 1)


def event_ingest_legacy(
    *,
    tenant_id: uuid.UUID,
    store_id: uuid.UUID,
    events: Sequence[LegacyEvent],
    actor: str,
    request_id: str = "",
) -> IngestResult:
    """Sequence ``events`` (one stream, request order) and return per-event outcomes.

    Invariants: the stream's numbers stay exactly ``1..head``; an exact replay returns its
    original number; nothing of a rejected event is stored but its rejection-log row.
    Locks: the stream's counter row, held from the classification to the commit, by this
    request or by the leader of the group it joined (``GROUP_COMMIT_ENABLED``).
    Retries the whole transaction on deadlock, serialization failure, or an event-id race with
    another store of the same tenant (all rare).
    """
    job = _prepare(tenant_id, store_id, events, request_id, actor)
    if not job.candidates:
        return _record_rejections(job)
    committer = _group_committer()
    if committer is None:
        return _run_jobs([job])[0]
    key = (tenant_id, store_id)
    release = _connection_releaser()
    if _contended(key):
        # The processes take turns on the stream (ADR 0038): its group's leader takes the turn
        # first, so what arrived while the other process held it joins the group; nothing goes
        # through the cross-stream queue, whose append leaves a contended stream out.
        return committer.submit(key, job, _run_group_in_turn, before_wait=release, gate=_turn_gate(key))
    across = _cross_stream_committer()
    if across is None or len(job.candidates) > settings.GROUP_COMMIT_ACROSS_MAX_EVENTS:
        return committer.submit(key, job, _run_group, before_wait=release)
    outcome = across.submit(_ACROSS_STREAMS, job, _append_across_streams, before_wait=release)
    if isinstance(outcome, IngestResult):
        return outcome
    # The optimistic append already tried and could not decide: the stream's group goes straight
    # to the locked path.
    return committer.submit(key, job, _run_locked_group, before_wait=release)


def _turn_gate(key: StreamKey) -> Callable[[], contextlib.AbstractContextManager[object]]:
    """The group committer's ``gate`` for a contended stream: its turn among the web processes."""
    return lambda: turns.SHARED.get().turn(*key)


def _prepare(
    tenant_id: uuid.UUID, store_id: uuid.UUID, events: Sequence[LegacyEvent], request_id: str, actor: str
) -> IngestJob:
    """Everything that needs no lock: payload, hash and schema checks, the payload key (CPU only)."""
    candidates: list[LegacyEvent] = []
    pre_rejected: list[tuple[Rejection, LegacyEvent]] = []
    for event in events:  # one pass, no call for an event that passes (most do)
        if event.payload_problem is None and event.supplied_hash_matches:
            candidates.append(event)
        else:
            pre_rejected.append((_pre_rejection(event), event))
    verdicts = schema_failures(tenant_id=tenant_id, events=[(e.event_type, e.payload, False) for e in candidates])
    schema_rejects = {e.index: f for e, f in zip(candidates, verdicts, strict=True) if f is not None}
    seal = encryption_key_for_write(tenant_id)  # payloads and the bodies of rejected events
    return IngestJob(
        uuid.uuid4(), tenant_id, store_id, candidates, pre_rejected, schema_rejects, seal, request_id, actor
    )


def _pre_rejection(event: LegacyEvent) -> Rejection:
    """The rejection of an event refused before any lock: a payload jsonb cannot hold, or else a
    ``payload_hash`` that does not match."""
    if event.payload_problem is not None:
        return Rejection(event.event_id, RejectionReason.INVALID_PAYLOAD, f"payload {event.payload_problem}")
    return Rejection(event.event_id, RejectionReason.INVALID_PAYLOAD_HASH, "payload_hash does not match the payload")


@functools.cache
def _group_committer() -> GroupCommitter[IngestJob, IngestResult] | None:
    """This process's combiner (settings are read once; ``cache_clear()`` after changing them)."""
    if not settings.GROUP_COMMIT_ENABLED:
        return None
    return GroupCommitter(
        max_events=settings.GROUP_COMMIT_MAX_EVENTS, max_wait_seconds=settings.GROUP_COMMIT_MAX_WAIT_MS / 1000
    )


class _StreamPath:
    """The outcome of a job the cross-stream append left to its stream's own path."""


_STREAM_PATH = _StreamPath()
_ACROSS_STREAMS = "legacy"  # the one key of the cross-stream combiner: every stream shares it


@functools.cache
def _cross_stream_committer() -> GroupCommitter[IngestJob, IngestResult | _StreamPath] | None:
    """This process's combiner across streams (ADR 0025), or ``None`` when it is off.

    One statement at a time per process: it serves small requests, whose cost is mostly per
    statement; a larger request (``GROUP_COMMIT_ACROSS_MAX_EVENTS``) goes to its stream's group,
    so large appends of different streams still run side by side.
    """
    if not (settings.GROUP_COMMIT_ACROSS_STREAMS and settings.INGEST_OPTIMISTIC_APPEND):
        return None
    return GroupCommitter(
        max_events=settings.GROUP_COMMIT_ACROSS_MAX_EVENTS,
        max_wait_seconds=settings.GROUP_COMMIT_MAX_WAIT_MS / 1000,
    )


def _connection_releaser() -> Callable[[], bool]:
    """The ``before_wait`` hook of one request: hands its pooled connection back when the pool
    could not give another thread one without it (no idle connection and no room to open one)
    or someone already waits for one; True when it did or holds none (``GroupCommitter.submit``
    asks again every ~20 ms while it is False: the pool may fill while the follower waits).

    Followers that kept their connections could hold all of them while the leader waits for
    one; handing back at once, needed or not, made each follower's next request check a
    connection out and test it (``CONN_HEALTH_CHECKS``, one round trip): 8.7 % of the GIL
    samples of single-event ingest under gunicorn (``docs/performance.md``). Asking only
    whether someone waits, every 2 ms, woke a follower ~1.5 times per request for nothing
    (``docs/performance.md``, "Context switches per request"). With ``DB_POOL_MAX_SIZE`` above
    the server's threads (the deployed setting) the pool always has room and nothing is handed
    back. Outside a transaction only, and only when connections are pooled. The thread's Django
    connection is looked up on the first ask and kept for the others: each lookup goes through a
    thread-critical local (~1.5 µs).
    """
    wrapper: BaseDatabaseWrapper | None = None

    def release() -> bool:
        nonlocal wrapper
        if wrapper is None:
            wrapper = connections[DEFAULT_DB_ALIAS]
        pool = getattr(wrapper, "pool", None)  # PostgreSQL backend with pooling
        if pool is None or wrapper.connection is None or wrapper.in_atomic_block:
            return True
        if pool_wants_it_back(pool):
            wrapper.close()
            return True
        return False

    return release


def _run_group(jobs: Sequence[IngestJob]) -> list[IngestResult | BaseException]:
    """Run a group in one statement when the optimistic append can, else in one locked
    transaction; if that fails, run its jobs alone so one cannot fail all."""
    appended = _append_optimistic(jobs)
    if appended is not None:
        TALLY.observe(INGEST_GROUP_REQUESTS, len(jobs))
        return list(appended)
    return _run_locked_group(jobs)


def _run_group_in_turn(jobs: Sequence[IngestJob]) -> list[IngestResult | BaseException]:
    """:func:`_run_locked_group` for a group whose leader holds the stream's turn already."""
    return _run_locked_group(jobs, turn_held=True)


def _run_locked_group(jobs: Sequence[IngestJob], *, turn_held: bool = False) -> list[IngestResult | BaseException]:
    """Run a group in one locked transaction, or in the stream's turn when it is contended;
    if the transaction fails, run its jobs alone."""
    appended = _append_in_turn(jobs, turn_held=turn_held)
    if appended is not None:
        return list(appended)
    TALLY.observe(INGEST_GROUP_REQUESTS, len(jobs))
    try:
        return list(_run_jobs(jobs))
    except Exception as exc:
        if len(jobs) == 1:
            return [exc]
        logger.warning("group of %d ingest requests failed (%s); running them one by one", len(jobs), exc)
    outcomes: list[IngestResult | BaseException] = []
    for job in jobs:
        try:
            outcomes.append(_run_jobs([job])[0])
        except Exception as exc:
            outcomes.append(exc)
    return outcomes


def _run_jobs(jobs: Sequence[IngestJob]) -> list[IngestResult]:
    def run_once() -> list[IngestResult]:
        with timed_transaction("legacy_ingest"):
            try:
                return _ingest_group_once(jobs, read_stored=False)
            except _StoredRowsNeededError:
                return _ingest_group_once(jobs, read_stored=True)

    return ingest_with_retries(run_once, tenant_id=jobs[0].tenant_id, store_id=jobs[0].store_id, label="", log=logger)


def _record_rejections(job: IngestJob) -> IngestResult:
    """A request with nothing to sequence: log its rejections (no counter lock) and read the head."""
    stream = _stream(job)
    with transaction.atomic(durable=True), connection.cursor() as cursor:
        if job.pre_rejected:
            cursor.execute(
                INSERT_REJECTIONS,
                {**stream, "rejections": _rejections_json(job)},
            )
        cursor.execute(SELECT_HEAD, stream)
        head = cursor.fetchone()[0]
    return IngestResult(job.batch_id, 0, [r for r, _ in job.pre_rejected], [], None, None, head)


def _stream(job: IngestJob) -> dict[str, Any]:
    return stream_params(job.tenant_id, job.store_id, StreamKind.LEGACY)


@dataclass(slots=True)
class _Plan:
    """A group's classification against a stream state: the rows to write and each job's outcome."""

    stream: dict[str, Any]
    rows: list[dict[str, Any]]
    payloads: list[bytes]  # the rows' stored payloads, in the rows' order
    rejection_rows: list[dict[str, Any]]
    outcomes: list[tuple[IngestJob, _Classification, list[tuple[Rejection, LegacyEvent]], int]]
    expected_head: int
    head: int

    @property
    def params(self) -> dict[str, Any]:
        """The parameters of ``append_batch.sql`` (this stream alone)."""
        return {
            **self.stream,
            "rows": orjson.dumps(self.rows).decode(),
            "payloads": self.payloads,
            "rejections": orjson.dumps(self.rejection_rows).decode(),
            "expected_head": self.expected_head,
            "new_head": self.head,
        }

    def depends_on_stored_rows(self) -> bool:
        """Whether a rejection could have been decided otherwise with the stream's stored rows.

        The stored-event check comes first for every event, so a command, version or schema
        rejection made against nothing stored may really be a replay or a duplicate id: only
        the locked path can tell. Duplicate ids inside the group never depend on stored rows.
        """
        return any(
            rejection.reason != RejectionReason.DUPLICATE_EVENT_ID
            for _, result, _, _ in self.outcomes
            for rejection, _ in result.rejections
        )

    def results(self) -> list[IngestResult]:
        return [
            IngestResult(
                batch_id=job.batch_id,
                accepted=len(result.accepted),
                rejections=[r for r, _ in rejections],
                receipts=result.receipts,
                sequence_start=first + 1 if result.accepted else None,
                sequence_end=first + len(result.accepted) if result.accepted else None,
                head=self.head,
            )
            for job, result, rejections, first in self.outcomes
        ]


def _plan(jobs: Sequence[IngestJob], state: StreamState) -> _Plan:
    """Classify the jobs one after the other against ``state`` and build the write's parameters."""
    stream = _stream(jobs[0])
    store_id = jobs[0].store_id
    expected_head = state.head
    rows: list[dict[str, Any]] = []
    payloads: list[bytes] = []
    rejection_rows: list[dict[str, Any]] = []
    outcomes: list[tuple[IngestJob, _Classification, list[tuple[Rejection, LegacyEvent]], int]] = []
    for job in jobs:
        first = state.head
        result = _classify(job.candidates, state, store_id, job.schema_rejects)
        rejections = job.pre_rejected + result.rejections
        rejections.sort(key=lambda item: item[1].index)
        rows.extend(_rows(result.accepted, job.tenant_id, store_id, job.seal))
        payloads.extend(_payloads(result.accepted, job.tenant_id, store_id, job.seal))
        rejection_rows.extend(_rejection_rows(rejections, job, store_id))
        outcomes.append((job, result, rejections, first))
    return _Plan(stream, rows, payloads, rejection_rows, outcomes, expected_head, state.head)


class _StoredRowsNeededError(Exception):
    """A plan made against nothing stored met a stored event or command id: classify instead."""


@transaction.atomic(durable=True)
def _ingest_group_once(jobs: Sequence[IngestJob], *, read_stored: bool) -> list[IngestResult]:
    """Sequence the jobs of one stream, in order, in this transaction (one job when ungrouped).

    With ``read_stored`` False the plan is made, as the optimistic append's, against the head
    alone and nothing stored (one round trip less while the counter lock is held); a stored
    event or command id then fails the append and :class:`_StoredRowsNeededError` asks the
    caller to run again with ``read_stored`` True, which classifies against the stored rows
    (replays, duplicates). A batch with a ``base_version`` is always classified.
    """
    stream = _stream(jobs[0])
    with connection.cursor() as cursor:
        head = stream_counter_lock(cursor, stream, actor=jobs[0].actor)
        plan = None if read_stored else _plan_without_stored_rows(jobs, head)
        if plan is None:
            state = _read_state(cursor, stream, head, [e for job in jobs for e in job.candidates])
            plan = _plan(jobs, state)
        try:
            cursor.execute(APPEND_BATCH, plan.params)
        except IntegrityError as exc:
            if not read_stored:  # a replay, a duplicate id, or another store's event id
                raise _StoredRowsNeededError() from exc
            raise EventIdRaceError() from exc  # another store of the tenant inserted one of our ids
        except DataError as exc:
            # Past 2^63 - 1 (ingest_retry: sequence_exhausted), but a plan against nothing stored
            # numbered replays and duplicates as new events: only the classified plan tells.
            if not read_stored and getattr(exc.__cause__, "sqlstate", None) == NUMERIC_VALUE_OUT_OF_RANGE:
                raise _StoredRowsNeededError() from exc
            raise
        counter_rows = cursor.fetchone()[0]
    if plan.rows and counter_rows != 1:
        raise AssertionError("counter moved while its row lock was held")  # cannot happen: defensive
    _remember_head((jobs[0].tenant_id, jobs[0].store_id), plan.head)
    return plan.results()


def _expects_versions(jobs: Sequence[IngestJob]) -> bool:
    """Whether an event of ``jobs`` names a ``base_version``: its check reads the stored entity
    versions, so only the locked path can answer it."""
    return any(event.base_version is not None for job in jobs for event in job.candidates)


def _plan_without_stored_rows(jobs: Sequence[IngestJob], head: int) -> _Plan | None:
    """The plan against ``head`` and nothing stored, or ``None`` when stored rows could change it."""
    if _expects_versions(jobs):
        return None
    plan = _plan(jobs, StreamState(head))
    return None if plan.depends_on_stored_rows() else plan


# The optimistic append guesses from the heads the web processes last wrote or read
# (``streams.head_hints``, shared memory). Streams another process kept moving under this one's
# guesses (both optimistic attempts found the head moved): until the monotonic time stored here
# their groups are written in the stream's turn (``_append_in_turn``), else by the locked path,
# instead of writing nothing twice (one hot stream written by several web processes; ADR 0038).
_CONTENDED_MAX = 100_000
_contended_until: dict[tuple[uuid.UUID, uuid.UUID], float] = {}
CONTENDED_SECONDS = 1.0
# Appends from a guessed head per group: the guess, then once more from the head the statement saw.
_OPTIMISTIC_ATTEMPTS = 2


StreamKey = tuple[uuid.UUID, uuid.UUID]


def _contended(key: StreamKey) -> bool:
    """Whether the web processes take turns on the stream now (:func:`_note_contention`)."""
    until = _contended_until.get(key)
    return until is not None and time.monotonic() < until


def _head_guess(key: StreamKey) -> int | None:
    """The head the optimistic append starts from, or ``None`` when the locked path must go first
    (a stream the web processes have not written or read, or one they are contending for)."""
    if not settings.INGEST_OPTIMISTIC_APPEND:
        return None
    head = head_hints.SHARED.get().guess(*key)
    if head is None or _contended(key):
        return None
    _contended_until.pop(key, None)  # a contention that has expired: optimism again
    return head


def _note_contention(key: StreamKey) -> None:
    if len(_contended_until) >= _CONTENDED_MAX:
        _contended_until.clear()
    _contended_until[key] = time.monotonic() + CONTENDED_SECONDS


def _append_optimistic(jobs: Sequence[IngestJob]) -> list[IngestResult] | None:
    """A group of ONE stream in one autocommit statement, or ``None`` when the locked path must
    decide (see :func:`_append_optimistic_streams`, of which this is the one-stream case).

    Kept apart from it on purpose: routed through the general function, the in-process
    100-event benchmark cost 25-30 % more thread CPU (``docs/performance.md``, "Worker
    connections and group commit across streams"); the cause is not known yet."""
    key = (jobs[0].tenant_id, jobs[0].store_id)
    head = _head_guess(key)
    if head is None:
        return None
    if _expects_versions(jobs):
        return None
    for _ in range(_OPTIMISTIC_ATTEMPTS):
        outcome = _append_stream_from(key, jobs, head)
        if not isinstance(outcome, int):
            return outcome
        head = outcome
    _note_contention(key)
    return None


def _append_stream_from(key: StreamKey, jobs: Sequence[IngestJob], head: int) -> list[IngestResult] | int | None:
    """One append of a one-stream group planned against ``head`` and nothing stored: the jobs'
    results, the head the statement saw when the stream's had moved (remembered either way), or
    ``None`` when the locked path must decide (a rejection could depend on stored rows, a stored
    id, a stream without a counter row)."""
    plan = _plan(jobs, StreamState(head))
    if plan.head == head or plan.depends_on_stored_rows():
        return None
    try:
        seen = _append_plans({key: plan})
    except psycopg.Error:  # a stored event or command id (unique violation), or worse
        return None
    if key not in seen:
        return None
    seen_head = seen[key]
    if seen_head is not None:
        _remember_head(key, seen_head)
        return seen_head
    _remember_head(key, plan.head)
    return plan.results()


def _append_in_turn(jobs: Sequence[IngestJob], *, turn_held: bool = False) -> list[IngestResult] | None:
    """A group of ONE contended stream in one autocommit statement, in the stream's turn
    (``streams.turns``): the web processes take turns, so the head the last holder left is the
    stream's and the group is planned and sealed once. ``None`` when the locked path must decide:
    the stream is not contended, this server never saw its head, an event carries a
    ``base_version``, a rejection could depend on stored rows, or the head had moved anyway
    (another server, a process that has not found the stream contended yet). ``turn_held``: the
    caller holds the turn (the group committer's gate)."""
    key = (jobs[0].tenant_id, jobs[0].store_id)
    if not settings.INGEST_OPTIMISTIC_APPEND or key not in _contended_until:
        return None
    if _expects_versions(jobs):
        return None
    with contextlib.nullcontext() if turn_held else turns.SHARED.get().turn(*key):
        head = head_hints.SHARED.get().guess(*key)
        outcome = None if head is None else _append_stream_from(key, jobs, head)
    if not isinstance(outcome, list):
        return None
    TALLY.observe(INGEST_GROUP_REQUESTS, len(jobs))
    return outcome


def _append_optimistic_streams(jobs: Sequence[IngestJob]) -> list[IngestResult | _StreamPath]:
    """The jobs of any streams in ONE autocommit statement; each job's result, or
    ``_STREAM_PATH`` for a job its stream's locked path must decide.

    Classifies each stream's jobs against the head the web processes last saw and nothing stored,
    seals, then appends with ``append_batch.sql`` (one stream) or ``append_streams.sql``
    (several: group commit across streams, ADR 0025), which move each counter only from that
    head and fail on any stored event or command id. A stream whose head moved is retried once
    with the head the statement saw, while the others are written; anything else (a replay, a
    duplicate, a ``base_version``, a stream the web processes have not written yet) goes to the locked
    path, whose answers are the reference: this one only skips its round trips (lock,
    classification read, BEGIN, COMMIT) when they could not change them.
    """
    by_stream: dict[StreamKey, list[IngestJob]] = {}
    for job in jobs:
        by_stream.setdefault((job.tenant_id, job.store_id), []).append(job)
    heads: dict[StreamKey, int] = {}
    for key, stream_jobs in by_stream.items():
        head = _head_guess(key)
        if head is not None and not _expects_versions(stream_jobs):
            heads[key] = head
    decided: dict[int, IngestResult] = {}
    for attempt in range(_OPTIMISTIC_ATTEMPTS):
        plans = {key: _plan(by_stream[key], StreamState(head)) for key, head in heads.items()}
        plans = {
            key: plan for key, plan in plans.items() if plan.head != heads[key] and not plan.depends_on_stored_rows()
        }
        if not plans:
            break
        try:
            seen = _append_plans(plans)
        except psycopg.Error:  # a stored event or command id (unique violation), or worse
            break
        heads = {}
        for key, plan in plans.items():
            if key not in seen:  # no counter row: the stream was never written
                continue
            seen_head = seen[key]
            if seen_head is None:
                _remember_head(key, plan.head)
                decided.update(zip(map(id, by_stream[key]), plan.results(), strict=True))
            else:
                _remember_head(key, seen_head)
                heads[key] = seen_head
                if attempt == _OPTIMISTIC_ATTEMPTS - 1:  # moved under every attempt
                    _note_contention(key)
    return [decided.get(id(job), _STREAM_PATH) for job in jobs]


def _append_plans(plans: dict[StreamKey, _Plan]) -> dict[StreamKey, int | None]:
    """Write the plans in one statement: per stream ``None`` when appended, else the head the
    statement saw; a stream without a counter row is missing."""
    if len(plans) == 1:
        ((key, plan),) = plans.items()
        row = _execute_alone(_APPEND_ONE_STREAM, plan.params)[0]
        seen: dict[StreamKey, int | None] = {key: None}
        if as_int(row[0]) != 1:  # the head this statement saw, or none: no counter row
            seen = {} if row[5] is None else {key: as_int(row[5])}
        _count_guesses(seen)
        return seen
    keys = sorted(plans)  # counter rows are locked in this order; the rows name a stream by its index here
    every = [plans[key] for key in keys]
    params = {
        "tenant_ids": [plan.stream["tenant_id"] for plan in every],
        "store_ids": [plan.stream["store_id"] for plan in every],
        "expected_heads": [plan.expected_head for plan in every],
        "new_heads": [plan.head for plan in every],
        "stream_kind": int(StreamKind.LEGACY),
        "rows": orjson.dumps([row for plan in every for row in plan.rows]),  # JSONB takes the bytes as they are
        "payloads": [payload for plan in every for payload in plan.payloads],
        "rejections": orjson.dumps([row for plan in every for row in plan.rejection_rows]),
    }
    rows = _execute_alone(_APPEND_STREAMS, params)
    seen = {
        keys[as_int(position) - 1]: None if as_bool(appended) else as_int(head) for position, appended, head in rows
    }
    _count_guesses(seen)
    return seen


def _count_guesses(seen: dict[StreamKey, int | None]) -> None:
    moved = sum(1 for head in seen.values() if head is not None)
    TALLY.inc(HEAD_GUESS_RIGHT, len(seen) - moved)
    if moved:
        TALLY.inc(HEAD_GUESS_MOVED, moved)


def _remember_head(key: StreamKey, head: int) -> None:
    head_hints.SHARED.get().remember(*key, head)


def _append_across_streams(jobs: Sequence[IngestJob]) -> list[IngestResult | _StreamPath]:
    """A group of the cross-stream combiner: what can be appended optimistically, in one
    statement; the rest goes to each stream's own group (``_run_group``), outside this one."""
    outcomes = _append_optimistic_streams(jobs)
    appended = sum(1 for outcome in outcomes if isinstance(outcome, IngestResult))
    if appended:  # the others are counted with the stream's group that decides them
        TALLY.observe(INGEST_GROUP_REQUESTS, appended)
    return outcomes


def _execute_alone(statement: PreparedStatement, params: dict[str, Any]) -> list[Row]:
    """Run one append as its own transaction on the request's connection, on libpq's
    prepared-statement call (``sequencer_project.db.prepared``; timed as
    ``db_transaction_duration_seconds{name="legacy_append"}``). Inside a caller's transaction
    (tests) it runs in a savepoint, so a failure leaves that transaction usable. The Django
    connection is looked up once: each attribute read through ``django.db.connection`` finds it
    again in a thread-critical local (~1.5 µs)."""
    wrapper = connections[DEFAULT_DB_ALIAS]
    wrapper.ensure_connection()
    named = bool(wrapper.settings_dict["OPTIONS"].get("server_side_binding"))  # DB_SERVER_SIDE_BINDING
    with timed_transaction("legacy_append"):
        if wrapper.in_atomic_block:
            with transaction.atomic():
                rows = statement.run(wrapper.connection, params, named=named)
        else:
            rows = statement.run(wrapper.connection, params, named=named)
    availability.statement_succeeded(DEFAULT_DB_ALIAS)
    return rows


def _read_state(cursor: Any, stream: dict[str, Any], head: int, candidates: list[LegacyEvent]) -> StreamState:
    cursor.execute(CLASSIFY_BATCH, {**stream, **classification.read_parameters(candidates)})
    return classification.state_from_rows(head, cursor.fetchall())


def _classify(
    candidates: list[LegacyEvent],
    state: StreamState,
    store_id: uuid.UUID,
    schema_rejects: dict[int, SchemaFailure] | None = None,
) -> _Classification:
    """Decide each event's fate in request order (``streams.classification``) and add the
    accepted ones to ``state``. ``schema_rejects`` (by event index) were refused by the schema
    registry before the transaction, answered with the schema's full message (the rejection
    log keeps the redacted one, :func:`_rejection_rows`); an exact replay of a stored event is
    still answered with its receipt."""
    failures = None
    if schema_rejects:
        failures = [
            (RejectionReason.SCHEMA_VALIDATION, schema_rejects[e.index].summary) if e.index in schema_rejects else None
            for e in candidates
        ]
    outcome = classification.classify(candidates, state, store_id, _WORDS, failures)
    return _Classification(
        accepted=outcome.accepted,
        rejections=outcome.rejected,
        receipts=[Receipt(e.event_id, sequence, original is not None) for e, sequence, original in outcome.answered],
    )


def _rows(
    accepted: list[tuple[int, LegacyEvent]], tenant_id: uuid.UUID, store_id: uuid.UUID, seal: PayloadKey | None
) -> list[dict[str, Any]]:
    """Rows for append_batch.sql, without their payloads (:func:`_payloads`, in the same order)."""
    return [
        {
            "tenant_id": tenant_id,
            "store_id": store_id,
            "sequence_number": sequence,
            "event_id": event.event_id,
            "command_id": event.command_id,
            "envelope_version": event.envelope_version,
            "entity_type": event.entity_type,
            "entity_id": event.entity_id,
            "event_type": event.event_type,
            "payload_format": FORMAT_PLAIN if seal is None else FORMAT_SSE1,
            "payload_key_id": None if seal is None else seal.key_id,
            "payload_hash": event.payload_hash.hex(),
            "envelope_hash": event.envelope_hash.hex(),
            "base_version": event.base_version,
            "source_agent": event.source_agent,
            "signature": event.signature.hex() if event.signature is not None else None,
            "created_at": event.created_at,
        }
        for sequence, event in accepted
    ]


def _payloads(
    accepted: list[tuple[int, LegacyEvent]], tenant_id: uuid.UUID, store_id: uuid.UUID, seal: PayloadKey | None
) -> list[bytes]:
    """The stored payloads of :func:`_rows`' events, sealed here when encrypted at rest (~5 µs per
    KB). Bound as one binary ``bytea[]``: inside the rows' JSON, PostgreSQL's parse of a 1 KB
    payload's base64 text cost it ~5 µs per row (``docs/performance.md``). The stream's part of
    the associated data is encoded once and the batch's nonces drawn in one call."""
    if seal is None:
        return [event.payload_json for _, event in accepted]
    prefix = payload_aad_prefix(tenant_id, store_id)
    return [
        encrypt_blob(
            seal,
            event.payload_json,
            payload_aad_in_stream(prefix, event.event_id, sequence, event.names),
            nonce,
        )
        for (sequence, event), nonce in zip(accepted, random_nonces(len(accepted)), strict=True)
    ]


def _rejection_rows(
    rejections: list[tuple[Rejection, LegacyEvent]], job: IngestJob, store_id: uuid.UUID
) -> list[dict[str, Any]]:
    """Rows for the rejection log; bodies sealed as the job's payloads are (``events.rejected_bodies``),
    and a schema rejection's message without the payload's values (``SchemaFailure.redacted_summary``:
    the client's answer quotes them, what is stored in clear must not)."""
    return [
        {
            "tenant_id": job.tenant_id,
            "store_id": store_id,
            "event_id": rejection.event_id,
            "reason": rejection.reason,
            "message": _stored_message(rejection, event, job),
            "request_id": job.request_id,
            **rejected_body_columns(
                event.raw,
                tenant_id=job.tenant_id,
                store_id=store_id,
                stream_kind=StreamKind.LEGACY,
                event_id=rejection.event_id,
                request_id=job.request_id,
                seal=job.seal,
            ),
        }
        for rejection, event in rejections
    ]


def _stored_message(rejection: Rejection, event: LegacyEvent, job: IngestJob) -> str:
    failure = job.schema_rejects.get(event.index)
    if rejection.reason == RejectionReason.SCHEMA_VALIDATION and failure is not None:
        return failure.redacted_summary
    return rejection.message


def _rejections_json(job: IngestJob) -> str:
    """The rejections of a request with nothing to sequence, for ``insert_rejections.sql``."""
    return orjson.dumps(_rejection_rows(job.pre_rejected, job, job.store_id)).decode()
