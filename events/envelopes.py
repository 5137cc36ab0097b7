"""Parse and validate legacy ingest requests before any database work.

Hand-written checks over the orjson-parsed body (DRF serializers cost ~40 µs per event, see
``docs/performance.md``). Shape and type errors are collected per JSON path and answered 422
(``invalid_request``), as the reference's strict extractor does; length and content errors are
400. Payload hashes and replay fingerprints are computed here, outside any transaction.

Leniencies over the reference (so its published load scripts pass unchanged): ``payload_hash``
is optional (computed when absent; a supplied wrong one rejects that event), ``source_agent``
defaults to the request's ``agent_id``, and ``agent_id`` itself is optional.
"""

from __future__ import annotations

import functools
import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from events import errors
from events.field_errors import FieldErrors
from sequencer_project.api.errors import InvalidFieldError, InvalidRequestError
from sequencer_project.api.fields import BIGINT_MAX, parse_uuid_text
from sequencer_project.api.json_limits import jsonb_problem
from ves.encoding import str3_bytes, uuid_bytes
from ves.legacy_json import LegacyJsonError, fast_dumps
from ves.rfc3339 import parse_rfc3339, utc_instant

NIL_UUID = uuid.UUID(int=0)
PAYLOAD_HASH_HEX = re.compile(r"^[0-9a-fA-F]{64}$")
_ENVELOPE_TAG = b"SEQ_LEGACY_ENVELOPE_V1"
_NO_COMMAND = bytes(16)
_DIGITS = frozenset("0123456789")
MAX_BASE_VERSION = BIGINT_MAX  # base_version is compared with a bigint column

FIELD_LIMITS = {"entity_type": 128, "entity_id": 512, "event_type": 256}


@dataclass(slots=True)
class LegacyEvent:
    """One validated legacy event, ready to sequence (not frozen: a frozen dataclass of these 17
    fields costs ~1.4 µs more to build, once per event; nothing changes one after parsing)."""

    index: int
    event_id: uuid.UUID
    command_id: uuid.UUID | None
    envelope_version: int
    entity_type: str
    entity_id: str
    event_type: str
    names: bytes  # STR entity_type || STR entity_id || STR event_type: in the envelope hash and the payload AAD
    payload_json: bytes
    payload_hash: bytes
    supplied_hash_matches: bool
    payload_problem: str | None  # why jsonb cannot hold the payload (rejected per event), or None
    envelope_hash: bytes
    base_version: int | None
    source_agent: uuid.UUID
    signature: bytes | None
    created_at: datetime
    payload: Any  # the parsed payload (schema validation reads it)
    source: RequestEvents  # the request's events as sent, parsed only when one is needed

    @property
    def raw(self) -> dict[str, Any]:
        """The event's JSON object as the client sent it (the rejection log keeps it)."""
        return self.source.event(self.index)


class RequestEvents:
    """A request's ``events`` array as sent: the parsed list, or the body parsed on first use.

    The typed decoder (:mod:`events.legacy_decoder`) builds no dicts; a rejected event's body
    is rare, so its dict comes from the body bytes only when the rejection log asks for it.
    """

    __slots__ = ("_body", "_events")

    def __init__(self, *, events: list[Any] | None = None, body: bytes = b"") -> None:
        self._events = events
        self._body = body

    def event(self, index: int) -> dict[str, Any]:
        if self._events is None:
            self._events = orjson.loads(self._body)["events"]
        event: dict[str, Any] = self._events[index]
        return event


@dataclass(frozen=True, slots=True)
class LegacyIngestRequest:
    agent_id: uuid.UUID | None
    tenant_id: uuid.UUID | None
    store_id: uuid.UUID | None
    events: list[LegacyEvent]


MISSING = "This field is required."
NOT_A_UUID = "Must be a UUID string."


@functools.lru_cache(maxsize=4096)
def repeated_uuid(value: str) -> uuid.UUID | None:
    """:func:`~sequencer_project.api.fields.parse_uuid_text` for ids that repeat in every event of a
    request and across requests (tenant, store, agent): parsing one costs ~1.4-3 µs, a cache hit
    ~0.1 µs. ``None`` (cached too) when it is not a UUID."""
    return parse_uuid_text(value)


