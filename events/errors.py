"""Errors of the events app. Codes are public contracts (docs/errors.md)."""

from sequencer_project.api.errors import BadRequestError, ConflictError, NotFoundError, PayloadTooLargeError


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
