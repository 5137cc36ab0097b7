"""Parse and check VES v1 ingest requests (REFERENCE.md §2.3.2, VES.md §9) before any lock.

Three stages, so the view can interleave the credential checks in the reference's order:

1. :func:`parse_ves_request` — shape and types (422 ``invalid_request``), empty list (400),
   mixed stream (400);
2. :func:`check_source_agents` (400), then — after the write permission —
   :func:`check_ves_limits`: batch size (413), field byte lengths (400), payload presence
   (400) and size (413);
3. :func:`prepare_ves_event` — the per-event checks that become *rejections* (first failure
   wins): version, kind/field consistency, encrypted structure, ``created_at``, payload or
   cipher hash. It also computes the signing hash and the replay fingerprint. The key lookup
   and the Ed25519 verification follow in the service (they need the database).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from events import errors
from events.envelopes import uuid_field
from events.field_errors import FieldErrors
from sequencer_project.api.errors import InvalidFieldError, InvalidRequestError
from sequencer_project.api.fields import BIGINT_MAX, U32
from sequencer_project.api.json_limits import jsonb_problem
from ves.encryption import EncryptedStructureError, cipher_hash_for, parse_encrypted
from ves.hashes import ZERO_HASH, EventSigningFields, event_signing_preimage, payload_plain_hash
from ves.jcs import JcsError, canonicalize
from ves.rfc3339 import parse_rfc3339

VES_FIELD_LIMITS = {"entity_type": 128, "entity_id": 512, "event_type": 256}  # bytes of UTF-8
_HEX = re.compile(r"^(?:0[xX])?([0-9a-fA-F]*)\Z")
_U32_MAX = U32[1]
_FINGERPRINT_TAG = b"SEQ_VES_ENVELOPE_V1"
_MISSING_UUID = "This field is required and must be a UUID string."  # legacy ingest says only the first half


class VesReason:
    """Per-event rejection reasons of VES ingest (the reference's lowercase strings)."""

    UNSUPPORTED_VERSION = "unsupported_version"
    SCHEMA_VALIDATION = "schema_validation"
    INVALID_PAYLOAD_HASH = "invalid_payload_hash"
    INVALID_PAYLOAD = "invalid_payload"  # a payload PostgreSQL jsonb cannot hold (ADR 0016)
    INVALID_CIPHER_HASH = "invalid_cipher_hash"
    AGENT_KEY_INVALID = "agent_key_invalid"
    INVALID_SIGNATURE = "invalid_signature"
    DUPLICATE_EVENT_ID = "duplicate_event_id"
    DUPLICATE_COMMAND_ID = "duplicate_command_id"
    VERSION_CONFLICT = "version_conflict"


@dataclass(frozen=True, slots=True)
class VesEvent:
    """One VES envelope whose fields have the right JSON types (not yet checked further)."""

    index: int
    fields: EventSigningFields
    agent_signature: bytes
    command_id: uuid.UUID | None
    base_version: int | None
    payload: Any  # None when absent (JSON null counts as absent)
    payload_encrypted: Any  # None when absent
    raw: dict[str, Any]

    @property
    def event_id(self) -> uuid.UUID:
        return self.fields.event_id


@dataclass(frozen=True, slots=True)
class VesIngestRequest:
    agent_id: uuid.UUID
    tenant_id: uuid.UUID
    store_id: uuid.UUID
    events: list[VesEvent]


@dataclass(frozen=True, slots=True)
class PreparedVesEvent:
    """A VES event with everything computed outside the transaction.

    ``failure`` is the first per-event check that failed before the key lookup, as
    ``(reason, message)``; the service adds key and signature checks.
    """

    event: VesEvent
    signing_hash: bytes
    envelope_hash: bytes
    created_at: datetime | None
    payload_json: bytes | None
    encrypted_json: dict[str, Any] | None
    failure: tuple[str, str] | None

    # What stream classification reads (streams.classification.Sequenceable).
    @property
    def event_id(self) -> uuid.UUID:
        return self.event.fields.event_id

    @property
    def command_id(self) -> uuid.UUID | None:
        return self.event.command_id

    @property
    def entity_type(self) -> str:
        return self.event.fields.entity_type

    @property
    def entity_id(self) -> str:
        return self.event.fields.entity_id

    @property
    def base_version(self) -> int | None:
        return self.event.base_version


def _uint(value: Any, path: str, errs: FieldErrors, maximum: int) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= maximum:
        return value
    errs.add(path, f"Must be an integer in 0..{maximum}.")
    return None


def _string(value: Any, path: str, errs: FieldErrors) -> str:
    if isinstance(value, str):
        return value
    errs.add(path, "This field is required and must be a string.")
    return ""


def _hex(value: Any, path: str, errs: FieldErrors, size: int) -> bytes:
    match = _HEX.match(value) if isinstance(value, str) else None
    if match is None or len(match.group(1)) != 2 * size:
        errs.add(path, f"Must be {size} bytes of hex (0x prefix optional).")
        return bytes(size)
    return bytes.fromhex(match.group(1))


def parse_ves_request(body: Any) -> VesIngestRequest:
    """Shape and type checks (422), then empty list (400) and mixed stream (400)."""
    errs = FieldErrors()
    if not isinstance(body, dict):
        raise InvalidRequestError("The body must be a JSON object with 'agentId' and 'events'.")
    agent_id = uuid_field(body.get("agentId"), "agentId", errs, required=True, repeats=True, missing=_MISSING_UUID)
    raw_events = body.get("events")
    if not isinstance(raw_events, list):
        errs.add("events", "This field is required and must be an array.")
        errs.raise_if_any()
    assert isinstance(raw_events, list)
    events: list[VesEvent] = []
    for index, raw in enumerate(raw_events):
        if not isinstance(raw, dict):
            errs.add(f"events[{index}]", "Each event must be a JSON object.")
            continue
        event = _parse_event(raw, index, errs)
        if event is not None:
            events.append(event)
    errs.raise_if_any()
    assert agent_id is not None
    if not events:
        raise errors.EmptyBatchError("A VES ingest request must carry at least one event.")
    first = events[0].fields
    for event in events[1:]:
        f = event.fields
        if (f.tenant_id, f.store_id) != (first.tenant_id, first.store_id):
            raise errors.MixedStreamError(
                f"events[{event.index}] names stream {f.tenant_id}/{f.store_id}, but events[0] names "
                f"{first.tenant_id}/{first.store_id}; send one stream per request."
            )
    return VesIngestRequest(agent_id=agent_id, tenant_id=first.tenant_id, store_id=first.store_id, events=events)


def _parse_event(raw: dict[str, Any], index: int, errs: FieldErrors) -> VesEvent | None:
    p = f"events[{index}]."
    before = len(errs.items)
    ves_version = _uint(raw.get("ves_version"), p + "ves_version", errs, _U32_MAX)
    event_id = uuid_field(raw.get("event_id"), p + "event_id", errs, required=True, missing=_MISSING_UUID)
    tenant_id = uuid_field(
        raw.get("tenant_id"), p + "tenant_id", errs, required=True, repeats=True, missing=_MISSING_UUID
    )
    store_id = uuid_field(raw.get("store_id"), p + "store_id", errs, required=True, repeats=True, missing=_MISSING_UUID)
    source_agent_id = uuid_field(
        raw.get("source_agent_id"), p + "source_agent_id", errs, required=True, repeats=True, missing=_MISSING_UUID
    )
    agent_key_id = _uint(raw.get("agent_key_id"), p + "agent_key_id", errs, _U32_MAX)
    entity_type = _string(raw.get("entity_type"), p + "entity_type", errs)
    entity_id = _string(raw.get("entity_id"), p + "entity_id", errs)
    event_type = _string(raw.get("event_type"), p + "event_type", errs)
    created_at = _string(raw.get("created_at"), p + "created_at", errs)
    payload_kind = raw.get("payload_kind")
    if type(payload_kind) is not int or payload_kind not in (0, 1):  # not 0.0 or True: an integer type
        errs.add(p + "payload_kind", "Must be 0 (plaintext) or 1 (encrypted).")
    plain_hash = _hex(raw.get("payload_plain_hash"), p + "payload_plain_hash", errs, 32)
    cipher_hash = _hex(raw.get("payload_cipher_hash"), p + "payload_cipher_hash", errs, 32)
    signature = _hex(raw.get("agent_signature"), p + "agent_signature", errs, 64)
    command_id = uuid_field(raw.get("command_id"), p + "command_id", errs, required=False)
    base_version = raw.get("base_version")
    if base_version is not None:
        base_version = _uint(base_version, p + "base_version", errs, BIGINT_MAX)
    encrypted = raw.get("payload_encrypted")
    if encrypted is not None and not isinstance(encrypted, dict):
        errs.add(p + "payload_encrypted", "Must be an object.")
    if len(errs.items) > before:
        return None
    assert ves_version is not None
    assert agent_key_id is not None
    assert event_id
    assert tenant_id
    assert store_id
    assert source_agent_id
    fields = EventSigningFields(
        ves_version=ves_version,
        tenant_id=tenant_id,
        store_id=store_id,
        event_id=event_id,
        source_agent_id=source_agent_id,
        agent_key_id=agent_key_id,
        entity_type=entity_type,
        entity_id=entity_id,
        event_type=event_type,
        created_at=created_at,
        payload_kind=int(payload_kind),  # type: ignore[arg-type]
        payload_plain_hash=plain_hash,
        payload_cipher_hash=cipher_hash,
    )
    return VesEvent(index, fields, signature, command_id, base_version, raw.get("payload"), encrypted, raw)


def check_source_agents(request: VesIngestRequest) -> None:
    """Every event's ``source_agent_id`` must equal the request's ``agentId`` (400)."""
    for event in request.events:
        if event.fields.source_agent_id != request.agent_id:
            raise errors.SourceAgentMismatchError(
                f"events[{event.index}].source_agent_id is {event.fields.source_agent_id} but agentId is "
                f"{request.agent_id}.",
                field=f"events[{event.index}].source_agent_id",
            )


def check_ves_limits(request: VesIngestRequest, *, max_events: int, max_payload_bytes: int) -> list[bytes | None]:
    """Count (413), field byte lengths and NULs (400), payload presence (400) and size (413).

    Returns each event's serialised plaintext payload (``None`` for encrypted events).
    """
    if len(request.events) > max_events:
        raise errors.TooManyEventsError(
            f"A request may carry at most {max_events} events; this one has {len(request.events)}.",
            max_events=max_events,
        )
    for event in request.events:
        for name, limit in VES_FIELD_LIMITS.items():
            value = getattr(event.fields, name)
            path = f"events[{event.index}].{name}"
            if not 1 <= len(value.encode("utf-8")) <= limit:
                raise errors.FieldLengthError(f"{path} must be 1 to {limit} bytes long (UTF-8).", field=path)
            if "\x00" in value:  # PostgreSQL text cannot hold NUL
                raise InvalidFieldError(f"{path} must not contain NUL characters.", field=path)
    payloads: list[bytes | None] = []
    for event in request.events:
        path = f"events[{event.index}]"
        body = event.payload if event.fields.payload_kind == 0 else event.payload_encrypted
        name = "payload" if event.fields.payload_kind == 0 else "payload_encrypted"
        if body is None:
            raise errors.MissingPayloadError(f"{path}.{name} is required for payload_kind {event.fields.payload_kind}.")
        try:  # keys sorted, as the reference returns them (a jsonb column read into serde_json's BTreeMap)
            serialised = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError as exc:
            raise InvalidFieldError(f"{path}.{name} cannot be stored: {exc}", field=f"{path}.{name}") from exc
        if len(serialised) > max_payload_bytes:
            raise errors.EventPayloadTooLargeError(
                f"{path}.{name} is {len(serialised)} bytes; the limit is {max_payload_bytes}.", field=f"{path}.{name}"
            )
        payloads.append(serialised if event.fields.payload_kind == 0 else None)
    return payloads


def _fingerprint(event: VesEvent, preimage: bytes, content: bytes) -> bytes:
    """Equal only for an exact replay: every signed and optional field, and the payload bytes' hash."""
    digest = hashlib.sha256(_FINGERPRINT_TAG)
    digest.update(len(preimage).to_bytes(4, "big") + preimage)
    digest.update(event.agent_signature)
    digest.update(content)
    digest.update(b"\x01" + event.command_id.bytes if event.command_id else b"\x00")
    digest.update(b"\x01" + event.base_version.to_bytes(8, "big") if event.base_version is not None else b"\x00")
    return digest.digest()


def _reject(reason: str, message: str) -> tuple[str, str]:
    return reason, message


def prepare_ves_event(event: VesEvent, payload_json: bytes | None) -> PreparedVesEvent:
    """Hash and check one event (first failure wins, VES.md §9), up to but excluding the key."""
    f = event.fields
    preimage = event_signing_preimage(f)
    signing_hash = hashlib.sha256(preimage).digest()
    encrypted_json: dict[str, Any] | None = None
    content = b""
    actual: bytes | None = None
    unhashable: tuple[str, str] | None = None  # applies after the checks that come first
    if f.payload_kind == 0:
        try:
            actual = payload_plain_hash(event.payload)
            content = b"\x00" + actual
        except JcsError as exc:
            unhashable = (f"{VesReason.SCHEMA_VALIDATION}: payload", f"payload has no canonical form: {exc}")
    else:
        try:  # over what is stored (unknown members dropped), so a resend of the stored event replays
            structure = parse_encrypted(event.payload_encrypted)
            stored: Any = _normalised_structure(event.payload_encrypted)
        except EncryptedStructureError:  # refused below: its fingerprint is never stored
            structure, stored = None, event.payload_encrypted
        try:
            content = b"\x01" + hashlib.sha256(canonicalize(stored)).digest()
        except JcsError as exc:
            unhashable = (f"{VesReason.SCHEMA_VALIDATION}: payload_encrypted", str(exc))

    problem = jsonb_problem(event.payload, payload_json) if payload_json is not None else None
    unstorable = _reject(VesReason.INVALID_PAYLOAD, f"payload {problem}") if problem is not None else None
    created_at = parse_rfc3339(f.created_at)
    failure = _first_failure(event, created_at) or unhashable or unstorable
    if failure is None and f.payload_kind == 0 and actual != f.payload_plain_hash:
        failure = _reject(VesReason.INVALID_PAYLOAD_HASH, "payload_plain_hash does not match JCS(payload)")
    if failure is None and f.payload_kind == 1:
        assert structure is not None  # _first_failure refuses an unparsable one
        if cipher_hash_for(f, structure) != f.payload_cipher_hash:
            failure = _reject(VesReason.INVALID_CIPHER_HASH, "payload_cipher_hash does not match payload_encrypted")
        encrypted_json = stored
    return PreparedVesEvent(
        event=event,
        signing_hash=signing_hash,
        envelope_hash=_fingerprint(event, preimage, content),
        created_at=created_at,
        payload_json=payload_json,
        encrypted_json=encrypted_json,
        failure=failure,
    )


def _first_failure(event: VesEvent, created_at: datetime | None) -> tuple[str, str] | None:
    f = event.fields
    if f.ves_version != 1:
        return _reject(VesReason.UNSUPPORTED_VERSION, f"ves_version {f.ves_version} is not supported; use 1")
    if f.payload_kind == 0:
        if event.payload_encrypted is not None:
            return _reject(f"{VesReason.SCHEMA_VALIDATION}: payload_encrypted", "plaintext events carry no ciphertext")
        if f.payload_cipher_hash != ZERO_HASH:
            return _reject(
                f"{VesReason.SCHEMA_VALIDATION}: payload_cipher_hash", "must be 32 zero bytes for plaintext events"
            )
    else:
        if event.payload is not None:
            return _reject(f"{VesReason.SCHEMA_VALIDATION}: payload", "encrypted events carry no plaintext payload")
        try:
            parse_encrypted(event.payload_encrypted)
        except EncryptedStructureError as exc:
            return _reject(f"{VesReason.SCHEMA_VALIDATION}: payload_encrypted.{exc.field}", exc.message)
    if created_at is None:
        return _reject(f"{VesReason.SCHEMA_VALIDATION}: created_at", "created_at is not an RFC 3339 timestamp")
    return None


def _normalised_structure(value: dict[str, Any]) -> dict[str, Any]:
    """The validated VES-ENC-1 fields only (unknown members are dropped, as the reference's struct does)."""
    hpke = value["hpke"]
    return {
        "enc_version": value["enc_version"],
        "aead": value["aead"],
        "nonce_b64u": value["nonce_b64u"],
        "ciphertext_b64u": value["ciphertext_b64u"],
        "tag_b64u": value["tag_b64u"],
        "hpke": {k: hpke[k] for k in ("mode", "kem", "kdf", "aead")},
        "recipients": [
            {"recipient_kid": r["recipient_kid"], "enc_b64u": r["enc_b64u"], "ct_b64u": r["ct_b64u"]}
            for r in value["recipients"]
        ],
    }
