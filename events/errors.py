"""Errors of the events app. Codes are public contracts (docs/errors.md)."""

from __future__ import annotations

import uuid

from sequencer_project.api.errors import (
    BadRequestError,
    ConflictError,
    NotFoundError,
    PayloadTooLargeError,
    SequencerError,
)


class MixedStreamError(BadRequestError):
    code = "mixed_stream"
    title = "Events of one request must share tenant_id and store_id"


class SourceAgentMismatchError(BadRequestError):
    code = "source_agent_mismatch"
    title = "An event's source agent differs from the request's agent_id"


class FieldLengthError(BadRequestError):
    code = "invalid_field_length"
    title = "A field is empty or too long"


class TooManyEventsError(PayloadTooLargeError):
    code = "too_many_events"
    title = "Too many events in one request"


class EventPayloadTooLargeError(PayloadTooLargeError):
    code = "event_payload_too_large"
    title = "An event payload is too large"


class EventNotFoundError(NotFoundError):
    code = "event_not_found"
    title = "Event not found"


class SequenceGapError(ConflictError):
    """A read found a hole below the head: the gap-free invariant is broken (never expected)."""

    code = "sequence_gap"
    title = "Sequence range is not contiguous"


class SequenceExhaustedError(ConflictError):
    """The stream's sequence numbers would pass 2^63 - 1 (PostgreSQL's BIGINT): nothing is
    appended. Not reachable by traffic; a counter set by hand, or a restore, can get there."""

    code = "sequence_exhausted"
    title = "The stream has no sequence numbers left for these events"


class PayloadIntegrityError(SequencerError):
    """A stored payload that cannot be read back intact: a sealed legacy payload no key of the
    tenant opens (the blob, or a field its associated data binds, was altered; the row was moved;
    its key is missing from the ring) or a VES payload that no longer hashes to the
    ``payload_plain_hash``/``payload_cipher_hash`` it was accepted with (never expected).

    The client's ``detail`` names nothing internal; ``str()`` (what the problem handler and the
    projection runner log, without a traceback) names the row: tenant, store, sequence number,
    event and key id, and the reason.
    """

    code = "payload_integrity"
    http_status = 500
    title = "A stored payload cannot be read back intact"

    def __init__(self, reason: str, *, key: str = "") -> None:
        super().__init__("Stored data of this request cannot be read back intact; the server's log names the row.")
        self.reason = reason
        self.key = key  # which payload key the row names ("key id 1"), for a sealed payload
        self.row = "a sealed blob"  # until :meth:`at` names the event

    def at(
        self, *, tenant_id: uuid.UUID, store_id: uuid.UUID, sequence_number: int, event_id: uuid.UUID | None = None
    ) -> PayloadIntegrityError:
        """The same error naming the row it was met on (returns ``self``)."""
        event = f" (event {event_id})" if event_id is not None else ""
        self.row = f"payload of tenant {tenant_id} store {store_id} sequence {sequence_number}{event}"
        return self

    def of_state(
        self, *, tenant_id: uuid.UUID, store_id: uuid.UUID, entity_type: str, entity_id: str
    ) -> PayloadIntegrityError:
        """The same error naming the entity whose projected state it was met on (returns ``self``)."""
        self.row = f"state of tenant {tenant_id} store {store_id} entity {entity_type!r}/{entity_id!r}"
        return self

    def __str__(self) -> str:
        key = f", {self.key}" if self.key else ""
        return f"{self.row}{key}: {self.reason}"


class EmptyBatchError(BadRequestError):
    code = "empty_batch"
    title = "A VES ingest request must carry at least one event"


class MissingPayloadError(BadRequestError):
    code = "missing_payload"
    title = "An event lacks the payload its payload_kind requires"


# --- Projections and dead letters (docs/projections.md) ---------------------------------------
class EntityStateNotFoundError(NotFoundError):
    code = "entity_state_not_found"
    title = "No projected state for this entity (yet)"


class StreamNeverWrittenError(NotFoundError):
    code = "stream_not_found"
    title = "No event was ever written to this stream"


class UnknownProjectionError(NotFoundError):
    code = "unknown_projection"
    title = "No projection of that name is registered"


class DeadLetterOutOfOrderError(ConflictError):
    """A manual retry of a dead letter while an earlier entry of the same projection and stream
    (its ordering unit) is still open: applying it first would merge the stream's events out of
    order. ``earlier_dead_letter_id`` names the entry to retry or discard first."""

    code = "dead_letter_out_of_order"
    title = "An earlier dead-letter entry of the same stream is still open"
