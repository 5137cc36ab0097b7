"""Built-in projection ``entity_state``: version, last event and merged state per entity.

Keyed by ``(tenant, store, entity_type, entity_id)``; consumes the legacy stream. ``version``
counts the events applied to the entity, ``state`` is the RFC 7386 merge of their payloads in
application order (:mod:`events.projections.merge`). A dead-lettered event retried later is
applied on top of the state at that time; ``last_sequence`` keeps the highest applied number.

The runner hands it whole batches (:meth:`EntityStateProjection.apply_many`), of every stream a
projection transaction advances: at most three statements per batch whatever its size and
streams, the merges in memory, so its cost follows the events, not round trips. A new entity's
one event is only authenticated, not parsed: its row refers to the event and readers merge its
payload (ADR 0036). One event (a dead-letter retry) goes through :meth:`apply`, a batch of one; both fold
with :meth:`merge`, the one step a subclass may change.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from django.db import connection

from events.payload_crypto import PayloadDecryptionError, encryption_key_for_write
from events.projections.merge import merge_patch
from events.projections.registry import ProjectionEvent, UnreadablePayloadError, payloads_altered
from events.projections.state_crypto import EntityKey, state_columns, state_of_row
from events.sql import (
    DELETE_ENTITY_STATE_STREAM,
    INSERT_ENTITY_STATE_REFERENCES,
    SELECT_ENTITY_STATES_FOR_UPDATE,
    UPSERT_ENTITY_STATES,
)
from streams.kinds import StreamKind

ENTITY_STATE = "entity_state"


class EntityStateProjection:
    """The ``entity_state`` handler. Per batch: the new entities' references, then the others'
    lock-and-read and upsert (one to three statements)."""

    name = ENTITY_STATE
    stream_kind = StreamKind.LEGACY

    def merge(self, current: Any, event: ProjectionEvent) -> Any:
        """The entity's state after ``event``; raising sends the event to the dead letters."""
        return merge_patch(current, event.payload)

    def apply_many(self, events: Sequence[ProjectionEvent]) -> list[tuple[ProjectionEvent, Exception]]:
        """Fold a batch into its entities' rows: events of one or more streams, each stream's in
        sequence order (the runner hands it a whole transaction's streams at once).

        An entity with no row yet and one event in the batch is stored by reference to that
        event (ADR 0036): its state is that payload merged into nothing, which readers compute,
        so the payload is only authenticated (an altered one is dead-lettered), neither parsed
        nor sealed again here, and one statement writes every such row. Every other entity's
        state is read (opening a state by reference from its event), merged and written sealed:
        two more statements.

        Returns the events whose :meth:`merge` raised, whose payload was altered at rest, or
        whose entity's state refers to such a payload (``UnreadablePayloadError``: not applied,
        the caller dead-letters them); the others are applied. A payload or state whose key is
        missing from the ring, and a database error, propagate: the caller rolls the batch back
        and applies its streams alone (stalling the one whose key is missing). Caller holds the
        transaction and the streams' locks.
        """
        if not events:
            return []
        streams = _Streams()
        keyed = [((streams.number(e), e.entity_type, e.entity_id), e) for e in events]
        counts: dict[_Key, int] = {}
        for key, _ in keyed:
            counts[key] = counts.get(key, 0) + 1
        with connection.cursor() as cursor:
            referenced, altered = self._insert_references(cursor, streams, keyed, counts)
            merged = [(key, event) for key, event in keyed if key not in referenced]
            return altered + self._merge(cursor, streams, merged) if merged else altered

    def _insert_references(
        self, cursor: Any, streams: _Streams, keyed: list[tuple[_Key, ProjectionEvent]], counts: dict[_Key, int]
    ) -> tuple[set[_Key], list[tuple[ProjectionEvent, Exception]]]:
        """Write the rows of the batch's new entities of one event by reference to it (one
        statement); the keys written (and those of the events not written, which then have no
        other event in the batch to merge), and the events whose payload was altered at rest.

        A payload becomes a state only once authenticated (ADR 0036): each candidate's is opened
        here (AES-GCM, not parsed), so an altered one is dead-lettered as the merge would have it,
        and its entity gets no row, so its next event is the first it sees, as in a rebuild. One
        whose key is missing from the ring is referred to unopened as before: the entity's next
        event stalls on it. Only the built-in merge: a subclass merges every event."""
        if type(self).merge is not EntityStateProjection.merge:
            return set(), []
        candidates = [(key, event) for key, event in keyed if counts[key] == 1]
        if not candidates:
            return set(), []
        altered = payloads_altered([event for _, event in candidates])
        if altered:
            failed = {id(event) for event, _ in altered}
            skipped = {key for key, event in candidates if id(event) in failed}
            candidates = [(key, event) for key, event in candidates if id(event) not in failed]
            if not candidates:
                return skipped, altered
        else:
            skipped = set()
        keys = [key for key, _ in candidates]
        cursor.execute(
            INSERT_ENTITY_STATE_REFERENCES,
            {
                **streams.key_columns(keys),
                "sequence_numbers": [e.sequence_number for _, e in candidates],
                "event_ids": [e.event_id for _, e in candidates],
                "event_types": [e.event_type for _, e in candidates],
            },
        )
        existing = {keys[position - 1] for (position,) in cursor.fetchall()}  # rows there before: merged
        return (set(keys) - existing if existing else set(keys)) | skipped, altered

    def _merge(
        self, cursor: Any, streams: _Streams, keyed: list[tuple[_Key, ProjectionEvent]]
    ) -> list[tuple[ProjectionEvent, Exception]]:
        """Read the entities' states (locked), fold their events in, write the results sealed
        (two statements); the events whose merge raised."""
        entities = list(dict.fromkeys(key for key, _ in keyed))
        cursor.execute(SELECT_ENTITY_STATES_FOR_UPDATE, streams.key_columns(entities))
        states: dict[_Key, Any] = {}
        unreadable: dict[_Key, UnreadablePayloadError] = {}  # states referring to an altered payload
        for position, *columns in cursor.fetchall():
            key = entities[position - 1]
            try:
                states[key] = state_of_row(streams.entity(key), *columns)
            except UnreadablePayloadError as exc:  # no key repairs it: the entity's events dead-letter
                unreadable[key] = exc
        last: dict[_Key, ProjectionEvent] = {}  # each entity's last applied event
        applied: dict[_Key, int] = {}
        failed: list[tuple[ProjectionEvent, Exception]] = []
        for key, event in keyed:
            try:
                if key in unreadable:
                    raise unreadable[key]
                event.payload  # noqa: B018 - opened first, so a missing key stalls even if merge() catches
                states[key] = self.merge(states.get(key), event)
            except PayloadDecryptionError:
                raise  # the payload's key is missing from the ring: the stream stalls until it is back
            except Exception as exc:  # a handler failure, or a payload altered at rest, dead-letters the event
                failed.append((event, exc))
                continue
            last[key] = event
            applied[key] = applied.get(key, 0) + 1
        if last:
            cursor.execute(UPSERT_ENTITY_STATES, _upsert_columns(streams, states, last, applied))
        return failed

    def apply(self, event: ProjectionEvent) -> None:
        """Fold one event into its entity's row (a dead-letter retry): a batch of one, so both
        paths write the same way. Raises what :meth:`merge` raised. Caller holds the transaction
        and stream lock."""
        failed = self.apply_many([event])
        if failed:
            raise failed[0][1]

    def reset(self, *, tenant_id: uuid.UUID, store_id: uuid.UUID) -> None:
        """Drop the stream's entity rows. Caller holds the transaction and stream lock."""
        with connection.cursor() as cursor:
            cursor.execute(DELETE_ENTITY_STATE_STREAM, {"tenant_id": tenant_id, "store_id": store_id})


