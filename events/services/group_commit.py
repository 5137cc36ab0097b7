"""Group commit: concurrent requests for one stream in one web process share a transaction.

Every write of a stream queues on its counter row and pays a commit (a WAL flush) while it
holds it, so one hot stream is capped at one transaction per flush however fast the rest is.
``GroupCommitter`` turns the requests that wait for the same stream in one process into a
single transaction (ADR 0014):

- a request enqueues its prepared job under the stream's key and waits;
- the first waiter that finds no transaction running for the key becomes the *leader*: it takes
  the queued jobs in arrival order (bounded by ``max_events``), optionally waits up to
  ``max_wait`` for more when the stream was contended a moment ago, runs them through
  ``run_group`` in one transaction, publishes each job's outcome and wakes those jobs' threads
  and the next leader (each thread waits on its own lock: no other thread wakes);
- a waiter whose job was served returns its own outcome; one that was left out (group full)
  leads the next group;
- with a ``gate`` (the stream's turn among the web processes, ADR 0038), the leader passes the
  gate before it takes its group: the jobs that arrived while it waited join the group instead
  of waiting for the next one.

Nothing is batched across processes: gunicorn workers still meet at the counter row lock.
With one request at a time per process (sync workers) every group has one job, which runs
exactly like the ungrouped path.
"""

from __future__ import annotations

import _thread
import contextlib
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar


class Sized(Protocol):
    @property
    def size(self) -> int: ...


JobT = TypeVar("JobT", bound=Sized)
ResultT = TypeVar("ResultT")


@dataclass(slots=True)
class _Slot(Generic[JobT, ResultT]):
    job: JobT
    wake: _thread.LockType | None = None  # held while this job's thread may sleep; made at its first wait
    done: bool = False
    result: ResultT | None = None
    error: BaseException | None = None


@dataclass(slots=True)
class _StreamQueue(Generic[JobT, ResultT]):
    pending: list[_Slot[JobT, ResultT]] = field(default_factory=list)
    leading: bool = False
    last_group_size: int = 0
    collecting: _Slot[JobT, ResultT] | None = None  # the leader's, while it waits for more jobs


@dataclass(frozen=True, slots=True)
class GroupStats:
    """What the last group of a stream held (exposed for metrics and tests)."""

    jobs: int
    events: int


# What an ungated leader leaves after its group: nothing (reusable, made once).
_UNGATED: contextlib.AbstractContextManager[object] = contextlib.nullcontext()

# How often a follower whose ``before_wait`` hook declined asks it again while it waits: a safety
# net (the hook itself decides up front whether what it keeps may be needed), so rarely that most
# followers are served first. At 2 ms a follower woke ~1.5 times per request for nothing
# (docs/performance.md, "Context switches per request").
BEFORE_WAIT_RECHECK_SECONDS = 0.02


