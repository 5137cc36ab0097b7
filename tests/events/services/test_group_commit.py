"""The group-commit combiner on its own: real threads, no database.

A gate holds the first leader inside ``run_group`` so that followers pile up behind it; what
each group held and what each job got back is then checked exactly.
"""

from __future__ import annotations

import _thread
import contextlib
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from events.services import group_commit
from events.services.group_commit import GroupCommitter


@dataclass(frozen=True)
class Job:
    name: str
    size: int = 1


class Recorder:
    """A ``run_group`` that records groups; the first group waits for ``gate``."""

    def __init__(self) -> None:
        self.groups: list[list[str]] = []
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.fail_names: set[str] = set()
        self.raise_for_group_with: str | None = None

    def __call__(self, jobs: Sequence[Job]) -> list[str | BaseException]:
        self.groups.append([job.name for job in jobs])
        if len(self.groups) == 1:
            self.entered.set()
            assert self.gate.wait(10)
        if self.raise_for_group_with in {job.name for job in jobs}:
            raise RuntimeError("the whole group failed")
        return [ValueError(job.name) if job.name in self.fail_names else f"result-{job.name}" for job in jobs]


def _submit_all(
    committer: GroupCommitter[Job, str], recorder: Recorder, jobs: list[Job], key: str = "stream"
) -> dict[str, str | BaseException]:
    """Start the first job (it leads and blocks), queue the others behind it, then open the gate."""
    outcomes: dict[str, str | BaseException] = {}
    lock = threading.Lock()

    def run(job: Job) -> None:
        try:
            value: str | BaseException = committer.submit(key, job, recorder)
        except BaseException as exc:
            value = exc
        with lock:
            outcomes[job.name] = value

    first = threading.Thread(target=run, args=(jobs[0],))
    first.start()
    assert recorder.entered.wait(10)
    others = []
    for job in jobs[1:]:
        thread = threading.Thread(target=run, args=(job,))
        thread.start()
        others.append(thread)
        _wait_until_queued(committer, key, len(others))
    recorder.gate.set()
    for thread in [first, *others]:
        thread.join(10)
        assert not thread.is_alive()
    return outcomes


def _wait_until_queued(committer: GroupCommitter[Job, str], key: str, count: int) -> None:
    """Block until ``count`` jobs wait behind the running leader (keeps arrival order exact)."""
    for _ in range(2000):
        with committer._guard:
            queue = committer._queues.get(key)
            if queue is not None and len(queue.pending) >= count:
                return
        threading.Event().wait(0.005)
    raise AssertionError(f"{count} jobs never queued")


def test_requests_waiting_behind_a_leader_run_as_one_group_in_arrival_order() -> None:
    committer: GroupCommitter[Job, str] = GroupCommitter(max_events=100)
    recorder = Recorder()
    jobs = [Job(f"j{i}") for i in range(6)]

    outcomes = _submit_all(committer, recorder, jobs)

    assert recorder.groups == [["j0"], ["j1", "j2", "j3", "j4", "j5"]]
    assert outcomes == {job.name: f"result-{job.name}" for job in jobs}
    assert committer.last_group is not None
    assert (committer.last_group.jobs, committer.last_group.events) == (5, 5)
    assert committer._queues == {}


def test_a_group_never_exceeds_max_events_and_the_rest_lead_the_next_group() -> None:
    committer: GroupCommitter[Job, str] = GroupCommitter(max_events=5)
    recorder = Recorder()
    jobs = [Job("j0"), Job("j1", 2), Job("j2", 2), Job("j3", 2), Job("j4", 1), Job("j5", 9)]

    outcomes = _submit_all(committer, recorder, jobs)

    # j1+j2 = 4 events; j3 would make 6 > 5; j3+j4 = 3, j5 (9) alone exceeds the bound on its own.
    assert recorder.groups == [["j0"], ["j1", "j2"], ["j3", "j4"], ["j5"]]
    assert all(outcomes[job.name] == f"result-{job.name}" for job in jobs)


