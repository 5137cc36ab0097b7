"""A stream more than ``COMMITMENT_MAX_EVENTS`` behind is sealed up to its head, not one range a tick.

The tick seals such a stream again, a range of every behind stream a round, while its
``COMMITMENT_TICK_SEAL_SECONDS`` last; a stream still behind then goes to ``stream_commit``, which
seals range after range and sends itself again while behind; one sealer per stream at a time
(its drain lock). ``docs/commitments.md``, "Automatic commitments". Events go in through the
ingest endpoint; the tick and the task run in the test's process against PostgreSQL, the task's
messages go through the real broker.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.db import connection
from django.test import override_settings

from commitments.selectors import chain_tip, commitment_list
from commitments.services import sealing
from commitments.services.commitments import commitment_extend_chains
from commitments.services.sealing import commitment_stream_drain, drain_lock_key
from commitments.tasks import commitment_tick, stream_commit
from sequencer_project.db.locks import job_lock_key
from sequencer_project.metrics import SESSION_LOCK_VIOLATIONS
from streams.kinds import StreamKind
from tests.conftest import IngestPoster, Persona, legacy_event
from tests.sequencer_project.broker_helpers import take_task_messages
from tests.sequencer_project.ops_helpers import child_database_url

pytestmark = pytest.mark.django_db

LEGACY = StreamKind.LEGACY
CAP = 50  # COMMITMENT_MAX_EVENTS in these tests: five of them is 250 events


def _ingest(owner: Persona, post_ingest: IngestPoster, n: int, store: uuid.UUID | None = None) -> uuid.UUID:
    store = store or uuid.uuid4()
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
        other.execute("SELECT pg_advisory_lock(%s::bigint)", [key])  # the one-argument (bigint) form
        with django_capture_on_commit_callbacks(execute=True):
            assert commitment_tick() is not None
            assert stream_commit(str(owner.tenant_id), str(busy), int(LEGACY)) is None  # a second drainer: no-op
        assert _chain(owner, busy) == []  # the tick left it to its drainer, and sent it no second task
        assert _chain(owner, free) == _fives(2 * CAP)
        assert take_task_messages("commitments", "commitments.stream_commit", wanted=ours, count=1, timeout=1.0) == []
        other.execute("SELECT pg_advisory_unlock(%s::bigint)", [key])

    assert stream_commit(str(owner.tenant_id), str(busy), int(LEGACY)) is not None
    assert _chain(owner, busy) == _fives(2 * CAP)


# The drain lock itself (docs/commitments.md, "One sealer per stream"; docs/errors.md, lock
# namespaces): a 64-bit key per stream, released whatever ends the drain, each release checked
# (ADR 0047), and a session interrupted while taking or releasing it discarded.


def _drain_locks_held(key: int) -> int:
    """Advisory locks of ``key`` in the one-argument (bigint) form, held by any session: pg_locks
    shows such a key as ``classid`` (high 32 bits), ``objid`` (low 32 bits), ``objsubid`` 1."""
    unsigned = key & (2**64 - 1)
    with psycopg.connect(child_database_url(), autocommit=True) as other:
        row = other.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1"
            " AND classid = %s::bigint::oid AND objid = %s::bigint::oid AND granted",
            [unsigned >> 32, unsigned & 0xFFFFFFFF],
        ).fetchone()
    return int(row[0]) if row else 0


def _no_drain_lock_left(key: int) -> bool:
    """Whether no session holds ``key``; a discarded session's server process ends right after
    its client closed it, so this waits up to 5 s for that."""
    deadline = time.monotonic() + 5
    while _drain_locks_held(key) and time.monotonic() < deadline:
        time.sleep(0.05)
    return _drain_locks_held(key) == 0


def _drain(owner: Persona, store: uuid.UUID) -> sealing.StreamDrained:
    return commitment_stream_drain(tenant_id=owner.tenant_id, store_id=store, kind=LEGACY, seconds=30.0)


def _seal_raising(monkeypatch: pytest.MonkeyPatch, exc: BaseException) -> None:
    def seal(**kwargs: Any) -> Any:
        raise exc

    monkeypatch.setattr(sealing, "commitment_extend_chains", seal)


@override_settings(COMMITMENT_MAX_EVENTS=CAP)
@pytest.mark.parametrize(
    "exc", [RuntimeError("the seal failed"), SoftTimeLimitExceeded()], ids=["seal-raises", "soft-time-limit"]
)
def test_a_drain_whose_seal_raises_releases_its_lock(
    owner: Persona, post_ingest: IngestPoster, monkeypatch: pytest.MonkeyPatch, exc: BaseException
) -> None:
    store = _ingest(owner, post_ingest, 2 * CAP)
    key = drain_lock_key(owner.tenant_id, store, LEGACY)
    _seal_raising(monkeypatch, exc)

    with pytest.raises(type(exc)):
        _drain(owner, store)

    assert _no_drain_lock_left(key)
    monkeypatch.undo()
    drained = _drain(owner, store)  # the next stream_commit
    assert (drained.busy, drained.links) == (False, 2)
    assert _chain(owner, store) == _fives(2 * CAP)


def _interrupted_at(function: str, *, after: bool) -> Callable[..., Any]:
    """A cursor wrapper: a Celery soft time limit arriving while the statement calling ``function``
    runs, ``after`` the server ran it (the client had not read its answer yet) or before it was sent."""

    def wrapper(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        if f"{function}(" not in sql:
            return execute(sql, params, many, context)
        if after:
            execute(sql, params, many, context)
        raise SoftTimeLimitExceeded()

    return wrapper


@override_settings(COMMITMENT_MAX_EVENTS=CAP)
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("function", "after"),
    [("pg_try_advisory_lock", True), ("pg_advisory_unlock", False)],
    ids=["while-taking-the-lock", "while-releasing-it"],
)
def test_a_soft_time_limit_in_the_lock_statements_discards_the_session_and_its_lock(
    owner: Persona, post_ingest: IngestPoster, function: str, after: bool
) -> None:
    """The session may hold the lock with nobody having recorded it (a worker's connection lives
    as long as the worker): it is closed, which frees the lock, and the time limit propagates."""
    store = _ingest(owner, post_ingest, 2 * CAP)
    key = drain_lock_key(owner.tenant_id, store, LEGACY)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()

    with connection.execute_wrapper(_interrupted_at(function, after=after)), pytest.raises(SoftTimeLimitExceeded):
        _drain(owner, store)

    assert connection.connection is None  # discarded
    assert _no_drain_lock_left(key)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone() != backend  # a new session
    assert _drain(owner, store).busy is False


@override_settings(COMMITMENT_MAX_EVENTS=CAP)
def test_a_drain_lock_not_held_at_its_release_is_an_error_and_counted(
    owner: Persona, post_ingest: IngestPoster, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """What the drainer sees when its statements run on another server backend than its lock (a
    pooler in transaction mode, ADR 0047): here the lock is gone from under the seal."""
    store = _ingest(owner, post_ingest, CAP)
    key = drain_lock_key(owner.tenant_id, store, LEGACY)
    before = SESSION_LOCK_VIOLATIONS.labels(check="unlock")._value.get()
    real_seal = commitment_extend_chains

    def seal(**kwargs: Any) -> Any:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s::bigint)", [key])
        return real_seal(**kwargs)

    monkeypatch.setattr(sealing, "commitment_extend_chains", seal)
    with caplog.at_level(logging.ERROR, logger="sequencer_project.db.locks"):
        assert _drain(owner, store).links == 1

    assert SESSION_LOCK_VIOLATIONS.labels(check="unlock")._value.get() == before + 1
    [record] = [r for r in caplog.records if r.name == "sequencer_project.db.locks"]
    assert record.levelno == logging.ERROR
    assert "commitment drain locks: 1 of 1 unlocks found the lock not held" in record.getMessage()


def _streams_sharing_a_32_bit_drain_key(tenant: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    """Two stores of ``tenant`` whose drain locks shared one key while it was a 32-bit
    ``job_lock_key`` in ``PERIODIC_JOB`` (a birthday search: about 77,000 stores for even odds)."""
    seen: dict[int, uuid.UUID] = {}
    for i in range(1, 2_000_000):
        store = uuid.UUID(int=i)
        old_key = job_lock_key(f"commitments.stream_commit:{tenant}:{store}:{int(LEGACY)}")
        if old_key in seen:
            return seen[old_key], store
        seen[old_key] = store
    raise AssertionError("no two stores share a 32-bit key")  # odds below 1e-100


@contextlib.contextmanager
def _drained_elsewhere(key: int) -> Iterator[None]:
    """Another sealer (a thread: its own database session) holds the drain lock ``key``, taken as
    the sealers take it, until the block exits."""
    taken, done = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def hold() -> None:
        try:
            with sealing._drains([key]) as held:
                assert held == {key}
                taken.set()
                done.wait(30)
        except BaseException as exc:  # reported by the test's thread
            errors.append(exc)
            taken.set()
        finally:
            connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert taken.wait(30)
        assert errors == []
        yield
    finally:
        done.set()
        thread.join(30)
    assert errors == []


@override_settings(COMMITMENT_MAX_EVENTS=CAP)
def test_two_streams_whose_32_bit_keys_collided_drain_side_by_side(owner: Persona, post_ingest: IngestPoster) -> None:
    hot, other_store = _streams_sharing_a_32_bit_drain_key(owner.tenant_id)
    _ingest(owner, post_ingest, 2 * CAP, store=other_store)

    with _drained_elsewhere(drain_lock_key(owner.tenant_id, hot, LEGACY)):  # a long drain of `hot`
        drained = _drain(owner, other_store)

    assert (drained.busy, drained.links) == (False, 2)  # before: busy, starved by the hot stream


@pytest.mark.django_db(transaction=True)  # each seal commits, as in a deployment: its own now()
def test_a_quiet_stream_is_sealed_within_a_few_ticks_however_many_busier_streams_stay_behind(
    owner: Persona, post_ingest: IngestPoster
) -> None:
    """A tick lists at most ``max_streams`` due streams. Listed by backlog, busier streams kept a
    stream with one new event out of every tick while they stayed busy (an outside audit: 1,200
    busy streams, a quiet tenant's event uncommitted for 90 s); the least recently sealed are now
    listed first, so it waits a few ticks at most."""
    busy = [_ingest(owner, post_ingest, 10) for _ in range(3)]
    quiet = _ingest(owner, post_ingest, 1)
    sealing.commitment_seal_due(max_streams=10)  # each sealed once
    _ingest(owner, post_ingest, 1, quiet)

    ticks = 0
    while _chain(owner, quiet)[-1][1] < 2:
        for store in busy:  # the busy streams stay further behind than the quiet one at every tick
            _ingest(owner, post_ingest, 10, store)
        sealing.commitment_seal_due(max_streams=2)
        ticks += 1
        assert ticks <= 3, "a stream with one new event was kept out by busier ones"

    assert all(_chain(owner, store)[-1][1] >= 20 for store in busy)  # and they were sealed meanwhile
