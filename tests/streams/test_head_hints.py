"""The table of stream heads the web processes share (``streams.head_hints``): a guess is a head
the stream really had, or nothing; processes forked after the table was mapped see each other's."""

from __future__ import annotations

import os
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.head_hints import _ENTRY, _SEAL, HeadHints, fingerprint

TENANT = uuid.UUID("7d8b1a4e-0000-4000-8000-000000000001")
STORES = [uuid.UUID(int=(0xA5 << 120) + n) for n in range(8)]


def test_a_remembered_head_is_guessed_and_an_unknown_stream_is_not() -> None:
    hints = HeadHints(slots=64)
    hints.remember(TENANT, STORES[0], 41)

    assert hints.guess(TENANT, STORES[0]) == 41
    assert hints.guess(TENANT, uuid.uuid4()) is None


def test_the_last_head_remembered_wins_even_a_lower_one() -> None:
    hints = HeadHints(slots=64)
    hints.remember(TENANT, STORES[0], 9)
    hints.remember(TENANT, STORES[0], 3)  # e.g. a test database emptied under the same stream

    assert hints.guess(TENANT, STORES[0]) == 3


def test_a_stream_that_took_the_slot_over_leaves_the_other_without_a_guess() -> None:
    hints = HeadHints(slots=1)
    hints.remember(TENANT, STORES[0], 5)
    hints.remember(TENANT, STORES[1], 8)

    assert hints.guess(TENANT, STORES[0]) is None
    assert hints.guess(TENANT, STORES[1]) == 8


def test_a_torn_entry_is_no_guess() -> None:
    hints = HeadHints(slots=16)
    hints.remember(TENANT, STORES[0], 12)
    tag = fingerprint(TENANT, STORES[0])
    offset = (tag % hints.slots) * _ENTRY.size
    _ENTRY.pack_into(hints._memory, offset, tag, 13, tag ^ 12 ^ _SEAL)  # head of one write, check of another

    assert hints.guess(TENANT, STORES[0]) is None


def test_forget_drops_only_the_streams_own_entry() -> None:
    hints = HeadHints(slots=1)
    hints.remember(TENANT, STORES[0], 5)
    hints.forget(TENANT, STORES[1])  # does not hold the slot: nothing changes
    assert hints.guess(TENANT, STORES[0]) == 5

    hints.forget(TENANT, STORES[0])
    assert hints.guess(TENANT, STORES[0]) is None


@given(
    slots=st.integers(min_value=1, max_value=4),
    writes=st.lists(st.tuples(st.sampled_from(STORES), st.integers(min_value=0, max_value=2**63 - 1)), max_size=40),
)
def test_a_guess_is_always_the_last_head_remembered_for_that_stream_or_nothing(
    slots: int, writes: list[tuple[uuid.UUID, int]]
) -> None:
    hints = HeadHints(slots=slots)  # few slots: streams keep taking each other's
    last: dict[uuid.UUID, int] = {}
    for store_id, head in writes:
        hints.remember(TENANT, store_id, head)
        last[store_id] = head
        for other in STORES:
            assert hints.guess(TENANT, other) in (None, last.get(other))
        assert hints.guess(TENANT, store_id) == head


def test_processes_forked_after_the_table_was_mapped_see_each_others_heads() -> None:
    hints = HeadHints(slots=1024)
    hints.remember(TENANT, STORES[0], 7)
    to_child_r, to_child_w = os.pipe()
    to_parent_r, to_parent_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: a second web worker
        status = 1
        try:
            seen = hints.guess(TENANT, STORES[0])
            hints.remember(TENANT, STORES[1], 99)
            os.write(to_parent_w, b"w")
            os.read(to_child_r, 1)  # the parent has written its next head
            status = 0 if seen == 7 and hints.guess(TENANT, STORES[0]) == 8 else 3
        finally:
            os._exit(status)
    try:
        os.read(to_parent_r, 1)
        assert hints.guess(TENANT, STORES[1]) == 99  # the child's write, seen here
        hints.remember(TENANT, STORES[0], 8)
        os.write(to_child_w, b"p")
    finally:
        _, status = os.waitpid(pid, 0)
        for fd in (to_child_r, to_child_w, to_parent_r, to_parent_w):
            os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0


def test_a_table_needs_a_slot() -> None:
    with pytest.raises(ValueError, match="slots"):
        HeadHints(slots=0)
