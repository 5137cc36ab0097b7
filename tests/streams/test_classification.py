"""Properties of the one classification state machine (``streams.classification``) that both
ingest paths use; the ingest tests hold each path's answers end to end."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from streams.classification import RejectionWords, StoredEvent, StreamState, classify

WORDS = RejectionWords("dup_id", "dup_command", "conflict: {detail}")
STORE, OTHER_STORE = uuid.UUID(int=1), uuid.UUID(int=2)
IDS = [uuid.UUID(int=100 + i) for i in range(6)]
COMMANDS = [uuid.UUID(int=200 + i) for i in range(3)]


@dataclass(frozen=True)
class Event:
    event_id: uuid.UUID
    envelope_hash: bytes
    command_id: uuid.UUID | None
    entity_type: str
    entity_id: str
    base_version: int | None


events = st.lists(
    st.builds(
        Event,
        event_id=st.sampled_from(IDS),
        envelope_hash=st.sampled_from([b"a", b"b"]),
        command_id=st.none() | st.sampled_from(COMMANDS),
        entity_type=st.just("order"),
        entity_id=st.sampled_from(["o1", "o2"]),
        base_version=st.none() | st.integers(0, 3),
    ),
    max_size=12,
)
failures = st.lists(st.none() | st.just(("schema", "bad")), min_size=12, max_size=12)


@st.composite
def states(draw: st.DrawFn) -> StreamState:
    head = draw(st.integers(0, 5))
    stored = {
        event_id.int: StoredEvent(draw(st.sampled_from([STORE, OTHER_STORE])), draw(st.integers(1, 5)), b"a")
        for event_id in draw(st.sets(st.sampled_from(IDS), max_size=2))
    }
    reserved = {command.int for command in draw(st.sets(st.sampled_from(COMMANDS), max_size=1))}
    versions = {("order", e): draw(st.integers(0, 2)) for e in draw(st.sets(st.sampled_from(["o1", "o2"])))}
    return StreamState(head, stored, reserved, versions)


def _copy(state: StreamState) -> StreamState:
    return StreamState(state.head, dict(state.stored), set(state.reserved), dict(state.versions))


@given(batch=events, state=states(), failed=failures)
def test_every_event_has_one_fate_and_accepted_numbers_follow_the_head(
    batch: list[Event], state: StreamState, failed: list[tuple[str, str] | None]
) -> None:
    before = _copy(state)
    out = classify(batch, state, STORE, WORDS, failed[: len(batch)])

    fates = [e for _, e in out.accepted] + [e for _, e in out.rejected]
    fates += [e for e, _, original in out.answered if original is not None]
    assert sorted(map(id, fates)) == sorted(map(id, batch))
    assert [n for n, _ in out.accepted] == list(range(before.head + 1, state.head + 1))
    assert [n for _, n, original in out.answered if original is None] == [n for n, _ in out.accepted]

    accepted = [e for _, e in out.accepted]
    assert len({e.event_id for e in accepted}) == len(accepted)
    assert not {e.event_id.int for e in accepted} & before.stored.keys()
    commands = [e.command_id for e in accepted if e.command_id is not None]
    assert len(set(commands)) == len(commands)
    assert not {command.int for command in commands} & before.reserved
    for position, event in enumerate(batch):
        if any(event is e for e in accepted):
            assert failed[position] is None
    versions = dict(before.versions)
    for event in accepted:  # each accepted base_version was the entity's version at its turn
        key = (event.entity_type, event.entity_id)
        if event.base_version is not None:
            assert event.base_version == versions.get(key, 0)
        versions[key] = versions.get(key, 0) + 1
    assert state.versions == {**before.versions, **versions}

    for event, sequence, original in out.answered:
        if original is not None:  # a replay: same store, same envelope, its stored number
            assert original is before.stored[event.event_id.int]
            assert (original.store_id, original.envelope_hash, sequence) == (
                STORE,
                event.envelope_hash,
                original.sequence_number,
            )


@given(batch=events, state=states())
def test_sending_the_same_request_again_replays_every_accepted_event_with_its_number(
    batch: list[Event], state: StreamState
) -> None:
    first = classify(batch, state, STORE, WORDS)
    head = state.head
    again = classify(batch, state, STORE, WORDS)

    assert not {e.event_id for _, e in again.accepted} & {e.event_id for _, e in first.accepted}
    assert state.head == head + len(again.accepted)
    replayed = {e.event_id: n for e, n, original in again.answered if original is not None}
    assert {e.event_id: n for n, e in first.accepted}.items() <= replayed.items()


def test_words_name_each_reason() -> None:
    state = StreamState(0, {IDS[0].int: StoredEvent(OTHER_STORE, 1, b"a")}, {COMMANDS[0].int}, {("order", "o1"): 2})
    batch = [
        Event(IDS[0], b"a", None, "order", "o1", None),
        Event(IDS[1], b"a", COMMANDS[0], "order", "o1", None),
        Event(IDS[2], b"a", None, "order", "o1", 1),
        Event(IDS[2], b"a", None, "order", "o1", None),
    ]
    out = classify(batch, state, STORE, WORDS)
    assert [(r.event_id, r.reason, r.message) for r, _ in out.rejected] == [
        (IDS[0], "dup_id", "event_id already used by another event"),
        (IDS[1], "dup_command", "command_id was already processed"),
        (IDS[2], "conflict: expected 1, actual 2", "expected 1, actual 2"),
        (IDS[2], "dup_id", "event_id appears twice in this request"),
    ]
    assert out.accepted == []
    assert state.head == 0
