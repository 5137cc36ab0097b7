"""A stream more than ``COMMITMENT_MAX_EVENTS`` behind is sealed up to its head, not one range a tick.

The tick seals such a stream again, a range of every behind stream a round, while its
``COMMITMENT_TICK_SEAL_SECONDS`` last; a stream still behind then goes to ``stream_commit``, which
seals range after range and sends itself again while behind; one sealer per stream at a time
(its drain lock). ``docs/commitments.md``, "Automatic commitments". Events go in through the
ingest endpoint; the tick and the task run in the test's process against PostgreSQL, the task's
messages go through the real broker.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import psycopg
import pytest
from django.test import override_settings

from commitments.selectors import chain_tip, commitment_list
from commitments.services.sealing import drain_lock_key
from commitments.tasks import commitment_tick, stream_commit
from sequencer_project.db.locks import LockNamespace
from streams.kinds import StreamKind
from tests.conftest import IngestPoster, Persona, legacy_event
from tests.sequencer_project.broker_helpers import take_task_messages
from tests.sequencer_project.ops_helpers import child_database_url

pytestmark = pytest.mark.django_db

LEGACY = StreamKind.LEGACY
CAP = 50  # COMMITMENT_MAX_EVENTS in these tests: five of them is 250 events


def _ingest(owner: Persona, post_ingest: IngestPoster, n: int) -> uuid.UUID:
    store = uuid.uuid4()
    for start in range(0, n, 100):
        body = {"events": [legacy_event(owner.tenant_id, store) for _ in range(min(100, n - start))]}
        assert post_ingest(owner.client, body).status_code == 200
    return store


def _chain(owner: Persona, store: uuid.UUID) -> list[tuple[int, int]]:
    """The stream's links in sequence order, checked contiguous from 1, each at most CAP events
    and following the previous one's state root."""
    rows = commitment_list(kind=LEGACY, tenant_id=owner.tenant_id, store_id=store, anchored=None, limit=1000, offset=0)
    links = sorted((r for r in rows if not r.on_request), key=lambda r: r.sequence_start)
    expected_start, prev = 1, None
    for link in links:
        assert link.sequence_start == expected_start  # contiguous, nothing sealed twice
        assert link.sequence_end - link.sequence_start + 1 <= CAP
        if prev is not None:
            assert link.prev_state_root == prev.new_state_root
        expected_start, prev = link.sequence_end + 1, link
    return [(link.sequence_start, link.sequence_end) for link in links]


def _fives(n: int) -> list[tuple[int, int]]:
    return [(start, min(start + CAP - 1, n)) for start in range(1, n + 1, CAP)]


@override_settings(COMMITMENT_MAX_EVENTS=CAP)
def test_one_tick_seals_a_stream_five_ranges_behind_up_to_its_head(owner: Persona, post_ingest: IngestPoster) -> None:
    store = _ingest(owner, post_ingest, 5 * CAP)

    assert commitment_tick() is not None  # None only when another tick holds the job's lock

    assert _chain(owner, store) == _fives(5 * CAP)  # before: [(1, 50)], one range a tick
    assert chain_tip(tenant_id=owner.tenant_id, store_id=store, kind=LEGACY).head == 5 * CAP


@override_settings(COMMITMENT_MAX_EVENTS=CAP, COMMITMENT_TRANSACTION_EVENTS=CAP)
def test_a_tick_gives_every_behind_stream_a_range_a_round(
    owner: Persona, post_ingest: IngestPoster, caplog: pytest.LogCaptureFixture
) -> None:
    hot = _ingest(owner, post_ingest, 5 * CAP)
    warm = _ingest(owner, post_ingest, 3 * CAP)
    caplog.set_level(logging.DEBUG, logger="commitments.services.commitments")  # one line per seal, in order

    assert commitment_tick() is not None

    assert _chain(owner, hot) == _fives(5 * CAP)
    assert _chain(owner, warm) == _fives(3 * CAP)
    store_of = {
        str(r.batch_id): r.store_id
        for store in (hot, warm)
        for r in commitment_list(
            kind=LEGACY, tenant_id=owner.tenant_id, store_id=store, anchored=None, limit=10, offset=0
        )
    }
    sealed = [
        store_of[r.batch_id]  # type: ignore[attr-defined]
        for r in caplog.records
        if r.getMessage() == "commitment sealed" and getattr(r, "batch_id", None) in store_of
    ]
    # One transaction per stream (COMMITMENT_TRANSACTION_EVENTS = one range), most behind first,
    # a range of each a round: the warm stream is not left waiting until the hot one caught up.
    assert sealed == [hot, warm, hot, warm, hot, warm, hot, hot]