def uuid_field(
    value: Any, path: str, errs: FieldErrors, *, required: bool, repeats: bool = False, missing: str = MISSING
) -> uuid.UUID | None:
    """The UUID member ``path`` of an ingest body (legacy and VES), or ``None`` with its 422 field
    error in ``errs``: ``missing`` when it is absent or null and ``required``, else ``NOT_A_UUID``.

    Accepts exactly what every other endpoint accepts (``parse_uuid_text``: an ASCII string
    ``uuid.UUID`` reads; it alone would also read, say, Arabic-Indic digits). ``repeats``: the
    id repeats across events and requests, read through the per-process cache
    (:func:`repeated_uuid`).
    """
    if value is None:
        if required:
            errs.add(path, missing)
        return None
    parsed = repeated_uuid(value) if repeats and isinstance(value, str) else parse_uuid_text(value)
    if parsed is None:
        errs.add(path, NOT_A_UUID)
    return parsed


def _text(value: Any, path: str, name: str, errs: FieldErrors) -> str:
    if not isinstance(value, str):
        errs.add(path, "This field is required and must be a string." if value is None else "Must be a string.")
        return ""
    limit = FIELD_LIMITS[name]
    if not 1 <= len(value) <= limit:
        raise errors.FieldLengthError(f"{path} must be 1 to {limit} characters long.", field=path)
    if "\x00" in value:
        raise InvalidFieldError(f"{path} must not contain NUL characters.", field=path)
    return value


def parse_created_at(value: Any, path: str, errs: FieldErrors) -> datetime | None:
    if not isinstance(value, str):
        errs.add(path, "This field is required and must be an RFC 3339 timestamp.")
        return None
    parsed: datetime | None
    # The fast reader takes ISO 8601 forms RFC 3339 (and the reference's chrono) refuse (basic
    # format, week dates, no seconds, a comma): it reads only what has RFC 3339's shape, one
    # comparison a position (~0.1 µs); the strict reader decides everything else.
    if (
        len(value) >= 20
        and value[7] == "-"
        and value[10] in "Tt"
        and value[16] == ":"
        and value[19] in ".Zz+-"
        and (value[19] != "." or value[20:21] in _DIGITS)  # fromisoformat takes a "." with no digits
        and (value[-1] in "Zz" or (value[-3] == ":" and value[-6] in "+-"))
    ):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:  # what it leaves and RFC 3339 allows (and chrono reads): a lower-case
            parsed = parse_rfc3339(value)  # z, a leap second (:60, as chrono's instant)
    else:  # the strict reader also takes RFC 3339's space separator, which is refused here
        parsed = parse_rfc3339(value) if "T" in value.upper() else None
    instant = None if parsed is None or parsed.tzinfo is None else utc_instant(parsed)
    if instant is None:
        errs.add(path, "Must be an RFC 3339 timestamp with a UTC offset, between years 1 and 9999 in UTC.")
    return instant


def parse_signature(value: Any, path: str, errs: FieldErrors) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, list) and all(isinstance(b, int) and not isinstance(b, bool) and 0 <= b <= 255 for b in value):
        return bytes(value)
    if isinstance(value, str) and len(value) % 2 == 0:
        try:
            return bytes.fromhex(value)
        except ValueError:
            pass
    errs.add(path, "Must be an array of bytes (0..255) or a hex string.")
    return None


def envelope_hash_prefix(tenant_id: uuid.UUID, store_id: uuid.UUID) -> bytes:
    """The first bytes of every envelope-hash preimage of one stream: computed once per request."""
    return _ENVELOPE_TAG + uuid_bytes(tenant_id) + uuid_bytes(store_id)


def _envelope_hash(
    stream_prefix: bytes,
    event_id: uuid.UUID,
    command_id: uuid.UUID | None,
    envelope_version: int,
    names: bytes,
    payload_hash: bytes,
    base_version: int | None,
    source_agent: uuid.UUID,
    signature: bytes | None,
    created_at: datetime,
) -> bytes:
    """Fingerprint of everything a client sent for an event: equal only for an exact replay.

    Stored with the event and compared on replay, so its bytes never change (pinned in
    ``tests/events/test_envelope_hash.py``): ``SEQ_LEGACY_ENVELOPE_V1 || UUID tenant || UUID
    store`` (the ``stream_prefix``, :func:`envelope_hash_prefix`) ``|| UUID event || UUID command
    (16 zero bytes when none) || U32 envelope_version || STR entity_type || STR entity_id || STR
    event_type || payload_hash || (0x01 || I64 base_version | 0x00) || UUID source_agent || (0x01
    || U32 len || signature | 0x00) || I64 created_at µs``.
    """
    # Few calls: this runs once per event ingested (docs/performance.md, "Stream prefixes").
    return hashlib.sha256(
        b"".join(
            (
                stream_prefix,
                event_id.int.to_bytes(16, "big"),
                command_id.int.to_bytes(16, "big") if command_id is not None else _NO_COMMAND,
                envelope_version.to_bytes(4, "big"),
                names,
                payload_hash,
                b"\x01" + base_version.to_bytes(8, "big", signed=True) if base_version is not None else b"\x00",
                source_agent.int.to_bytes(16, "big"),
                b"\x01" + len(signature).to_bytes(4, "big") + signature if signature is not None else b"\x00",
                int(created_at.timestamp() * 1_000_000).to_bytes(8, "big", signed=True),
            )
        )
    ).digest()