_Key = tuple[int, str, str]  # the stream's number in the batch (_Streams), entity type, entity id


class _Streams:
    """Small numbers for the streams of a batch, so the per-event keys hash an int and two
    strings: a ``uuid.UUID`` hashes in Python (~0.3 µs), and keys holding the tenant and store
    ids hashed them about 19 times per event. The runner passes each stream's ids as the same
    objects, so finding an event's stream is an identity check until the stream changes."""

    def __init__(self) -> None:
        self.ids: list[tuple[uuid.UUID, uuid.UUID]] = []  # (tenant, store) by number
        self._numbers: dict[tuple[uuid.UUID, uuid.UUID], int] = {}
        self._current: tuple[uuid.UUID, uuid.UUID] | None = None
        self._current_number = -1

    def number(self, event: ProjectionEvent) -> int:
        current = self._current
        if current is None or event.tenant_id is not current[0] or event.store_id is not current[1]:
            current = self._current = (event.tenant_id, event.store_id)
            self._current_number = self._numbers.setdefault(current, len(self.ids))
            if self._current_number == len(self.ids):
                self.ids.append(current)
        return self._current_number

    def entity(self, key: _Key) -> EntityKey:
        tenant_id, store_id = self.ids[key[0]]
        return EntityKey(tenant_id, store_id, key[1], key[2])

    def key_columns(self, keys: Sequence[_Key]) -> dict[str, list[Any]]:
        """The entity-key array parameters of both statements: one element per entity."""
        return {
            "tenant_ids": [self.ids[key[0]][0] for key in keys],
            "store_ids": [self.ids[key[0]][1] for key in keys],
            "entity_types": [key[1] for key in keys],
            "entity_ids": [key[2] for key in keys],
        }


def _upsert_columns(
    streams: _Streams, states: dict[_Key, Any], last: dict[_Key, ProjectionEvent], applied: dict[_Key, int]
) -> dict[str, list[Any]]:
    """The array parameters of ``upsert_entity_states.sql``: one element per entity written,
    sealed with its tenant's write key as the payloads are."""
    seals = [encryption_key_for_write(tenant_id) for tenant_id, _ in streams.ids]
    stored = [state_columns(streams.entity(key), states[key], seals[key[0]]) for key in last]
    events = list(last.values())
    return {
        **streams.key_columns(list(last)),
        "applied": [applied[key] for key in last],
        "last_sequences": [e.sequence_number for e in events],
        "last_event_ids": [e.event_id for e in events],
        "last_event_types": [e.event_type for e in events],
        "states": [c.state for c in stored],
        "states_sealed": [c.sealed for c in stored],
        "state_key_ids": [c.key_id for c in stored],
    }
