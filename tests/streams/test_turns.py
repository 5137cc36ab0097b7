"""Turns to write a stream (``streams.turns``): one holder at a time across the processes forked
after the turns were opened and across the threads of one process; a dead holder's turn is free."""

from __future__ import annotations

import os
import threading
import time
import uuid

import pytest

from sequencer_project.process_instance import ProcessInstance
from streams.head_hints import fingerprint
from streams.turns import StreamTurns

TENANT = uuid.UUID("7d8b1a4e-0000-4000-8000-000000000002")
STREAM = uuid.UUID("7d8b1a4e-0000-4000-8000-0000000000aa")


def _fork(child: object) -> int:
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            child()  # type: ignore[operator]
            status = 0
        finally:
            os._exit(status)
    return pid


def _exit_code(pid: int) -> int:
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def test_a_process_waits_for_the_turn_another_process_holds(tmp_path: object) -> None:
    turns = StreamTurns(stripes=64)
    ready_r, ready_w = os.pipe()
    marker = f"{tmp_path}/released"

    def hold_then_release() -> None:
        with turns.turn(TENANT, STREAM):
            os.write(ready_w, b"h")
            time.sleep(0.3)
            with open(marker, "w") as handle:  # written while the turn is still held
                handle.write("done")

    pid = _fork(hold_then_release)
    try:
        os.read(ready_r, 1)
        with turns.turn(TENANT, STREAM):
            assert os.path.exists(marker)  # the holder had finished its turn before this one began
    finally:
        assert _exit_code(pid) == 0
        os.close(ready_r)
        os.close(ready_w)


def test_the_turn_of_a_process_that_died_holding_it_is_free() -> None:
    turns = StreamTurns(stripes=64)

    def die_holding() -> None:
        turns.turn(TENANT, STREAM).__enter__()  # never left
        os._exit(0)

    pid = _fork(die_holding)
    assert _exit_code(pid) == 0
    taken = threading.Event()

    def take() -> None:
        with turns.turn(TENANT, STREAM):
            taken.set()

    thread = threading.Thread(target=take, daemon=True)
    thread.start()
    thread.join(timeout=30)
    assert taken.is_set()


def test_threads_of_one_process_take_a_shared_stripe_one_at_a_time() -> None:
    turns = StreamTurns(stripes=1)  # every stream on the same stripe
    holding = threading.Event()
    release = threading.Event()
    order: list[str] = []

    def first() -> None:
        with turns.turn(TENANT, uuid.uuid4()):
            holding.set()
            release.wait(timeout=30)
            order.append("first leaves")

    def second() -> None:
        with turns.turn(TENANT, uuid.uuid4()):
            order.append("second enters")

    one = threading.Thread(target=first)
    one.start()
    assert holding.wait(timeout=30)
    two = threading.Thread(target=second)
    two.start()
    two.join(timeout=0.3)
    assert two.is_alive()  # still waiting for the stripe
    release.set()
    one.join(timeout=30)
    two.join(timeout=30)

    assert order == ["first leaves", "second enters"]


def test_turns_need_a_stripe() -> None:
    with pytest.raises(ValueError, match="stripes"):
        StreamTurns(stripes=0)


def test_threads_that_first_use_the_shared_turns_at_once_get_the_same_ones() -> None:
    made: list[object] = []

    def make() -> object:
        time.sleep(0.05)  # a slow first use: the other threads arrive meanwhile
        made.append(object())
        return made[-1]

    holder = ProcessInstance(make)
    seen: list[object] = []
    threads = [threading.Thread(target=lambda: seen.append(holder.get())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(made) == 1
    assert seen == made * 4


def _streams_on_stripes(turns: StreamTurns, count: int) -> list[uuid.UUID]:
    """One store id per stripe 0..count-1 of ``turns``."""
    found: dict[int, uuid.UUID] = {}
    while len(found) < count:
        store = uuid.uuid4()
        found.setdefault(fingerprint(TENANT, store) % turns.stripes, store)
    return [found[stripe] for stripe in range(count)]


def test_two_processes_crossing_turns_in_different_threads_wait_rather_than_fail(tmp_path: object) -> None:
    """Process A's thread holds stripe 0 while another of its threads waits for stripe 1, held by
    process B, whose second thread waits for stripe 0. No thread waits for what it holds, so no
    turn may fail: process-wide record locks answered EDEADLK here (a 500 for a valid append)."""
    turns = StreamTurns(stripes=2)
    zero, one = _streams_on_stripes(turns, 2)
    marker = f"{tmp_path}/child-done"
    go_r, go_w = os.pipe()  # A tells B it holds stripe 0
    ready_r, ready_w = os.pipe()  # B tells A its second thread waits for stripe 0

    def child() -> None:  # forked before any turn is held, as a server's master forks
        with turns.turn(TENANT, one):
            os.read(go_r, 1)
            waiter = threading.Thread(target=_take_and_leave, args=(turns, zero))
            waiter.start()
            time.sleep(0.2)  # the waiter is asleep in the kernel, waiting for process A
            os.write(ready_w, b"r")
            waiter.join(timeout=30)
            assert not waiter.is_alive()
            with open(marker, "w") as handle:
                handle.write("done")

    pid = _fork(child)
    a_holds_zero = threading.Event()
    release_zero = threading.Event()

    def hold_zero() -> None:
        with turns.turn(TENANT, zero):
            a_holds_zero.set()
            release_zero.wait(timeout=30)

    failures: list[BaseException] = []
    entered_after_child: list[bool] = []

    def take_one() -> None:
        try:
            with turns.turn(TENANT, one):
                entered_after_child.append(os.path.exists(marker))
        except BaseException as exc:  # what the old locks raised: OSError(EDEADLK)
            failures.append(exc)

    holder = threading.Thread(target=hold_zero)
    try:
        holder.start()
        assert a_holds_zero.wait(timeout=30)
        os.write(go_w, b"g")
        os.read(ready_r, 1)
        crossing = threading.Thread(target=take_one)
        crossing.start()
        time.sleep(0.2)  # it waits for process B, which waits for this process
        release_zero.set()
        crossing.join(timeout=30)
        holder.join(timeout=30)
    finally:
        release_zero.set()
        assert _exit_code(pid) == 0
        for fd in (go_r, go_w, ready_r, ready_w):
            os.close(fd)
    assert failures == []
    assert entered_after_child == [True]  # it waited for B's turn to end, then took it


def _take_and_leave(turns: StreamTurns, store: uuid.UUID) -> None:
    with turns.turn(TENANT, store):
        pass