@override_settings(COMMITMENT_MAX_EVENTS=CAP, COMMITMENT_TICK_SEAL_SECONDS=0.0)
def test_a_stream_behind_when_the_tick_has_no_time_is_drained_by_its_task(
    owner: Persona,
    post_ingest: IngestPoster,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = _ingest(owner, post_ingest, 5 * CAP)
    ours = lambda args: args[0] == str(owner.tenant_id) and args[1] == str(store)  # noqa: E731

    with django_capture_on_commit_callbacks(execute=True):
        assert commitment_tick() is not None
    assert _chain(owner, store) == []
    [message] = take_task_messages("commitments", "commitments.stream_commit", wanted=ours, count=1)

    # With its time up after every seal, each task seals one range and sends itself again.
    monkeypatch.setattr("commitments.tasks.STREAM_COMMIT_SEAL_SECONDS", 0.0)
    tasks = 0
    while message:
        with django_capture_on_commit_callbacks(execute=True):
            assert stream_commit(message[0], message[1], int(message[2])) is not None
        tasks += 1
        assert len(_chain(owner, store)) == tasks
        again = take_task_messages("commitments", "commitments.stream_commit", wanted=ours, count=1, timeout=2.0)
        message = again[0] if again else ()
    assert tasks == 5  # the last one found the stream caught up and sent nothing
    assert _chain(owner, store) == _fives(5 * CAP)


@override_settings(COMMITMENT_MAX_EVENTS=CAP)
def test_one_task_seals_a_stream_range_after_range_to_its_head(
    owner: Persona, post_ingest: IngestPoster, django_capture_on_commit_callbacks: Any
) -> None:
    store = _ingest(owner, post_ingest, 5 * CAP)
    ours = lambda args: args[0] == str(owner.tenant_id) and args[1] == str(store)  # noqa: E731

    with django_capture_on_commit_callbacks(execute=True):
        last = stream_commit(str(owner.tenant_id), str(store), int(LEGACY))

    assert _chain(owner, store) == _fives(5 * CAP)  # before: [(1, 50)], one range a task
    tip = chain_tip(tenant_id=owner.tenant_id, store_id=store, kind=LEGACY)
    assert tip.last is not None
    assert last == str(tip.last.batch_id)
    assert take_task_messages("commitments", "commitments.stream_commit", wanted=ours, count=1, timeout=1.0) == []


@override_settings(COMMITMENT_MAX_EVENTS=CAP)
def test_a_stream_another_sealer_drains_is_left_to_it(
    owner: Persona, post_ingest: IngestPoster, django_capture_on_commit_callbacks: Any
) -> None:
    busy = _ingest(owner, post_ingest, 2 * CAP)
    free = _ingest(owner, post_ingest, 2 * CAP)
    ours = lambda args: args[0] == str(owner.tenant_id) and args[1] == str(busy)  # noqa: E731
    key = drain_lock_key(owner.tenant_id, busy, LEGACY)

    with psycopg.connect(child_database_url(), autocommit=True) as other:  # a stream_commit draining `busy`
        other.execute("SELECT pg_advisory_lock(%s, %s)", [int(LockNamespace.PERIODIC_JOB), key])
        with django_capture_on_commit_callbacks(execute=True):
            assert commitment_tick() is not None
            assert stream_commit(str(owner.tenant_id), str(busy), int(LEGACY)) is None  # a second drainer: no-op
        assert _chain(owner, busy) == []  # the tick left it to its drainer, and sent it no second task
        assert _chain(owner, free) == _fives(2 * CAP)
        assert take_task_messages("commitments", "commitments.stream_commit", wanted=ours, count=1, timeout=1.0) == []
        other.execute("SELECT pg_advisory_unlock(%s, %s)", [int(LockNamespace.PERIODIC_JOB), key])

    assert stream_commit(str(owner.tenant_id), str(busy), int(LEGACY)) is not None
    assert _chain(owner, busy) == _fives(2 * CAP)