class GroupCommitter(Generic[JobT, ResultT]):
    """Per-process combiner of concurrent jobs that target the same key (one stream)."""

    def __init__(self, *, max_events: int, max_wait_seconds: float = 0.0) -> None:
        if max_events < 1:
            raise ValueError("max_events must be positive")
        self.max_events = max_events
        self.max_wait_seconds = max(max_wait_seconds, 0.0)
        self._guard = threading.Lock()
        self._queues: dict[Hashable, _StreamQueue[JobT, ResultT]] = {}
        self.last_group: GroupStats | None = None

    def submit(
        self,
        key: Hashable,
        job: JobT,
        run_group: Callable[[Sequence[JobT]], Sequence[ResultT | BaseException]],
        *,
        before_wait: Callable[[], bool] | None = None,
        gate: Callable[[], contextlib.AbstractContextManager[object]] | None = None,
    ) -> ResultT:
        """Run ``job`` in a group of the jobs queued for ``key``; return its own result.

        ``run_group`` receives the jobs in arrival order and returns one outcome per job: its
        result, or the exception that job must raise. An exception raised by ``run_group``
        itself fails every job of that group. ``before_wait`` runs (outside the guard) before
        this thread blocks as a follower, e.g. to hand its database connection back; while it
        returns False it is asked again every ``BEFORE_WAIT_RECHECK_SECONDS`` of waiting (a
        follower keeps its connection until someone needs it), not whenever it wakes.

        ``gate``: a context the leader enters (outside the guard) before it takes its group and
        leaves once the group has run, before it publishes; the group is every job queued by then
        (no ``max_wait`` of its own: waiting at the gate collects). A gate that fails to open is
        passed by: it may only order the work, never decide it.

        Each thread waits on its own lock: a published group wakes its own jobs' threads
        and the next leader, not every thread of the process (waking all of them cost 6.7 % of a
        web worker's GIL samples under single-event load, ``docs/performance.md``).
        """
        slot: _Slot[JobT, ResultT] = _Slot(job)
        recheck_at = 0.0  # when ``before_wait`` is due again (every wake-up would be too often)
        with self._guard:
            queue = self._queues.get(key)
            if queue is None:
                queue = self._queues[key] = _StreamQueue()
            queue.pending.append(slot)
            if queue.collecting is not None:  # a leader waits for more jobs
                self._wake(queue.collecting)
            while not slot.done:
                if queue.leading:
                    if before_wait is None:
                        self._wait(slot)
                        continue
                    now = time.monotonic()
                    if now >= recheck_at:
                        self._guard.release()
                        try:
                            settled = before_wait()
                        finally:
                            self._guard.acquire()
                        if settled:
                            before_wait = None
                            continue
                        recheck_at = now + BEFORE_WAIT_RECHECK_SECONDS
                    if not slot.done:
                        self._wait(slot, recheck_at - now)
                    continue
                queue.leading = True
                held = _UNGATED if gate is None else self._pass_gate(key, queue, slot, gate)
                group = self._take_group(queue, slot, collect=gate is None)
                outcomes: Sequence[ResultT | BaseException] | None = None
                self._guard.release()
                try:
                    with held:
                        outcomes = self._run(group, run_group)
                finally:
                    self._guard.acquire()
                    self._publish(key, queue, group, outcomes)
        return self._outcome(slot)

    def _pass_gate(
        self,
        key: Hashable,
        queue: _StreamQueue[JobT, ResultT],
        leader: _Slot[JobT, ResultT],
        gate: Callable[[], contextlib.AbstractContextManager[object]],
    ) -> contextlib.AbstractContextManager[object]:
        """Enter ``gate`` outside the guard (the caller holds it, and has it back after); what to
        leave once the group has run. Interrupted there, the leader leaves the queue and hands
        the stream to the next one."""
        held = contextlib.ExitStack()
        self._guard.release()
        try:
            held.enter_context(gate())
        except Exception:  # noqa: S110  (the gate only orders the work: pass it by)
            pass
        except BaseException:
            self._guard.acquire()
            queue.pending.remove(leader)
            self._publish(key, queue, [], None)
            raise
        self._guard.acquire()
        return held

    def _take_group(
        self, queue: _StreamQueue[JobT, ResultT], leader: _Slot[JobT, ResultT], *, collect: bool = True
    ) -> list[_Slot[JobT, ResultT]]:
        """Pop the queued slots that fit in one group (caller holds the guard); ``collect``: wait
        up to ``max_wait`` for more first when the last group had several."""
        if collect and self.max_wait_seconds and queue.last_group_size > 1:
            deadline = time.monotonic() + self.max_wait_seconds
            queue.collecting = leader
            try:
                while self._events(queue.pending) < self.max_events:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._wait(leader, remaining)
            finally:
                queue.collecting = None
        group: list[_Slot[JobT, ResultT]] = []
        events = 0
        while queue.pending:
            size = queue.pending[0].job.size
            if group and events + size > self.max_events:
                break
            group.append(queue.pending.pop(0))
            events += size
        queue.last_group_size = len(group)
        self.last_group = GroupStats(jobs=len(group), events=events)
        return group

    def _wait(self, slot: _Slot[JobT, ResultT], timeout: float | None = None) -> None:
        """Block this slot's thread until woken or ``timeout`` (caller holds the guard, and holds
        it again on return; the caller checks the state again, as with a condition).

        The slot's own lock, not a ``threading.Condition``: a condition makes, queues and drops a
        lock of its own in Python at every wait and notify. The lock is held ("armed") while the
        thread may sleep on it; :meth:`_wake` releases it, and the sleeper's acquire takes it
        back, armed for the next wait. A wake that finds the thread awake (the lock free) leaves
        it free, so the next wait returns at once: no wake is lost. Made at the first wait: most
        leaders never wait."""
        wake = slot.wake
        if wake is None:
            wake = slot.wake = _thread.allocate_lock()
            wake.acquire()
        self._guard.release()
        try:
            wake.acquire(True, -1 if timeout is None else max(timeout, 0.0))
        finally:
            self._guard.acquire()

    @staticmethod
    def _wake(slot: _Slot[JobT, ResultT]) -> None:
        """Wake the slot's thread if it may sleep (caller holds the guard; a thread that has not
        waited yet sees the new state under the guard before it would)."""
        wake = slot.wake
        if wake is not None and wake.locked():
            wake.release()

    @staticmethod
    def _events(slots: list[_Slot[JobT, ResultT]]) -> int:
        return sum(slot.job.size for slot in slots)

    @staticmethod
    def _run(
        group: list[_Slot[JobT, ResultT]],
        run_group: Callable[[Sequence[JobT]], Sequence[ResultT | BaseException]],
    ) -> Sequence[ResultT | BaseException]:
        """Run one group (caller does not hold the guard); a failure fails every job of it."""
        try:
            outcomes = run_group([slot.job for slot in group])
        except Exception as exc:
            return [exc] * len(group)
        if len(outcomes) != len(group):
            return [RuntimeError("run_group returned a different number of outcomes than jobs")] * len(group)
        return outcomes

    def _publish(
        self,
        key: Hashable,
        queue: _StreamQueue[JobT, ResultT],
        group: list[_Slot[JobT, ResultT]],
        outcomes: Sequence[ResultT | BaseException] | None,
    ) -> None:
        """Hand each job its outcome and the stream to the next leader (caller holds the guard):
        wakes the group's threads and the first one still queued, no other."""
        if outcomes is None:  # the leader was interrupted (BaseException): fail the group
            outcomes = [RuntimeError("the group's leader was interrupted")] * len(group)
        for slot, outcome in zip(group, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                slot.error = outcome
            else:
                slot.result = outcome
            slot.done = True
            self._wake(slot)
        queue.leading = False
        if queue.pending:
            self._wake(queue.pending[0])  # leads the next group
        else:
            self._queues.pop(key, None)

    @staticmethod
    def _outcome(slot: _Slot[JobT, ResultT]) -> ResultT:
        if slot.error is not None:
            raise slot.error
        assert slot.result is not None
        return slot.result
