"""Decode a well-formed legacy ingest body straight from its bytes into validated events.

The ingest hot path (``docs/performance.md``, "Typed decoding of legacy bodies"): msgspec reads
the body into typed structs in C, checking every envelope field's JSON type, UUID form, length
and range on the way, with no intermediate dicts. It only ever *accepts*: any body it cannot take
whole (a field it does not model, a type or range it refuses, a NUL escape, a payload too deep,
a mixed stream, an agent mismatch, ...) returns ``None``, and :func:`read_legacy_body` reads it
with the general parser (:func:`events.envelopes.parse_legacy_request`), which decides every
answer.
So the problems clients see never depend on this module; ``tests/events/test_legacy_decoder.py``
holds that every body it accepts parses to the same events through the general parser.

Each event ends in :func:`events.envelopes.legacy_event`, as the general parser's do, so the
stored bytes, hashes and fingerprints are the same whichever path read the body.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec
import orjson

from events.envelopes import (
    FIELD_LIMITS,
    MAX_BASE_VERSION,
    NIL_UUID,
    PAYLOAD_HASH_HEX,
    LegacyIngestRequest,
    RequestEvents,
    envelope_hash_prefix,
    legacy_event,
    parse_created_at,
    parse_legacy_request,
    parse_signature,
)
from events.field_errors import FieldErrors
from sequencer_project.api.json_limits import MAX_JSON_DEPTH, has_nul_escape
from sequencer_project.api.parsers import loads
from ves.json_depth import too_deep
from ves.legacy_json import loads_as_serde, may_hold_minus_zero

# A payload sits three levels down (body object, events array, event object).
_PAYLOAD_DEPTH_LIMIT = MAX_JSON_DEPTH - 3


EntityType = Annotated[str, msgspec.Meta(min_length=1, max_length=FIELD_LIMITS["entity_type"])]
EntityId = Annotated[str, msgspec.Meta(min_length=1, max_length=FIELD_LIMITS["entity_id"])]
EventType = Annotated[str, msgspec.Meta(min_length=1, max_length=FIELD_LIMITS["event_type"])]


class _Event(msgspec.Struct, forbid_unknown_fields=True):
    """The reference's ``EventEnvelope`` members; any other member sends the body to the general parser."""

    event_id: uuid.UUID
    tenant_id: uuid.UUID
    store_id: uuid.UUID
    entity_type: EntityType
    entity_id: EntityId
    event_type: EventType
    created_at: str
    payload: msgspec.Raw  # parsed by orjson, as the general parser's payloads are
    command_id: uuid.UUID | None = None
    envelope_version: Annotated[int, msgspec.Meta(ge=1, lt=2**31)] = 1
    base_version: Annotated[int, msgspec.Meta(ge=0, le=MAX_BASE_VERSION)] | None = None
    source_agent: uuid.UUID | None = None
    payload_hash: str | None = None
    signature: list[int] | str | None = None
    sequence_number: int | None = None  # ignored, as the reference ignores it


class _Body(msgspec.Struct, forbid_unknown_fields=True):
    events: list[_Event]
    agent_id: uuid.UUID | None = None


_DECODER = msgspec.json.Decoder(_Body)


def read_legacy_body(
    body: bytes, *, max_events: int, max_payload_bytes: int, default_agent: uuid.UUID | None = None
) -> LegacyIngestRequest:
    """The request's events from the JSON ``body``: the typed path when it takes the body,
    else the general parser (``loads`` + :func:`events.envelopes.parse_legacy_request`), which
    raises every problem a client can see."""
    decoded = decode_legacy_body(
        body, max_events=max_events, max_payload_bytes=max_payload_bytes, default_agent=default_agent
    )
    if decoded is not None:
        return decoded
    parsed = loads(body, allow_nul=True)  # every error a client can see, as orjson reads the body
    if may_hold_minus_zero(body):  # the literal -0 is serde_json's -0.0, which the reference hashes so
        parsed = loads_as_serde(body)
    return parse_legacy_request(
        parsed,
        max_events=max_events,
        max_payload_bytes=max_payload_bytes,
        default_agent=default_agent,
    )


def decode_legacy_body(
    body: bytes, *, max_events: int, max_payload_bytes: int, default_agent: uuid.UUID | None = None
) -> LegacyIngestRequest | None:
    """The request's events, or ``None`` when the general parser must read ``body``.

    Same arguments and result as :func:`events.envelopes.parse_legacy_request`, for bodies it
    would accept; raises only what that function would raise for the same body.
    """
    if has_nul_escape(body):  # NUL: refused in envelope fields, rejected per event in payloads
        return None
    try:
        decoded = _DECODER.decode(body)
    except (msgspec.MsgspecError, ValueError, RecursionError):  # ValueError: invalid UTF-8
        return None
    raw_events = decoded.events
    if not raw_events or len(raw_events) > max_events:
        return None
    agent_id = decoded.agent_id
    fallback_agent = agent_id or default_agent or NIL_UUID
    tenant_id, store_id = raw_events[0].tenant_id, raw_events[0].store_id
    tenant_int, store_int = tenant_id.int, store_id.int  # UUID.__eq__ is Python code; int's is not
    reports = FieldErrors()  # the shared field helpers report here; any report sends the body back
    # Every check first: the general parser refuses a body (too deep, malformed) before it
    # looks at any event, so an event's own error may only be raised once all are known good.
    checked: list[tuple[_Event, uuid.UUID, bytes | None, datetime, object]] = []
    for raw in raw_events:
        if raw.tenant_id.int != tenant_int or raw.store_id.int != store_int:
            return None
        source_agent = raw.source_agent
        if source_agent is None:
            source_agent = fallback_agent
        elif agent_id is not None and source_agent != agent_id:
            return None
        if raw.payload_hash is not None and not PAYLOAD_HASH_HEX.match(raw.payload_hash):
            return None
        signature = parse_signature(raw.signature, "", reports) if raw.signature is not None else None
        created_at = parse_created_at(raw.created_at, "", reports)
        if reports.items or created_at is None:
            return None
        payload_text = bytes(raw.payload)
        if may_hold_minus_zero(payload_text):  # serde_json's -0.0: the general parser reads it so
            return None
        try:
            payload = orjson.loads(payload_text)
        except orjson.JSONDecodeError:
            return None
        if too_deep(payload_text, payload, _PAYLOAD_DEPTH_LIMIT):
            return None
        checked.append((raw, source_agent, signature, created_at, payload))
    source = RequestEvents(body=body)
    stream_prefix = envelope_hash_prefix(tenant_id, store_id)
    events = [
        legacy_event(  # positional: ~0.6 µs less per event than keywords
            index,
            raw.event_id,
            raw.command_id,
            raw.envelope_version,
            raw.entity_type,
            raw.entity_id,
            raw.event_type,
            payload,
            raw.payload_hash,
            raw.base_version,
            source_agent,
            signature,
            created_at,
            stream_prefix,
            max_payload_bytes,
            source,
            nul_free=True,  # the body has no \u0000 escape
        )
        for index, (raw, source_agent, signature, created_at, payload) in enumerate(checked)
    ]
    return LegacyIngestRequest(agent_id=agent_id, tenant_id=tenant_id, store_id=store_id, events=events)
