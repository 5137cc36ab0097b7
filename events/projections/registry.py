"""The projection registry: name -> handler. Filled at app start (``EventsConfig.ready``)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from events.errors import PayloadIntegrityError
from events.payload_crypto import (
    FORMAT_PLAIN,
    PayloadAlteredError,
    PayloadDecryptionError,
    StoredPayload,
    StreamPayloads,
)
from events.projections.merge import load_json
from events.selectors import payload_open_recorded
from streams.kinds import StreamKind
from ves.encoding import str3_bytes

_UNOPENED: Any = object()


class UnreadablePayloadError(PayloadIntegrityError):
    """A payload a projection met that was altered at rest (or its row moved): the key its row
    names is in the tenant's ring and does not open it. Unlike a ``PayloadDecryptionError``
    (a key missing from the ring: the runner stalls the stream until the key is back), no key
    repairs it, so it is a handler failure: the event is dead-lettered and the stream goes on
    (``docs/projections.md``). ``str()`` names the row and the key, as the dead letter keeps it."""

    @classmethod
    def of(cls, altered: PayloadAlteredError) -> UnreadablePayloadError:
        error = cls(altered.reason, key=altered.key)
        error.row = altered.row
        return error


def projection_payload_open(stored: StoredPayload) -> bytes:
    """The plaintext of a stored payload as projections open it: with the key id its row records
    when no key opens it (``events.selectors.payload_open_recorded``), raising
    :class:`UnreadablePayloadError` for one altered at rest and ``PayloadDecryptionError`` for one
    whose key is missing."""
    try:
        return payload_open_recorded(stored)
    except PayloadAlteredError as exc:
        raise UnreadablePayloadError.of(exc) from None


def payloads_altered(events: Sequence[ProjectionEvent]) -> list[tuple[ProjectionEvent, Exception]]:
    """The events of ``events`` whose payload was altered at rest, with their
    :class:`UnreadablePayloadError` (the key its row names is in the ring and does not open it).

    Each sealed payload is opened (AES-GCM authenticates it; the plaintext is not parsed or
    kept), through one :class:`~events.payload_crypto.StreamPayloads` a stream (its associated
    data's prefix and keyring found once). For a dead letter retried into a state by reference,
    which is written only once its payload opens (ADR 0049). A payload no key opens is opened again as readers
    open it (:func:`projection_payload_open`), which tells why; one whose key is missing from the
    ring, or of a format this version does not know, is not counted altered: no key at hand can
    tell, and whoever reads it later stalls on it (ADR 0036). Plain payloads pass: nothing at
    rest authenticates them."""
    altered: list[tuple[ProjectionEvent, Exception]] = []
    opener: StreamPayloads | None = None
    for event in events:
        stored = event.stored
        if stored.payload_format == FORMAT_PLAIN:
            continue
        if opener is None or (opener.tenant_id, opener.store_id) != (stored.tenant_id, stored.store_id):
            opener = StreamPayloads(stored.tenant_id, stored.store_id)
        names = str3_bytes(stored.entity_type, stored.entity_id, stored.event_type)
        try:
            opener.open(
                stored.event_id,
                stored.sequence_number,
                names,
                stored.payload,
                stored.payload_format,
                stored.payload_key_id,
            )
        except PayloadDecryptionError:
            try:  # as a reader opens it, which asks the row's key id and tells why it does not open
                projection_payload_open(stored)
            except UnreadablePayloadError as exc:
                altered.append((event, exc))
            except PayloadDecryptionError:
                pass  # its key is missing from the ring: no key tells, it stalls whoever reads it
    return altered


@dataclass(slots=True)
class ProjectionEvent:
    """One sequenced event as a projection sees it; ``payload`` is decoded on first use.

    The payload stays as the row holds it (``stored``, sealed at rest or plain) until a handler
    reads ``payload``: a projection that does not need an event's content never opens it (the
    built-in one stores the state of an entity's first event by reference, ADR 0036). Opening
    raises ``PayloadDecryptionError`` when the key its row names is missing from the tenant's
    ring (the runner then stalls the stream until the key is back) and
    :class:`UnreadablePayloadError` when that key is there and does not open it (altered at rest:
    the event is dead-lettered, as for any handler failure). Handlers must not change it (it is not
    frozen because the runner builds one per event, and a frozen dataclass of ten fields costs
    ~1.1 µs to build against ~0.2)."""

    tenant_id: uuid.UUID
    store_id: uuid.UUID
    sequence_number: int
    event_id: uuid.UUID
    entity_type: str
    entity_id: str
    event_type: str
    stored: StoredPayload
    created_at: datetime
    sequenced_at: datetime
    _payload: Any = field(default=_UNOPENED, repr=False, compare=False)

    @property
    def payload(self) -> Any:
        """The event's payload, decoded (opened and parsed once, on first use)."""
        if self._payload is _UNOPENED:
            self._payload = load_json(projection_payload_open(self.stored))
        return self._payload


def projection_event_from_row(row: Sequence[Any], tenant_id: uuid.UUID, store_id: uuid.UUID) -> ProjectionEvent:
    """The event of a ``select_projection_*`` row (``sequence_number, event_id, entity_type,
    entity_id, event_type, payload, payload_format, created_at, sequenced_at``), its payload left
    as stored (opened on use)."""
    sequence_number, event_id, entity_type, entity_id, event_type, payload, payload_format = row[:7]
    stored = StoredPayload(
        tenant_id, store_id, event_id, sequence_number, entity_type, entity_id, event_type, payload, payload_format
    )
    return ProjectionEvent(
        tenant_id, store_id, sequence_number, event_id, entity_type, entity_id, event_type, stored, row[7], row[8]
    )


class Projection(Protocol):
    """A handler consuming one stream kind in sequence order.

    ``apply`` runs inside the runner's transaction (and a savepoint): it writes only through
    the default connection and raises to send the event to the dead-letter table. ``reset``
    drops what the projection built for one stream (caller holds the transaction). A handler
    may also offer ``apply_many(events) -> [(event, error), ...]``: a whole batch at once, the
    events of every stream one projection transaction advances (each stream's in sequence
    order), returning the events it could not apply; the runner uses it when present and, when
    it raises, applies each stream again alone, then ``apply`` per event
    (``events.services.projections``). And ``apply_one(event) -> [(event, error), ...]``: one
    event (a dead-letter retry, or that fallback) applied, raising as ``apply`` does, returning
    other events it met and could not apply (a refold of the event's entity: the caller
    dead-letters them); the runner then uses it instead of ``apply``.
    """

    name: str
    stream_kind: StreamKind

    def apply(self, event: ProjectionEvent) -> None: ...

    def reset(self, *, tenant_id: uuid.UUID, store_id: uuid.UUID) -> None: ...


_registry: dict[str, Projection] = {}
_lock = threading.Lock()


def projection_register(projection: Projection) -> None:
    """Register (or replace) a projection under its name."""
    if not 1 <= len(projection.name) <= 64:
        raise ValueError("a projection name is 1 to 64 characters")
    with _lock:
        _registry[projection.name] = projection


def projection_unregister(name: str) -> None:
    with _lock:
        _registry.pop(name, None)


def projection_get(name: str) -> Projection | None:
    with _lock:
        return _registry.get(name)


def projections() -> list[Projection]:
    with _lock:
        return list(_registry.values())
