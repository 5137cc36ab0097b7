"""Built-in projection ``entity_state``: version, last event and merged state per entity.

Keyed by ``(tenant, store, entity_type, entity_id)``; consumes the legacy stream. ``version``
counts the events applied to the entity, ``state`` is the RFC 7386 merge of their payloads in
application order (:mod:`events.projections.merge`). A dead-lettered event retried later is
applied on top of the state when the state holds no later event; otherwise the retry refolds the
entity from its history in sequence order (:meth:`EntityStateProjection.apply_one`), so a stale
payload never lands on newer ones (``docs/projections.md``, "Dead letters"; ADR 0048).

The runner hands it whole batches (:meth:`EntityStateProjection.apply_many`), of every stream a
projection transaction advances: at most three statements per batch whatever its size and
streams, the merges in memory, so its cost follows the events, not round trips. A new entity's
one event is only authenticated, not parsed: its row refers to the event and readers merge its
payload (ADR 0036). One event (a dead-letter retry) goes through :meth:`apply_one`: a batch of
one, or a refold of its entity; all fold with :meth:`merge`, the one step a subclass may change.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from django.db import connection

from events.models import DeadLetterStatus, EntityState, ProjectionDeadLetter
from events.payload_crypto import PayloadDecryptionError, encryption_key_for_write
from events.projections.merge import merge_patch
from events.projections.registry import (
    ProjectionEvent,
    UnreadablePayloadError,
    payloads_altered,
    projection_event_from_row,
)
from events.projections.state_crypto import EntityKey, state_columns, state_of_row
from events.sql import (
    DELETE_ENTITY_STATE_STREAM,
    DELETE_ENTITY_STATES,
    INSERT_ENTITY_STATE_REFERENCES,
    SELECT_ENTITY_EVENTS,
    SELECT_ENTITY_STATES_FOR_UPDATE,
    UPSERT_ENTITY_STATES,
)
from sequencer_project.db.kept_cursor import fetch
from streams.kinds import StreamKind

ENTITY_STATE = "entity_state"
HISTORY_PAGE = 100  # events of an entity read per statement by a refold (select_entity_events.sql's page)


class EntityStateProjection:
    """The ``entity_state`` handler. Per batch: the new entities' references, then the others'
    lock-and-read and upsert (one to three statements)."""

    name = ENTITY_STATE
    stream_kind = StreamKind.LEGACY

    def merge(self, current: Any, event: ProjectionEvent) -> Any:
        """The entity's state after ``event``; raising sends the event to the dead letters."""
        return merge_patch(current, event.payload)

    def refers_in_sql(self) -> bool:
        """Whether the runner may write this handler's new one-event entities by reference in
        SQL as it reads them (ADR 0049), handing :meth:`apply_many` only the other events: for
        the built-in merge and batch application, which would write the same rows."""
        cls = type(self)
        return cls.merge is EntityStateProjection.merge and cls.apply_many is EntityStateProjection.apply_many

    def apply_many(
        self, events: Sequence[ProjectionEvent], *, referred: bool = False
    ) -> list[tuple[ProjectionEvent, Exception]]:
        """Fold a batch into its entities' rows: events of one or more streams, each stream's in
        sequence order (the runner hands it a whole transaction's streams at once).

        An entity with no row yet and one event in the batch is stored by reference to that
        event (ADR 0036): its state is that payload merged into nothing, which readers compute,
        so the payload is neither opened, parsed nor sealed again here, and one statement writes
        every such row. ``referred``: the runner wrote those already as it read the batch (ADR
        0049) and ``events`` are the others. Every other entity's state is read (opening a state
        by reference from its event), merged and written sealed: two more statements.

        Returns the events whose :meth:`merge` raised or whose payload was altered at rest, and
        the earlier events that states referred to whose payload was altered (authenticated when
        first opened, ADR 0049: dead-lettered then, their entity folded again from nothing;
        ``UnreadablePayloadError``): the caller dead-letters them; the others are applied. A
        payload or state whose key is missing from the ring, and a database error, propagate:
        the caller rolls the batch back and applies its streams alone (stalling the one whose
        key is missing). Caller holds the transaction and the streams' locks.
        """
        if not events:
            return []
        streams = _Streams()
        keyed = [((streams.number(e), e.entity_type, e.entity_id), e) for e in events]
        counts: dict[_Key, int] = {}
        for key, _ in keyed:
            counts[key] = counts.get(key, 0) + 1
        with connection.cursor() as cursor:
            referenced = set() if referred else self._insert_references(cursor, streams, keyed, counts)
            merged = [(key, event) for key, event in keyed if key not in referenced]
            return self._merge(cursor, streams, merged) if merged else []

    def _insert_references(
        self, cursor: Any, streams: _Streams, keyed: list[tuple[_Key, ProjectionEvent]], counts: dict[_Key, int]
    ) -> set[_Key]:
        """Write the rows of the batch's new entities of one event by reference to it (one
        statement); the keys written.

        The payload is not opened here (ADR 0049): it is authenticated when first opened, by a
        read of the state (which fails as the read of the event does) or by the merge of the
        entity's next event, which dead-letters it then and folds the entity from nothing, as a
        rebuild does. Only the built-in merge: a subclass merges every event."""
        if type(self).merge is not EntityStateProjection.merge:
            return set()
        candidates = [(key, event) for key, event in keyed if counts[key] == 1]
        if not candidates:
            return set()
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
        return set(keys) - existing if existing else set(keys)

    def _merge(
        self, cursor: Any, streams: _Streams, keyed: list[tuple[_Key, ProjectionEvent]]
    ) -> list[tuple[ProjectionEvent, Exception]]:
        """Read the entities' states (locked), fold their events in, write the results sealed
        (two statements, three when a state referred to an altered payload); the events whose
        merge raised, and the referred events whose payload was altered (ADR 0049)."""
        entities = list(dict.fromkeys(key for key, _ in keyed))
        cursor.execute(SELECT_ENTITY_STATES_FOR_UPDATE, streams.key_columns(entities))
        states: dict[_Key, Any] = {}
        failed: list[tuple[ProjectionEvent, Exception]] = []
        refold: list[_Key] = []  # rows referring to an altered payload: the entity starts again
        for position, *columns in cursor.fetchall():
            key = entities[position - 1]
            try:
                states[key] = state_of_row(streams.entity(key), *columns[:8])
            except UnreadablePayloadError as exc:  # no key repairs it: that event is dead-lettered
                failed.append((_referred_event(streams, key, columns), exc))
                refold.append(key)
        if refold:
            cursor.execute(DELETE_ENTITY_STATES, streams.key_columns(refold))
        last: dict[_Key, ProjectionEvent] = {}  # each entity's last applied event
        applied: dict[_Key, int] = {}
        for key, event in keyed:
            try:
                states[key] = self._merged(states.get(key), event)
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

    def _merged(self, state: Any, event: ProjectionEvent) -> Any:
        """``state`` after ``event`` (:meth:`merge`), the payload opened first, so a key missing
        from the ring raises ``PayloadDecryptionError`` (a stall, or a held retry) even if
        :meth:`merge` catches."""
        event.payload  # noqa: B018 - opened first, see above
        return self.merge(state, event)

    def apply(self, event: ProjectionEvent) -> None:
        """Fold one event into its entity's row: a batch of one, so both paths write the same
        way. Raises what :meth:`merge` raised. Caller holds the transaction and stream lock."""
        failed = self.apply_many([event])
        if failed:
            raise failed[0][1]

    def apply_one(self, event: ProjectionEvent) -> list[tuple[ProjectionEvent, Exception]]:
        """Apply one event (a dead-letter retry, or the runner's one-by-one fallback); raises what
        its application raised, and returns the entity's other events a refold could not apply
        (the caller dead-letters them).

        When the entity's state holds no later event (the usual case, and always in the runner:
        its events are past every state), this is :meth:`apply`. When it does (a dead letter
        retried after a later event of its entity was applied), merging it on top would put its
        stale payload over newer ones, a state only a rebuild restored (ADR 0048): the entity is
        refolded from its history instead (:meth:`_refold`). Caller holds the transaction and
        the stream lock; the entity's row is locked here first, as :meth:`apply_many` locks it."""
        rows = EntityState.objects.select_for_update(no_key=True).filter(
            tenant_id=event.tenant_id, store_id=event.store_id, entity_type=event.entity_type, entity_id=event.entity_id
        )
        through = rows.values_list("last_sequence", flat=True).first()
        if through is None:
            # A retried event becomes a state by reference only once authenticated: a retry must
            # not resolve a dead letter whose payload was altered (ADR 0049).
            altered = payloads_altered([event])
            if altered:
                raise altered[0][1]
        if through is None or through < event.sequence_number:
            self.apply(event)
            return []
        return self._refold(event, through)

    def _refold(self, retried: ProjectionEvent, through: int) -> list[tuple[ProjectionEvent, Exception]]:
        """Write the entity's row as the fold of its events up to ``through`` (its state's
        ``last_sequence``) in sequence order with ``retried`` among them, leaving out the events
        whose dead letters are still open (pending or parked): the state a rebuild gives once
        those are left. ``version`` counts the events folded, the last event is the last folded.

        ``retried`` failing raises (nothing is written: the retry fails as before). Another event
        that fails (a payload altered at rest since it was applied, say) is left out and returned,
        as a batch would dead-letter it; a payload or state key missing from the ring raises
        ``PayloadDecryptionError`` (the retry is held). The row is rewritten whole: deleted, then
        inserted by ``upsert_entity_states.sql`` (whose update adds to the version). Memory: one
        page of the entity's history and the state."""
        state: Any = None
        folded = 0
        found = False
        last: ProjectionEvent | None = None
        failed: list[tuple[ProjectionEvent, Exception]] = []
        for event in self._history(retried, through):
            try:
                state = self._merged(state, event)
            except PayloadDecryptionError:
                raise
            except Exception as exc:  # as in a batch: the event is dead-lettered, the others go on
                if event is retried:
                    raise
                failed.append((event, exc))
                continue
            folded += 1
            last = event
            found = found or event is retried
        if last is None or not found:  # never expected: it is in its entity's history up to ``through``
            raise LookupError(f"event #{retried.sequence_number} is not in its entity's history")
        EntityState.objects.filter(
            tenant_id=retried.tenant_id,
            store_id=retried.store_id,
            entity_type=retried.entity_type,
            entity_id=retried.entity_id,
        ).delete()
        streams = _Streams()
        key = (streams.number(last), last.entity_type, last.entity_id)
        with connection.cursor() as cursor:
            cursor.execute(UPSERT_ENTITY_STATES, _upsert_columns(streams, {key: state}, {key: last}, {key: folded}))
        return failed

    def _history(self, retried: ProjectionEvent, through: int) -> Iterator[ProjectionEvent]:
        """The events of ``retried``'s entity up to ``through`` in sequence order, read a page at a
        time (``select_entity_events.sql``, as the entity history API; the primary, in the
        caller's transaction), payloads as stored; ``retried`` itself where it stands, not those
        whose dead letters of this projection are still open (pending or parked)."""
        tenant_id, store_id = retried.tenant_id, retried.store_id
        params: dict[str, Any] = {
            "tenant_id": tenant_id,
            "store_id": store_id,
            "stream_kind": int(self.stream_kind),
            "entity_type": retried.entity_type,
            "entity_id": retried.entity_id,
            "offset": 0,
            "limit": HISTORY_PAGE,
        }
        while True:
            rows = [row for row in fetch(SELECT_ENTITY_EVENTS, params, binary=True) if row[1] is not None]
            # total, event_id, command_id, envelope_version, entity_type, entity_id, event_type,
            # payload, payload_format, ..., created_at, sequence_number, sequenced_at
            page = [
                projection_event_from_row(
                    (r[14], r[1], r[4], r[5], r[6], r[7], r[8], r[13], r[15]), tenant_id, store_id
                )
                for r in rows
                if r[14] <= through
            ]
            held = self._dead_letters_open(retried, [e.sequence_number for e in page])
            for event in page:
                if event.sequence_number == retried.sequence_number:
                    yield retried
                elif event.sequence_number not in held:
                    yield event
            if len(rows) < HISTORY_PAGE or len(page) < len(rows):
                return
            params["offset"] += len(rows)

    def _dead_letters_open(self, retried: ProjectionEvent, sequence_numbers: list[int]) -> set[int]:
        """Which of ``sequence_numbers`` (of ``retried``'s stream) have an open dead letter of this
        projection. Index: a probe of ``dead_letter_event_unique`` per number."""
        if not sequence_numbers:
            return set()
        entries = ProjectionDeadLetter.objects.filter(
            tenant_id=retried.tenant_id,
            projection=self.name,
            store_id=retried.store_id,
            sequence_number__in=sequence_numbers,
            status__in=(DeadLetterStatus.PENDING, DeadLetterStatus.PARKED),
        )
        return set(entries.values_list("sequence_number", flat=True))

    def reset(self, *, tenant_id: uuid.UUID, store_id: uuid.UUID) -> None:
        """Drop the stream's entity rows. Caller holds the transaction and stream lock."""
        with connection.cursor() as cursor:
            cursor.execute(DELETE_ENTITY_STATE_STREAM, {"tenant_id": tenant_id, "store_id": store_id})


_Key = tuple[int, str, str]  # the stream's number in the batch (_Streams), entity type, entity id


def _referred_event(streams: _Streams, key: _Key, columns: Sequence[Any]) -> ProjectionEvent:
    """The event a state by reference names, from its ``select_entity_states_for_update.sql``
    columns after the position (``state, state_sealed, state_key_id, state_event_sequence,
    event_id, event_type, payload, payload_format, created_at, sequenced_at``)."""
    tenant_id, store_id = streams.ids[key[0]]
    sequence_number, event_id, event_type, payload, payload_format, created_at, sequenced_at = columns[3:10]
    row = (sequence_number, event_id, key[1], key[2], event_type, payload, payload_format, created_at, sequenced_at)
    return projection_event_from_row(row, tenant_id, store_id)


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