def test_a_failed_job_fails_alone_and_a_failed_group_fails_only_its_own_jobs() -> None:
    committer: GroupCommitter[Job, str] = GroupCommitter(max_events=2)
    recorder = Recorder()
    recorder.fail_names = {"j2"}
    recorder.raise_for_group_with = "j3"
    jobs = [Job(f"j{i}") for i in range(6)]

    outcomes = _submit_all(committer, recorder, jobs)

    assert recorder.groups == [["j0"], ["j1", "j2"], ["j3", "j4"], ["j5"]]
    assert outcomes["j0"] == "result-j0"
    assert outcomes["j1"] == "result-j1"
    assert isinstance(outcomes["j2"], ValueError)
    assert str(outcomes["j2"]) == "j2"
    for name in ("j3", "j4"):
        assert isinstance(outcomes[name], RuntimeError)
        assert str(outcomes[name]) == "the whole group failed"
    assert outcomes["j5"] == "result-j5"


def test_different_keys_never_share_a_group() -> None:
    committer: GroupCommitter[Job, str] = GroupCommitter(max_events=100)
    seen: list[list[str]] = []
    barrier = threading.Barrier(8)

    def run_group(jobs: Sequence[Job]) -> list[str | BaseException]:
        seen.append([job.name for job in jobs])
        return [job.name for job in jobs]

    def run(index: int) -> None:
        barrier.wait()
        assert committer.submit(index % 2, Job(f"k{index % 2}-{index}"), run_group) == f"k{index % 2}-{index}"

    threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(name for group in seen for name in group) == sorted(f"k{i % 2}-{i}" for i in range(8))
    for group in seen:
        assert len({name.split("-")[0] for name in group}) == 1


def test_followers_run_the_before_wait_hook_once_and_the_leader_never() -> None:
    committer: GroupCommitter[Job, str] = GroupCommitter(max_events=100)
    recorder = Recorder()
    calls: list[str] = []
    lock = threading.Lock()

    def submit(job: Job) -> None:
        def hook() -> bool:
            with lock:
                calls.append(job.name)
            return True

        committer.submit("s", job, recorder, before_wait=hook)

    leader = threading.Thread(target=submit, args=(Job("leader"),))
    leader.start()
    assert recorder.entered.wait(10)
    followers = [threading.Thread(target=submit, args=(Job(f"f{i}"),)) for i in range(3)]
    for thread in followers:
        thread.start()
    _wait_until_queued(committer, "s", 3)
    recorder.gate.set()
    for thread in [leader, *followers]:
        thread.join(10)
    assert sorted(calls) == ["f0", "f1", "f2"]


def test_a_follower_keeps_its_resource_until_the_leader_comes_to_need_it() -> None:
    """The pooled-connection case: one connection, held by a follower; the leader needs it."""
    committer: GroupCommitter[Job, str] = GroupCommitter(max_events=100)
    pool = threading.Semaphore(0)  # its only connection is the follower's
    leading, first_asked, waiting = threading.Event(), threading.Event(), threading.Event()
    asked: list[bool] = []

    def run_group(jobs: Sequence[Job]) -> list[str | BaseException]:
        if jobs[0].name == "leader":
            leading.set()
            assert first_asked.wait(5)  # the follower is waiting, its connection kept
            waiting.set()
            if not pool.acquire(timeout=5):  # without the hand-back this waits forever
                return [RuntimeError("the leader never got a connection")] * len(jobs)
            pool.release()
        return [job.name for job in jobs]

    def hand_back_when_needed() -> bool:
        needed = waiting.is_set()
        asked.append(needed)
        first_asked.set()
        if needed:
            pool.release()
        return needed

    results: dict[str, str] = {}
    leader = threading.Thread(target=lambda: results.update(leader=committer.submit("s", Job("leader"), run_group)))
    leader.start()
    follower_job = Job("follower")
    follower = threading.Thread(
        target=lambda: results.update(
            follower=committer.submit("s", follower_job, run_group, before_wait=hand_back_when_needed)
        )
    )
    assert leading.wait(5)
    follower.start()
    for thread in (leader, follower):
        thread.join(10)

    assert results == {"leader": "leader", "follower": "follower"}
    assert asked[0] is False  # nobody needed it when the follower began to wait: kept
    assert asked[-1] is True  # handed back once the leader waited for it
    assert asked.count(True) == 1


