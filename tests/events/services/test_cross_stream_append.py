"""Group commit across streams against the real database (ADR 0025).

The property runs random requests on three streams of one tenant, in random groups, through the
cross-stream append (``_append_optimistic_streams``) with head guesses that are sometimes right,
stale or ahead; each job it leaves undecided then runs on its stream's own path. The same
requests then run one by one on the locked path (optimistic append off) for another tenant, in
the order the first run committed them: a group's appended jobs, then its undecided ones.
Receipts, rejections and stored rows must be equal, and every stream gap-free. The threaded
test goes through the public service with the process's real combiners. Payloads are sealed at
rest (tests/settings.py).
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.envelopes import parse_legacy_request
from events.services import ingest
from events.services.ingest import (
    IngestResult,
    _append_optimistic_streams,
    _run_group,
    event_ingest_legacy,
)
from streams import head_hints, turns
from tests.conftest import legacy_event
from tests.events.helpers import stored_sequences
from tests.events.services.test_event_ingest_group_commit import COMMAND_IDS, _answer, _job, _stored
from tests.events.services.test_optimistic_append import _spec, shift_guess

pytestmark = pytest.mark.django_db(transaction=True)

STORES = [uuid.UUID(int=(1 << 64) + i) for i in range(3)]
EVENT_IDS = [uuid.UUID(int=(2 << 64) + i) for i in range(64)]  # reused now and then, across streams too
guess_shift = st.sampled_from([0, 0, 0, 0, 0, 0, -1, 2, None])  # None: this process never saw the head
# Mostly what the cross-stream append can take (fresh ids, no base_version), sometimes not.
event_spec = st.fixed_dictionaries(
    {
        "event_id": st.sampled_from(EVENT_IDS),
        "variant": st.sampled_from(["a", "b"]),
        "entity_id": st.sampled_from(["order-1", "order-2"]),
        "command_id": st.sampled_from([None] * 8 + COMMAND_IDS),
        "base_version": st.sampled_from([None] * 40 + [0, 1, 2, 3]),
    }
)
PRIMING = {"variant": "a", "entity_id": "order-1", "command_id": None, "base_version": None}
request = st.tuples(st.integers(min_value=0, max_value=len(STORES) - 1), st.lists(event_spec, min_size=1, max_size=3))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    requests=st.lists(request, min_size=3, max_size=12),
    group_sizes=st.lists(st.integers(min_value=2, max_value=5), min_size=12, max_size=12),
    shifts=st.lists(st.lists(guess_shift, min_size=len(STORES), max_size=len(STORES)), min_size=12, max_size=12),
)
def test_the_cross_stream_append_answers_and_stores_what_the_locked_path_would(
    requests: list[tuple[int, list[dict[str, Any]]]], group_sizes: list[int], shifts: list[list[int | None]]
) -> None:
    across, locked = uuid.uuid4(), uuid.uuid4()
    for tenant_id in (across, locked):  # every stream written once, so this process knows its head
        for n, store_id in enumerate(STORES):
            _run_group([_job(tenant_id, store_id, [{**PRIMING, "event_id": uuid.UUID(int=(3 << 64) + n)}])])

    answers: dict[int, IngestResult] = {}
    commit_order: list[int] = []
    start = 0
    for size, group_shifts in zip(group_sizes, shifts, strict=True):
        indexes = list(range(start, min(start + size, len(requests))))
        if not indexes:
            break
        start += size
        for store_id, shift in zip(STORES, group_shifts, strict=True):
            shift_guess((across, store_id), shift)
        jobs = [_job(across, STORES[requests[i][0]], requests[i][1]) for i in indexes]
        appended = {
            i: outcome
            for i, outcome in zip(indexes, _append_optimistic_streams(jobs), strict=True)
            if isinstance(outcome, IngestResult)
        }
        undecided = [(i, job) for i, job in zip(indexes, jobs, strict=True) if i not in appended]
        answers |= appended | {i: _decided(_run_group([job])[0]) for i, job in undecided}
        commit_order += list(appended) + [i for i, _ in undecided]

    with override_settings(INGEST_OPTIMISTIC_APPEND=False):
        reference = {
            i: _decided(_run_group([_job(locked, STORES[requests[i][0]], requests[i][1])])[0]) for i in commit_order
        }

    assert {i: _answer(a) for i, a in answers.items()} == {i: _answer(r) for i, r in reference.items()}
    assert _stored(across) == _stored(locked)
    for store_id in STORES:
        head = len(stored_sequences(locked, store_id))
        assert stored_sequences(across, store_id) == list(range(1, head + 1))


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many streams each append statement wrote, in order (the real statements still run)."""
    written: list[int] = []
    original = ingest._append_plans

    def recording(plans: dict[Any, Any]) -> Any:
        written.append(len(plans))
        return original(plans)

    monkeypatch.setattr(ingest, "_append_plans", recording)
    return written


