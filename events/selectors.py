"""Reads of the event store: head, ranges, one event, entity history; and one dead letter. Never write.

A stored payload that cannot be read back intact is 500 ``payload_integrity``
(:class:`events.errors.PayloadIntegrityError`), naming the row in the server's log: a sealed
legacy payload no key opens (its key id read from the row then, so the log says whether the key
is missing or the blob was altered), or a VES payload that no longer hashes to its recorded hash
(checked on the by-id read, which bundles use too; ``docs/ves.md``).

Each event-store read is one statement, run by ``replica.read_fetch`` (``kept_cursor.fetch`` on
``read_alias()``, the read replica when ``DATABASE_READ_URL`` is set, again on the primary when the
replica fails it): the thread's kept psycopg cursor, without Django's cursor wrapper (ADR 0031).
The dead-letter read goes through the ORM on the primary: the operator services lock the entry it
finds, inside their transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from django.db import DEFAULT_DB_ALIAS

from events.errors import PayloadIntegrityError, SequenceGapError
from events.models import ProjectionDeadLetter
from events.payload_crypto import (
    PayloadDecryptionError,
    StoredPayload,
    StreamPayloads,
    UnknownPayloadFormatError,
)
from events.sql import (
    SELECT_ENTITY_EVENTS,
    SELECT_EVENT_BY_ID,
    SELECT_EVENT_RANGE,
    SELECT_HEAD,
    SELECT_PAYLOAD_KEY_ID,
    SELECT_VES_EVENT_BY_ID,
    SELECT_VES_EVENT_RANGE,
)
from sequencer_project.api.errors import DeadLetterNotFoundError
from sequencer_project.db.kept_cursor import fetch
from sequencer_project.db.replica import read_alias, read_fetch
from sequencer_project.db.tenant_scope import TenantScope, tenant_filter
from streams.kinds import StreamKind, stream_params
from ves.encoding import str3_bytes
from ves.encryption import EncryptedStructureError, cipher_hash_for, parse_encrypted
from ves.hashes import EventSigningFields, payload_plain_hash
from ves.jcs import JcsError


@dataclass(slots=True)  # not frozen: a range builds 100 of these (~1 µs each frozen); nothing changes one
class StoredEvent:
    """A sequenced legacy event as read back (payload opened, its JSON text not parsed)."""

    tenant_id: uuid.UUID
    store_id: uuid.UUID
    event_id: uuid.UUID
    command_id: uuid.UUID | None
    envelope_version: int
    entity_type: str
    entity_id: str
    event_type: str
    payload_json: bytes  # the payload's JSON text as ingest stored it (keys sorted since ADR 0050)
    payload_hash: bytes
    base_version: int | None
    source_agent: uuid.UUID
    signature: bytes | None
    created_at: datetime
    sequence_number: int
    sequenced_at: datetime

    @property
    def payload(self) -> Any:
        """The payload as a value (parsed on each access; responses splice ``payload_json``)."""
        return orjson.loads(self.payload_json)


@dataclass(frozen=True, slots=True)
class EntityHistoryPage:
    events: list[StoredEvent]
    total: int


def _event(row: tuple[Any, ...], tenant_id: uuid.UUID, store_id: uuid.UUID, payloads: StreamPayloads) -> StoredEvent:
    """The event of a row of ``select_event_range.sql``, ``select_event_by_id.sql`` or (after its
    first column) ``select_entity_events.sql``, its payload opened by ``payloads`` (its stream's)."""
    (event_id, command_id, envelope_version, entity_type, entity_id, event_type) = row[:6]
    (payload, payload_format, payload_hash, base_version, source_agent, signature) = row[6:12]
    (created_at, sequence_number, sequenced_at) = row[12:15]
    names = str3_bytes(entity_type, entity_id, event_type)
    try:
        payload_json = payloads.open(event_id, sequence_number, names, payload, payload_format)
    except PayloadDecryptionError as exc:
        payload_json = _open_with_recorded_key(exc, payloads, event_id, sequence_number, names, payload, payload_format)
    return StoredEvent(
        tenant_id,
        store_id,
        event_id,
        command_id,
        envelope_version,
        entity_type,
        entity_id,
        event_type,
        payload_json,
        bytes(payload_hash),
        base_version,
        source_agent,
        bytes(signature) if signature is not None else None,
        created_at,
        sequence_number,
        sequenced_at,
    )


def _open_with_recorded_key(
    failure: PayloadDecryptionError,
    payloads: StreamPayloads,
    event_id: uuid.UUID,
    sequence_number: int,
    names: bytes,
    payload: bytes | memoryview,
    payload_format: int,
    alias: str | None = None,
) -> bytes:
    """Open a payload that did not open without its key id once more, with the key id its row
    records, so that the error says whether that key is missing from the ring or the blob was
    altered, and names the key: the event statements do not read ``payload_key_id``. Failure
    path only (one primary-key lookup on ``alias``, the read alias by default); re-raises
    ``failure`` when the row records no key id or the format is unknown."""
    if isinstance(failure, UnknownPayloadFormatError):
        raise failure
    key_id = payload_key_id_get(
        tenant_id=payloads.tenant_id,
        store_id=payloads.store_id,
        sequence_number=sequence_number,
        alias=alias or read_alias(),
    )
    if key_id is None:
        failure.key = "no key id recorded"
        raise failure
    return payloads.open(event_id, sequence_number, names, payload, payload_format, key_id)


def payload_key_id_get(
    *, tenant_id: uuid.UUID, store_id: uuid.UUID, sequence_number: int, alias: str = DEFAULT_DB_ALIAS
) -> int | None:
    """The ``payload_key_id`` a legacy event row records (``None``: plaintext, a row sealed
    before key ids were recorded, or no such row). One primary-key lookup."""
    params = {"tenant_id": tenant_id, "store_id": store_id, "sequence_number": sequence_number}
    rows = fetch(SELECT_PAYLOAD_KEY_ID, params, alias=alias)
    return rows[0][0] if rows else None


def payload_open_recorded(stored: StoredPayload, *, alias: str = DEFAULT_DB_ALIAS) -> bytes:
    """:func:`events.payload_crypto.payload_open` for a reader whose statement did not read the
    row's ``payload_key_id`` (the projections'): when no key opens the payload, opened again with
    the key id the row records (:func:`_open_with_recorded_key`), so the error says why."""
    payloads = StreamPayloads(stored.tenant_id, stored.store_id)
    names = str3_bytes(stored.entity_type, stored.entity_id, stored.event_type)
    seq, key_id = stored.sequence_number, stored.payload_key_id
    try:
        return payloads.open(stored.event_id, seq, names, stored.payload, stored.payload_format, key_id)
    except PayloadDecryptionError as exc:
        if key_id is not None:
            raise
        return _open_with_recorded_key(
            exc, payloads, stored.event_id, seq, names, stored.payload, stored.payload_format, alias
        )


@dataclass(frozen=True, slots=True)
class _RangeRead:
    """A range statement and where its rows carry their sequence number and the stream's head."""

    statement: str
    stream: str  # how a gap error names the stream
    binary: bool
    sequence_at: int
    head_at: int


_LEGACY_RANGE = _RangeRead(SELECT_EVENT_RANGE, "Stream", binary=True, sequence_at=13, head_at=15)
_VES_RANGE = _RangeRead(SELECT_VES_EVENT_RANGE, "VES stream", binary=False, sequence_at=2, head_at=26)


def _contiguous_rows(
    read: _RangeRead, *, tenant_id: uuid.UUID, store_id: uuid.UUID, from_seq: int, limit: int
) -> list[tuple[Any, ...]]:
    """Rows ``from_seq .. from_seq+limit-1`` of ``read``'s stream, checked to be contiguous.

    Raises :class:`SequenceGapError` if a number below the head is missing (the invariant
    says it never is; the check turns silent corruption into a loud 409).
    """
    to_seq = from_seq + limit - 1
    params: dict[str, Any] = {"tenant_id": tenant_id, "store_id": store_id, "from_seq": from_seq, "to_seq": to_seq}
    rows = read_fetch(read.statement, params, binary=read.binary)
    if not rows:
        return []
    head = rows[0][read.head_at] or 0
    expected = max(0, min(head, to_seq) - from_seq + 1)
    if len(rows) != expected or rows[0][read.sequence_at] != from_seq:
        raise SequenceGapError(
            f"{read.stream} has {len(rows)} events in {from_seq}..{min(head, to_seq)}; expected {expected}.",
        )
    return rows


def stream_head_get(*, tenant_id: uuid.UUID, store_id: uuid.UUID, kind: StreamKind = StreamKind.LEGACY) -> int:
    """The stream's head (0 for a stream never written). One primary-key lookup."""
    rows = read_fetch(SELECT_HEAD, stream_params(tenant_id, store_id, kind))
    return int(rows[0][0])


def event_range_list(*, tenant_id: uuid.UUID, store_id: uuid.UUID, from_seq: int, limit: int) -> list[StoredEvent]:
    """Events ``from_seq .. from_seq+limit-1`` (inclusive), checked to be contiguous.

    Raises :class:`SequenceGapError` if a number below the head is missing (see
    :func:`_contiguous_rows`).
    """
    rows = _contiguous_rows(_LEGACY_RANGE, tenant_id=tenant_id, store_id=store_id, from_seq=from_seq, limit=limit)
    payloads = StreamPayloads(tenant_id, store_id)
    return [_event(row, tenant_id, store_id, payloads) for row in rows]


def event_get_for_tenant(*, tenant_id: uuid.UUID, event_id: uuid.UUID) -> StoredEvent | None:
    """A legacy event by id inside ``tenant_id`` (``None`` when absent). Callers check store scope."""
    rows = read_fetch(SELECT_EVENT_BY_ID, {"tenant_id": tenant_id, "event_id": event_id}, binary=True)
    if not rows:
        return None
    row = rows[0]
    return _event(row, row[15], row[16], StreamPayloads(row[15], row[16]))


def entity_history_page(
    *, tenant_id: uuid.UUID, store_id: uuid.UUID, entity_type: str, entity_id: str, offset: int, limit: int
) -> EntityHistoryPage:
    """One page of an entity's events in sequence order, and how many it has in all (its legacy
    entity version: one probe; the page is read from its first event's sequence number on)."""
    params: dict[str, Any] = {
        "tenant_id": tenant_id,
        "store_id": store_id,
        "stream_kind": int(StreamKind.LEGACY),  # the kind `events` holds; its entity_versions row
        "entity_type": entity_type,
        "entity_id": entity_id,
        "offset": offset,
        "limit": limit,
    }
    rows = read_fetch(SELECT_ENTITY_EVENTS, params, binary=True)
    total = int(rows[0][0])
    payloads = StreamPayloads(tenant_id, store_id)
    events = [_event(row[1:], tenant_id, store_id, payloads) for row in rows if row[1] is not None]
    return EntityHistoryPage(events=events, total=total)


@dataclass(frozen=True, slots=True)
class StoredVesEvent:
    """A sequenced VES event as stored (envelope fields verbatim) with its receipt."""

    tenant_id: uuid.UUID
    store_id: uuid.UUID
    sequence_number: int
    event_id: uuid.UUID
    command_id: uuid.UUID | None
    ves_version: int
    source_agent_id: uuid.UUID
    agent_key_id: int
    entity_type: str
    entity_id: str
    event_type: str
    created_at: str
    payload_kind: int
    payload: Any
    payload_encrypted: Any
    payload_plain_hash: bytes
    payload_cipher_hash: bytes
    event_signing_hash: bytes
    agent_signature: bytes
    base_version: int | None
    sequenced_at: datetime
    sequencer_id: uuid.UUID
    receipt_hash: bytes
    signature_alg: str
    sequencer_signature: bytes
    sequencer_key_version: int


def _ves_event(row: tuple[Any, ...]) -> StoredVesEvent:
    values = list(row[:26])
    payload = values[13]
    try:
        values[13] = orjson.loads(bytes(payload)) if payload is not None else None
    except orjson.JSONDecodeError:
        raise PayloadIntegrityError("the stored payload is not JSON").at(
            tenant_id=values[0], store_id=values[1], sequence_number=values[2], event_id=values[3]
        ) from None
    if isinstance(values[14], str):  # Django's psycopg setup hands jsonb back as text
        values[14] = orjson.loads(values[14])
    for i in (15, 16, 17, 18, 22):
        values[i] = bytes(values[i])
    values[24] = bytes(values[24]) if values[24] is not None else b""
    return StoredVesEvent(*values)


def ves_event_range_list(
    *, tenant_id: uuid.UUID, store_id: uuid.UUID, from_seq: int, limit: int
) -> list[StoredVesEvent]:
    """VES events ``from_seq .. from_seq+limit-1`` (inclusive) with receipts, checked to be contiguous."""
    rows = _contiguous_rows(_VES_RANGE, tenant_id=tenant_id, store_id=store_id, from_seq=from_seq, limit=limit)
    return [_ves_event(row) for row in rows]


def ves_event_get_for_tenant(*, tenant_id: uuid.UUID, event_id: uuid.UUID) -> StoredVesEvent | None:
    """A VES event by id inside ``tenant_id`` (``None`` when absent). Callers check store scope.

    Its stored payload is checked against the hash it was accepted with
    (:func:`ves_payload_check`): 500 ``payload_integrity`` when it no longer matches."""
    rows = read_fetch(SELECT_VES_EVENT_BY_ID, {"tenant_id": tenant_id, "event_id": event_id})
    if not rows:
        return None
    event = _ves_event(rows[0])
    ves_payload_check(event)
    return event


def ves_payload_check(event: StoredVesEvent) -> None:
    """Raise :class:`PayloadIntegrityError` unless the stored payload still hashes to what the
    event was accepted with: kind 0 ``payload_plain_hash`` = H(JCS(payload)), kind 1
    ``payload_cipher_hash`` over ``payload_encrypted`` (as ingest checked them). Kind 0 costs what
    ingest paid for the event: the payload's JCS form and one SHA-256, ~5 µs for a payload of a
    few hundred bytes, 30 to 140 ms for one of 1 MB (``docs/ves.md``); kind 1 hashes the
    ciphertext, a few µs per KB."""
    if event.payload_kind == 0:
        reason = "payload_plain_hash does not match JCS(payload)"
        try:
            intact = event.payload is not None and payload_plain_hash(event.payload) == event.payload_plain_hash
        except JcsError:
            intact = False
    else:
        reason = "payload_cipher_hash does not match payload_encrypted"
        fields = EventSigningFields(
            event.ves_version,
            event.tenant_id,
            event.store_id,
            event.event_id,
            event.source_agent_id,
            event.agent_key_id,
            event.entity_type,
            event.entity_id,
            event.event_type,
            event.created_at,
            event.payload_kind,
            event.payload_plain_hash,
            event.payload_cipher_hash,
        )
        try:
            intact = cipher_hash_for(fields, parse_encrypted(event.payload_encrypted)) == event.payload_cipher_hash
        except EncryptedStructureError:
            intact = False
    if not intact:
        raise PayloadIntegrityError(reason).at(
            tenant_id=event.tenant_id,
            store_id=event.store_id,
            sequence_number=event.sequence_number,
            event_id=event.event_id,
        )


def dead_letter_get_for_tenant(
    *, tenant_id: TenantScope, dead_letter_id: int, store_ids: Collection[uuid.UUID] | None = None
) -> ProjectionDeadLetter:
    """The entry, when it belongs to ``tenant_id`` and (unless ``None``) to one of ``store_ids``:
    404 ``dead_letter_not_found`` otherwise. ``EVERY_TENANT`` (the bootstrap admin) reads by id
    alone, across tenants. One statement on the primary."""
    entries = ProjectionDeadLetter.objects.filter(id=dead_letter_id, **tenant_filter(tenant_id))
    if store_ids is not None:
        entries = entries.filter(store_id__in=store_ids)
    entry = entries.first()
    if entry is None:
        raise DeadLetterNotFoundError(f"No dead-letter entry {dead_letter_id}.")
    return entry