def test_a_waiting_follower_is_not_asked_again_at_every_wake_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """Other groups published while a follower waits do not make it ask its hook again: it asks
    only when ``BEFORE_WAIT_RECHECK_SECONDS`` have passed (here the clock stands still)."""
    monkeypatch.setattr(group_commit, "time", SimpleNamespace(monotonic=lambda: 1000.0))
    committer: GroupCommitter[Job, str] = GroupCommitter(max_events=100)
    recorder = Recorder()
    asked = threading.Event()
    calls: list[str] = []

    def hook() -> bool:
        calls.append("asked")
        asked.set()
        return False  # keeps its resource: would be asked again at the next check

    leader = threading.Thread(target=committer.submit, args=("s", Job("leader"), recorder))
    leader.start()
    assert recorder.entered.wait(10)
    follower = threading.Thread(
        target=committer.submit, args=("s", Job("follower"), recorder), kwargs={"before_wait": hook}
    )
    follower.start()
    assert asked.wait(10)
    for i in range(20):  # twenty groups of another stream, each waking every waiting thread
        assert committer.submit(f"other-{i}", Job(f"o{i}"), recorder) == f"result-o{i}"
    recorder.gate.set()
    for thread in (leader, follower):
        thread.join(10)
    assert calls == ["asked"]


def test_a_published_group_wakes_its_own_threads_and_the_next_leader_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each waiting thread has its own lock: groups of other streams never wake it, and a
    group's outcome wakes the threads of its jobs (and the first job still queued) once."""
    woken: dict[str, int] = {}

    class Counted:
        """A lock that counts the wakes (releases) of the thread that made it."""

        def __init__(self) -> None:
            self.lock = _thread.allocate_lock()
            self.name = threading.current_thread().name  # made by the thread that waits on it

        def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
            return self.lock.acquire(blocking, timeout)

        def locked(self) -> bool:
            return self.lock.locked()

        def release(self) -> None:
            woken[self.name] = woken.get(self.name, 0) + 1
            self.lock.release()

    monkeypatch.setattr(group_commit, "_thread", SimpleNamespace(allocate_lock=Counted))
    committer: GroupCommitter[Job, str] = GroupCommitter(max_events=2)
    recorder = Recorder()
    leader = threading.Thread(target=committer.submit, args=("s", Job("leader"), recorder), name="leader")
    leader.start()
    assert recorder.entered.wait(10)
    followers = []
    for name in ("f1", "f2", "f3"):  # f1 and f2 fill the next group (max 2 events), f3 the one after
        followers.append(threading.Thread(target=committer.submit, args=("s", Job(name), recorder), name=name))
        followers[-1].start()
    time.sleep(0.05)  # the followers are waiting now
    for i in range(10):  # groups of other streams
        assert committer.submit(f"other-{i}", Job(f"o{i}"), recorder) == f"result-o{i}"
    assert woken == {}

    recorder.gate.set()
    for thread in (leader, *followers):
        thread.join(10)
        assert not thread.is_alive()
    # The leader never waited. f1 is woken to lead the next group, whose outcome wakes f1 and
    # f2; f3 is woken to lead the last group, whose outcome wakes it once more.
    assert woken == {"f1": 2, "f2": 1, "f3": 2}


def test_max_events_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_events"):
        GroupCommitter(max_events=0)


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=24),
    max_events=st.integers(min_value=1, max_value=12),
    wait_ms=st.sampled_from([0.0, 1.0]),
)
def test_every_job_gets_its_own_result_once_in_bounded_contiguous_groups(
    sizes: list[int], max_events: int, wait_ms: float
) -> None:
    committer: GroupCommitter[Job, str] = GroupCommitter(max_events=max_events, max_wait_seconds=wait_ms / 1000)
    groups: list[list[Job]] = []
    groups_lock = threading.Lock()
    results: dict[str, str] = {}
    barrier = threading.Barrier(len(sizes))

    def run_group(jobs: Sequence[Job]) -> list[str | BaseException]:
        with groups_lock:
            groups.append(list(jobs))
        return [f"done-{job.name}" for job in jobs]

    def run(job: Job) -> None:
        barrier.wait()
        results[job.name] = committer.submit("one-stream", job, run_group)

    jobs = [Job(f"j{i}", size) for i, size in enumerate(sizes)]
    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
        assert not thread.is_alive()

    assert results == {job.name: f"done-{job.name}" for job in jobs}
    served = [job.name for group in groups for job in group]
    assert sorted(served) == sorted(job.name for job in jobs)  # each job exactly once
    for group in groups:
        assert len(group) == 1 or sum(job.size for job in group) <= max_events