def test_one_statement_appends_the_streams_whose_head_held_and_retries_the_one_that_moved(
    statements: list[int],
) -> None:
    tenant_id = uuid.uuid4()
    first, second, new = STORES[0], STORES[1], uuid.uuid4()
    for store_id in (first, second):  # the locked path writes each stream once: its head is known
        _run_group([_job(tenant_id, store_id, [_spec()])])
    head_hints.SHARED.get().remember(tenant_id, second, 0)  # as if another process had written it since

    jobs = [_job(tenant_id, store_id, [_spec()]) for store_id in (first, second, new, first)]
    outcomes = _append_optimistic_streams(jobs)

    assert statements == [2, 1]  # both known streams at once, then the stale one with the head it saw
    assert [(o.sequence_start, o.sequence_end) if isinstance(o, IngestResult) else None for o in outcomes] == [
        (2, 2),
        (2, 2),
        None,  # never written by this process: its own (locked) path decides
        (3, 3),
    ]
    assert stored_sequences(tenant_id, first) == [1, 2, 3]
    assert stored_sequences(tenant_id, second) == [1, 2]
    assert stored_sequences(tenant_id, new) == []


def test_a_stream_moved_under_both_attempts_is_left_to_its_locked_path_for_a_while(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another process writes the hot stream before each of this group's statements: the other
    stream is appended, the hot one goes to its own path, and the next groups leave it out of
    the shared statement until ``CONTENDED_SECONDS`` have passed."""
    tenant_id = uuid.uuid4()
    calm, hot = STORES[0], STORES[1]
    for store_id in (calm, hot):
        _run_group([_job(tenant_id, store_id, [_spec()])])
    written: list[set[uuid.UUID]] = []
    original = ingest._append_plans

    def other_process_writes_hot_first(plans: dict[Any, Any]) -> Any:
        written.append({store_id for _, store_id in plans})
        if (tenant_id, hot) in plans:
            with override_settings(INGEST_OPTIMISTIC_APPEND=False):
                _run_group([_job(tenant_id, hot, [_spec()])])
        return original(plans)

    monkeypatch.setattr(ingest, "_append_plans", other_process_writes_hot_first)
    first = _append_optimistic_streams([_job(tenant_id, calm, [_spec()]), _job(tenant_id, hot, [_spec()])])
    assert written == [{calm, hot}, {hot}]  # both, then the hot one again from the head it saw
    assert isinstance(first[0], IngestResult)
    assert first[0].sequence_start == 2
    assert not isinstance(first[1], IngestResult)  # left to the hot stream's own path
    assert (tenant_id, hot) in ingest._contended_until
    assert (tenant_id, calm) not in ingest._contended_until

    second = _append_optimistic_streams([_job(tenant_id, calm, [_spec()]), _job(tenant_id, hot, [_spec()])])
    assert written[2:] == [{calm}]  # the contended stream is not tried again
    assert isinstance(second[0], IngestResult)
    assert second[0].sequence_start == 3
    assert not isinstance(second[1], IngestResult)
    assert stored_sequences(tenant_id, calm) == [1, 2, 3]
    assert stored_sequences(tenant_id, hot) == [1, 2, 3]  # the other process's two writes


def test_a_stored_event_id_sends_the_whole_group_to_the_streams_own_paths() -> None:
    tenant_id = uuid.uuid4()
    stored = _spec()
    _run_group([_job(tenant_id, STORES[0], [stored])])
    _run_group([_job(tenant_id, STORES[1], [_spec()])])

    # The second stream's request reuses an event id stored in the first: the statement fails.
    jobs = [_job(tenant_id, STORES[0], [_spec()]), _job(tenant_id, STORES[1], [{**_spec(), **_id(stored)}])]
    outcomes = _append_optimistic_streams(jobs)

    assert outcomes == [ingest._STREAM_PATH, ingest._STREAM_PATH]
    assert stored_sequences(tenant_id, STORES[0]) == [1]
    assert stored_sequences(tenant_id, STORES[1]) == [1]
    answers = [_run_group([job])[0] for job in jobs]
    assert [(a.accepted, [r.reason for r in a.rejections]) for a in answers if isinstance(a, IngestResult)] == [
        (1, []),
        (0, ["DuplicateEventId"]),
    ]


@pytest.mark.slow
def test_parallel_requests_on_many_streams_share_statements_and_every_stream_stays_gap_free(
    statements: list[int],
) -> None:
    tenant_ids = [uuid.uuid4(), uuid.uuid4()]
    streams = [(tenant_id, uuid.uuid4()) for tenant_id in tenant_ids for _ in range(6)]
    threads_count, per_thread = 12, 30
    receipts: dict[uuid.UUID, tuple[uuid.UUID, int]] = {}
    lock = threading.Lock()
    barrier = threading.Barrier(threads_count)

    def writer(seed: int) -> None:
        chooser = random.Random(seed)
        barrier.wait()
        try:
            for _ in range(per_thread):
                tenant_id, store_id = chooser.choice(streams)
                events = parse_legacy_request(
                    {"events": [legacy_event(tenant_id, store_id)]}, max_events=10, max_payload_bytes=1 << 20
                ).events
                result = event_ingest_legacy(tenant_id=tenant_id, store_id=store_id, events=events, actor="test")
                with lock:
                    receipts.update({r.event_id: (store_id, r.sequence_number) for r in result.receipts})
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    assert len(receipts) == threads_count * per_thread
    for tenant_id, store_id in streams:
        numbers = sorted(n for s, n in receipts.values() if s == store_id)
        assert stored_sequences(tenant_id, store_id) == numbers == list(range(1, len(numbers) + 1))
    with connection.cursor() as cursor:
        cursor.execute("SELECT event_id, store_id, sequence_number FROM events WHERE tenant_id = ANY(%s)", [tenant_ids])
        assert {row[0]: (row[1], row[2]) for row in cursor.fetchall()} == receipts
    assert max(statements) > 1  # some statements wrote several streams at once


def _decided(outcome: IngestResult | BaseException) -> IngestResult:
    assert isinstance(outcome, IngestResult), outcome
    return outcome


def _id(spec: dict[str, Any]) -> dict[str, Any]:
    return {"event_id": spec["event_id"]}


def _ingest_one(tenant_id: uuid.UUID, store_id: uuid.UUID) -> IngestResult:
    events = parse_legacy_request(
        {"events": [legacy_event(tenant_id, store_id)]}, max_events=10, max_payload_bytes=1 << 20
    ).events
    return event_ingest_legacy(tenant_id=tenant_id, store_id=store_id, events=events, actor="test")


def test_a_contended_stream_goes_to_its_own_group_without_the_cross_stream_queue(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The cross-stream append would leave a contended stream to its own path anyway: its
    requests skip that queue (and its leader's wake-ups) and are written in the stream's turn."""
    tenant_id, calm, hot = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    across = ingest._cross_stream_committer()
    assert across is not None  # the service's settings: group commit across streams is on
    for store_id in (calm, hot):
        _ingest_one(tenant_id, store_id)
    monkeypatch.setitem(ingest._contended_until, (tenant_id, hot), time.monotonic() + 60)

    across.last_group = None
    assert _ingest_one(tenant_id, hot).sequence_start == 2
    assert across.last_group is None  # no group of the cross-stream queue ran it
    assert _ingest_one(tenant_id, calm).sequence_start == 2
    assert across.last_group is not None  # a calm stream still goes through it

    monkeypatch.setitem(ingest._contended_until, (tenant_id, hot), 0.0)  # the contention has expired
    across.last_group = None
    assert _ingest_one(tenant_id, hot).sequence_start == 3
    assert across.last_group is not None
    assert stored_sequences(tenant_id, hot) == [1, 2, 3]


class _RecordingTurns:
    """The shared turns, recording each turn taken and whether one is held."""

    def __init__(self) -> None:
        self.taken: list[tuple[uuid.UUID, uuid.UUID]] = []
        self.held = False
        self.queued_at_entry: list[int] = []  # jobs of the stream's group queue when the turn was taken

    def get(self) -> _RecordingTurns:
        return self

    @contextlib.contextmanager
    def turn(self, tenant_id: uuid.UUID, store_id: uuid.UUID) -> Iterator[None]:
        assert not self.held, "a turn taken inside a turn of the same stream would never be granted"
        self.taken.append((tenant_id, store_id))
        committer = ingest._group_committer()
        assert committer is not None
        queue = committer._queues.get((tenant_id, store_id))
        self.queued_at_entry.append(len(queue.pending) if queue is not None else 0)
        self.held = True
        try:
            yield
        finally:
            self.held = False


def test_a_contended_streams_group_is_written_in_the_turn_its_leader_took_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The leader takes the turn before it takes its group (``GroupCommitter``'s gate), so what
    queued meanwhile joins the group; the append inside does not take the turn again."""
    tenant_id, hot = uuid.uuid4(), uuid.uuid4()
    _ingest_one(tenant_id, hot)
    recording = _RecordingTurns()
    monkeypatch.setattr(turns, "SHARED", recording)
    held_while_appending: list[bool] = []
    append = ingest._append_stream_from

    def watched(*args: Any, **kwargs: Any) -> Any:
        held_while_appending.append(recording.held)
        return append(*args, **kwargs)

    monkeypatch.setattr(ingest, "_append_stream_from", watched)
    monkeypatch.setitem(ingest._contended_until, (tenant_id, hot), time.monotonic() + 60)

    assert _ingest_one(tenant_id, hot).sequence_start == 2
    assert recording.taken == [(tenant_id, hot)]
    assert recording.queued_at_entry == [1]  # the leader's own job, not yet taken into a group
    assert held_while_appending == [True]
    assert not recording.held
    assert stored_sequences(tenant_id, hot) == [1, 2]