def parse_legacy_request(
    body: Any, *, max_events: int, max_payload_bytes: int, default_agent: uuid.UUID | None = None
) -> LegacyIngestRequest:
    """Validate a parsed ``POST /api/v1/events/ingest`` body (request-level errors raise).

    ``source_agent`` defaults to the request's ``agent_id``, else ``default_agent`` (the
    credential's agent), else the nil UUID.
    """
    errs = FieldErrors()
    if not isinstance(body, dict):
        raise InvalidRequestError("The body must be a JSON object with an 'events' array.")
    raw_events = body.get("events")
    if not isinstance(raw_events, list):
        errs.add("events", "This field is required and must be an array.")
        errs.raise_if_any()
    assert isinstance(raw_events, list)
    agent_id = uuid_field(body.get("agent_id"), "agent_id", errs, required=False, repeats=True)
    if len(raw_events) > max_events:
        raise errors.TooManyEventsError(
            f"A request may carry at most {max_events} events; this one has {len(raw_events)}.",
            max_events=max_events,
        )
    errs.raise_if_any()

    tenant_id: uuid.UUID | None = None
    store_id: uuid.UUID | None = None
    events: list[LegacyEvent] = []
    source = RequestEvents(events=raw_events)
    for index, raw in enumerate(raw_events):
        prefix = f"events[{index}]"
        if not isinstance(raw, dict):
            errs.add(prefix, "Each event must be a JSON object.")
            continue
        event_tenant = uuid_field(raw.get("tenant_id"), f"{prefix}.tenant_id", errs, required=True, repeats=True)
        event_store = uuid_field(raw.get("store_id"), f"{prefix}.store_id", errs, required=True, repeats=True)
        if event_tenant is not None and event_store is not None:
            if tenant_id is None:
                tenant_id, store_id = event_tenant, event_store
            elif (event_tenant, event_store) != (tenant_id, store_id):
                raise errors.MixedStreamError(
                    f"{prefix} names stream {event_tenant}/{event_store}, but the request's first event "
                    f"names {tenant_id}/{store_id}; send one stream per request."
                )
        if event_tenant is None or event_store is None:
            continue
        event = _parse_event(
            raw,
            prefix,
            index,
            agent_id,
            agent_id or default_agent,
            event_tenant,
            event_store,
            errs,
            max_payload_bytes,
            source,
        )
        if event is not None:
            events.append(event)
    errs.raise_if_any()
    return LegacyIngestRequest(agent_id=agent_id, tenant_id=tenant_id, store_id=store_id, events=events)