class Turn:
    """A gate like the stream's turn among processes: held by 'another process' (the test)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.log: list[str] = []
        self.waiting = threading.Event()

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        self.waiting.set()
        with self.lock:
            self.log.append("enter")
            yield
            self.log.append("exit")


def _run_in_thread(
    committer: GroupCommitter[Job, str], job: Job, run_group: Any, outcomes: dict[str, Any], **kw: Any
) -> threading.Thread:
    def run() -> None:
        try:
            outcomes[job.name] = committer.submit("stream", job, run_group, **kw)
        except BaseException as exc:
            outcomes[job.name] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_leader_waiting_at_the_gate_takes_the_jobs_that_arrived_meanwhile() -> None:
    committer: GroupCommitter[Job, str] = GroupCommitter(max_events=100, max_wait_seconds=0.5)
    turn = Turn()
    groups: list[tuple[list[str], bool]] = []

    def run_group(jobs: Sequence[Job]) -> list[str | BaseException]:
        groups.append(([job.name for job in jobs], turn.lock.locked()))
        turn.log.append("run")
        return [f"result-{job.name}" for job in jobs]

    outcomes: dict[str, Any] = {}
    turn.lock.acquire()  # the other process holds the turn
    threads = [_run_in_thread(committer, Job("j0"), run_group, outcomes, gate=turn)]
    assert turn.waiting.wait(10)
    for index in range(1, 5):
        threads.append(_run_in_thread(committer, Job(f"j{index}"), run_group, outcomes, gate=turn))
        _wait_until_queued(committer, "stream", index + 1)  # j0 stays queued while it waits
    turn.lock.release()
    for thread in threads:
        thread.join(10)
        assert not thread.is_alive()

    assert groups == [(["j0", "j1", "j2", "j3", "j4"], True)]
    assert turn.log == ["enter", "run", "exit"]
    assert outcomes == {f"j{i}": f"result-j{i}" for i in range(5)}
    assert committer._queues == {}


def test_the_gate_is_left_before_the_outcomes_are_published_even_when_the_group_fails() -> None:
    committer: GroupCommitter[Job, str] = GroupCommitter(max_events=100)
    turn = Turn()

    def run_group(jobs: Sequence[Job]) -> list[str | BaseException]:
        raise RuntimeError("the statement failed")

    with pytest.raises(RuntimeError, match="the statement failed"):
        committer.submit("stream", Job("j0"), run_group, gate=turn)
    assert turn.log == ["enter", "exit"]
    assert not turn.lock.locked()
    assert committer._queues == {}


def test_a_gate_that_cannot_open_is_passed_by() -> None:
    committer: GroupCommitter[Job, str] = GroupCommitter(max_events=100)

    def broken_gate() -> contextlib.AbstractContextManager[object]:
        raise OSError("no lock today")

    assert committer.submit("stream", Job("j0"), lambda jobs: [f"result-{j.name}" for j in jobs], gate=broken_gate) == (
        "result-j0"
    )
    assert committer._queues == {}


def test_a_leader_interrupted_at_the_gate_hands_the_stream_to_the_next_job() -> None:
    committer: GroupCommitter[Job, str] = GroupCommitter(max_events=100)
    turn = Turn()
    release_interrupt = threading.Event()

    @contextlib.contextmanager
    def interrupted_gate() -> Iterator[None]:
        turn.waiting.set()
        assert release_interrupt.wait(10)
        raise KeyboardInterrupt
        yield  # pragma: no cover

    ran: list[list[str]] = []

    def run_group(jobs: Sequence[Job]) -> list[str | BaseException]:
        ran.append([job.name for job in jobs])
        return [f"result-{job.name}" for job in jobs]

    outcomes: dict[str, Any] = {}
    first = _run_in_thread(committer, Job("j0"), run_group, outcomes, gate=interrupted_gate)
    assert turn.waiting.wait(10)
    second = _run_in_thread(committer, Job("j1"), run_group, outcomes, gate=turn)
    _wait_until_queued(committer, "stream", 2)
    release_interrupt.set()
    for thread in (first, second):
        thread.join(10)
        assert not thread.is_alive()

    assert isinstance(outcomes["j0"], KeyboardInterrupt)
    assert outcomes["j1"] == "result-j1"
    assert ran == [["j1"]]  # the interrupted leader's job never ran
    assert committer._queues == {}
