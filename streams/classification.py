"""The one classification state machine of a stream: replay, duplicate, command, version.

Legacy and VES ingest decide every event's fate the same way, in request order, against what
the stream holds under its counter lock (ADR 0001, ``docs/ingest.md``):

1. an event id seen earlier in the same request is a duplicate;
2. a stored event with the id is an exact replay (same store, same envelope hash: answered with
   its stored sequence number or receipt) or a duplicate id;
3. a failure found before the transaction (schema, signature, payload hash) rejects it;
4. a command id already reserved in the stream kind (or by an earlier event here) is a duplicate;
5. a ``base_version`` that is not the entity's current version is a conflict;
6. otherwise it takes the next number, and the state moves on: its id is stored, its command id
   reserved, its entity one version further. The requests of a group commit are classified one
   after the other against one state, so a later one sees an earlier one's events.

The callers differ only in words (reason strings), in what a stored row carries (a VES receipt)
and in what they build from the outcome; the rules are here once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar


class Sequenceable(Protocol):
    """What classification reads of an event (both ingest paths' prepared events provide it)."""

    @property
    def event_id(self) -> uuid.UUID: ...
    @property
    def envelope_hash(self) -> bytes: ...
    @property
    def command_id(self) -> uuid.UUID | None: ...
    @property
    def entity_type(self) -> str: ...
    @property
    def entity_id(self) -> str: ...
    @property
    def base_version(self) -> int | None: ...


E = TypeVar("E", bound=Sequenceable)


@dataclass(slots=True)
class StoredEvent:
    """A stored event of the tenant with an id the batch uses (``receipt``: VES only).

    Not frozen, like the other per-event records of the hot path (``LegacyEvent``, ``Receipt``):
    one is built for every accepted event, and a frozen dataclass costs about twice as much to
    build. Nothing changes one after it is built."""

    store_id: uuid.UUID
    sequence_number: int
    envelope_hash: bytes
    receipt: Any = None


@dataclass(slots=True)
class StreamState:
    """What the stream holds as classification goes (the caller holds its counter lock).

    Event and command ids are keyed by their 128-bit integers (``UUID.int``): ``UUID.__hash__``
    is Python code, and classification looks each event's id up about four times."""

    head: int
    stored: dict[int, StoredEvent] = field(default_factory=dict)
    reserved: set[int] = field(default_factory=set)
    versions: dict[tuple[str, str], int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RejectionWords:
    """A path's reason strings; ``version_conflict`` may name ``{detail}`` ("expected 2, actual 3")."""

    duplicate_event_id: str
    duplicate_command_id: str
    version_conflict: str


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why one event was not sequenced (``reason``: the path's word, see :class:`RejectionWords`)."""

    event_id: uuid.UUID
    reason: str
    message: str


@dataclass(slots=True)
class Classification(Generic[E]):
    """The outcome of one request's events.

    ``answered``: in request order, every event that gets a receipt, with ``None`` when it was
    accepted now or its stored row when it is an exact replay. ``accepted``: (sequence number,
    event). ``rejected``: (rejection, event).
    """

    accepted: list[tuple[int, E]] = field(default_factory=list)
    rejected: list[tuple[Rejection, E]] = field(default_factory=list)
    answered: list[tuple[E, int, StoredEvent | None]] = field(default_factory=list)


R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class SequencedBatch(Generic[R]):
    """What an ingest request gets back: its receipts (``R``: the path's receipt) and rejections."""

    batch_id: uuid.UUID
    accepted: int
    rejections: list[Rejection]
    receipts: list[R]
    sequence_start: int | None
    sequence_end: int | None
    head: int


_TWICE = "event_id appears twice in this request"
_TAKEN = "event_id already used by another event"
_PROCESSED = "command_id was already processed"


def classify(
    events: Sequence[E],
    state: StreamState,
    store_id: uuid.UUID,
    words: RejectionWords,
    failures: Sequence[tuple[str, str] | None] | None = None,
) -> Classification[E]:
    """Decide each event's fate in request order and move ``state`` on by the accepted ones.

    ``failures`` (parallel to ``events``; ``None`` = no failures) are the checks that failed
    before the transaction, as ``(reason, message)``: an exact replay is still answered with
    its stored row, so it is never re-judged.
    """
    out: Classification[E] = Classification()
    seen: set[int] = set()
    stored, reserved, versions = state.stored, state.reserved, state.versions
    for position, event in enumerate(events):
        event_id = event.event_id
        id_key = event_id.int
        if id_key in seen:
            out.rejected.append((Rejection(event_id, words.duplicate_event_id, _TWICE), event))
            continue
        seen.add(id_key)
        original = stored.get(id_key)
        if original is not None:
            if original.store_id == store_id and original.envelope_hash == event.envelope_hash:
                out.answered.append((event, original.sequence_number, original))
            else:
                out.rejected.append((Rejection(event_id, words.duplicate_event_id, _TAKEN), event))
            continue
        if failures is not None and (failure := failures[position]) is not None:
            out.rejected.append((Rejection(event_id, failure[0], failure[1]), event))
            continue
        command_id = event.command_id
        if command_id is not None and command_id.int in reserved:
            out.rejected.append((Rejection(event_id, words.duplicate_command_id, _PROCESSED), event))
            continue
        key = (event.entity_type, event.entity_id)
        current = versions.get(key, 0)
        base_version = event.base_version
        if base_version is not None and base_version != current:
            detail = f"expected {base_version}, actual {current}"
            out.rejected.append((Rejection(event_id, words.version_conflict.format(detail=detail), detail), event))
            continue
        if command_id is not None:
            reserved.add(command_id.int)
        versions[key] = current + 1
        state.head += 1
        stored[id_key] = StoredEvent(store_id, state.head, event.envelope_hash)
        out.accepted.append((state.head, event))
        out.answered.append((event, state.head, None))
    return out


def read_parameters(events: Iterable[Sequenceable]) -> dict[str, list[Any]]:
    """The parameters of a classification read (``classify_batch.sql``, ``classify_ves_batch.sql``):
    the batch's event ids, command ids, and the entities whose events carry a ``base_version``."""
    events = list(events)
    versioned = {(e.entity_type, e.entity_id) for e in events if e.base_version is not None}
    return {
        "event_ids": [e.event_id for e in events],
        "command_ids": [e.command_id for e in events if e.command_id is not None],
        "entity_types": [k[0] for k in versioned],
        "entity_ids": [k[1] for k in versioned],
    }


def state_from_rows(
    head: int, rows: Iterable[Sequence[Any]], receipt_of: Callable[[Sequence[Any]], Any] | None = None
) -> StreamState:
    """A state from a classification read's rows: ``(kind, event_id, store_id, sequence_number,
    envelope_hash, entity_type, entity_id, version, …)``; ``receipt_of(row)`` reads a stored
    event's receipt from the row's further columns (VES)."""
    state = StreamState(head)
    for row in rows:
        kind = row[0]
        if kind == "e":
            receipt = receipt_of(row) if receipt_of is not None else None
            state.stored[row[1].int] = StoredEvent(row[2], row[3], bytes(row[4]), receipt)
        elif kind == "c":
            state.reserved.add(row[1].int)
        else:
            state.versions[(row[5], row[6])] = row[7]
    return state