def _parse_event(
    raw: dict[str, Any],
    prefix: str,
    index: int,
    agent_id: uuid.UUID | None,
    fallback_agent: uuid.UUID | None,
    tenant_id: uuid.UUID,
    store_id: uuid.UUID,
    errs: FieldErrors,
    max_payload_bytes: int,
    source: RequestEvents,
) -> LegacyEvent | None:
    before = len(errs.items)
    event_id = uuid_field(raw.get("event_id"), f"{prefix}.event_id", errs, required=True)
    command_id = uuid_field(raw.get("command_id"), f"{prefix}.command_id", errs, required=False)
    entity_type = _text(raw.get("entity_type"), f"{prefix}.entity_type", "entity_type", errs)
    entity_id = _text(raw.get("entity_id"), f"{prefix}.entity_id", "entity_id", errs)
    event_type = _text(raw.get("event_type"), f"{prefix}.event_type", "event_type", errs)
    created_at = parse_created_at(raw.get("created_at"), f"{prefix}.created_at", errs)

    envelope_version = raw.get("envelope_version", 1)
    if envelope_version is None:
        envelope_version = 1
    if not isinstance(envelope_version, int) or isinstance(envelope_version, bool) or not 1 <= envelope_version < 2**31:
        errs.add(f"{prefix}.envelope_version", "Must be a positive integer.")

    base_version = raw.get("base_version")
    if base_version is not None and (
        not isinstance(base_version, int) or isinstance(base_version, bool) or not 0 <= base_version <= MAX_BASE_VERSION
    ):
        errs.add(f"{prefix}.base_version", "Must be a non-negative integer.")

    source_agent = uuid_field(raw.get("source_agent"), f"{prefix}.source_agent", errs, required=False)
    if source_agent is None:
        source_agent = fallback_agent or NIL_UUID
    elif agent_id is not None and source_agent != agent_id:
        raise errors.SourceAgentMismatchError(
            f"{prefix}.source_agent is {source_agent} but the request's agent_id is {agent_id}.", field=prefix
        )

    supplied_hash = raw.get("payload_hash")
    if supplied_hash is not None and (not isinstance(supplied_hash, str) or not PAYLOAD_HASH_HEX.match(supplied_hash)):
        errs.add(f"{prefix}.payload_hash", "Must be 64 hexadecimal characters (no 0x prefix).")
    signature = parse_signature(raw.get("signature"), f"{prefix}.signature", errs)

    if "payload" not in raw:
        errs.add(f"{prefix}.payload", "This field is required.")
    if len(errs.items) > before:
        return None

    assert event_id is not None
    assert created_at is not None
    return legacy_event(  # positional, as legacy_event builds its event (~0.6 µs less per event)
        index,
        event_id,
        command_id,
        envelope_version,
        entity_type,
        entity_id,
        event_type,
        raw["payload"],
        supplied_hash,
        base_version,
        source_agent,
        signature,
        created_at,
        envelope_hash_prefix(tenant_id, store_id),
        max_payload_bytes,
        source,
    )


def legacy_event(
    index: int,
    event_id: uuid.UUID,
    command_id: uuid.UUID | None,
    envelope_version: int,
    entity_type: str,
    entity_id: str,
    event_type: str,
    payload: Any,
    supplied_hash: str | None,
    base_version: int | None,
    source_agent: uuid.UUID,
    signature: bytes | None,
    created_at: datetime,
    stream_prefix: bytes,
    max_payload_bytes: int,
    source: RequestEvents,
    nul_free: bool = False,
) -> LegacyEvent:
    """An event whose envelope fields are valid: its payload encodings, hashes and fingerprint.

    Both parsers end here (this one and :mod:`events.legacy_decoder`), so an event's stored
    bytes never depend on which of them read the body. ``nul_free``: the caller knows the
    payload holds no U+0000 (its JSON text had no ``\\u0000`` escape), so jsonb can hold it.
    """
    try:  # stored as hashed: serde_json's bytes, keys sorted, as the reference stores and returns them
        payload_json = fast_dumps(payload)
    except (LegacyJsonError, orjson.JSONEncodeError) as exc:
        field = f"events[{index}].payload"
        raise InvalidFieldError(f"{field} cannot be stored: {exc}", field=field) from exc
    if len(payload_json) > max_payload_bytes:
        field = f"events[{index}].payload"
        raise errors.EventPayloadTooLargeError(
            f"{field} is {len(payload_json)} bytes; the limit is {max_payload_bytes}.", field=field
        )
    payload_hash = hashlib.sha256(payload_json).digest()
    matches = supplied_hash is None or bytes.fromhex(supplied_hash) == payload_hash
    names = str3_bytes(entity_type, entity_id, event_type)
    # Positional: building the 18 fields by keyword costs ~0.6 µs more per event (docs/performance.md).
    return LegacyEvent(
        index,
        event_id,
        command_id,
        envelope_version,
        entity_type,
        entity_id,
        event_type,
        names,
        payload_json,
        payload_hash,
        matches,
        None if nul_free else jsonb_problem(payload, payload_json),
        _envelope_hash(
            stream_prefix,
            event_id,
            command_id,
            envelope_version,
            names,
            payload_hash,
            base_version,
            source_agent,
            signature,
            created_at,
        ),
        base_version,
        source_agent,
        signature,
        created_at,
        payload,
        source,
    )
