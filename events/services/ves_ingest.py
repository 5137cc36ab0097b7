"""VES v1 signed ingest: verify outside the lock, then sequence gap-free into stream kind 2.

Same design as legacy ingest (ADR 0001, ``docs/ves.md``):

1. before any transaction: hash every event (``events.ves_envelopes``), read the agent's keys
   (one query for the cache misses; cached per process, a revocation reaches every process
   within 0.25 s, tenants.key_cache) and
   verify the Ed25519 signatures;
2. one short transaction: lock the VES counter row, classify the batch in one statement
   (stored ids with their receipts, reserved command ids, entity versions), decide each
   event in request order, write counter, events + receipts, versions, command ids and the
   rejection log in one statement, commit.

An exact replay returns its stored receipt and is neither accepted nor rejected; it is
recognised before the verification outcome is looked at, so it is never re-verified.
"""

from __future__ import annotations

import base64
import functools
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from django.conf import settings
from django.db import connection, transaction

from events.services.ingest_retry import EventIdRaceError, ingest_with_retries
from events.sql import CLASSIFY_VES_BATCH, INSERT_VES_BATCH
from events.ves_envelopes import PreparedVesEvent, VesReason
from schemas.registry import SchemaFailure, schema_failures
from streams import classification
from streams.classification import Rejection, StreamState
from streams.counters import stream_counter_lock
from streams.kinds import StreamKind, stream_params
from tenants.selectors import (
    AgentKeyProblem,
    AgentKeyRecord,
    agent_signing_key_records_by_id,
    agent_signing_key_records_locked,
)
from ves.hashes import receipt_hash
from ves.signing import public_key_from_seed, sign, verify

logger = logging.getLogger(__name__)

SIGNATURE_ALG_ED25519 = "ed25519"
SIGNATURE_ALG_NONE = "none"


@dataclass(frozen=True, slots=True)
class VesReceipt:
    sequencer_id: uuid.UUID
    event_id: uuid.UUID
    sequence_number: int
    sequenced_at: datetime
    receipt_hash: bytes
    signature_alg: str
    sequencer_signature: bytes
    sequencer_key_version: int


class VesIngestResult(classification.SequencedBatch[VesReceipt]):
    __slots__ = ()


@dataclass(frozen=True, slots=True)
class SequencerKey:
    """The receipt signer: a seed (``None`` = unsigned receipts) and the sequencer's id."""

    sequencer_id: uuid.UUID
    seed: bytes | None

    @property
    def public_key(self) -> bytes | None:
        return public_key_from_seed(self.seed) if self.seed else None


@functools.cache
def _sequencer_key(seed_hex: str, sequencer_id: str) -> SequencerKey:
    seed = bytes.fromhex(seed_hex.removeprefix("0x")) if seed_hex else None
    return SequencerKey(uuid.UUID(sequencer_id), seed)


def sequencer_key() -> SequencerKey:
    """The configured receipt signer (``VES_SEQUENCER_SIGNING_KEY``, ``VES_SEQUENCER_ID``)."""
    return _sequencer_key(settings.VES_SEQUENCER_SIGNING_KEY, settings.VES_SEQUENCER_ID)


@dataclass(slots=True)
class _Decisions:
    accepted: list[tuple[PreparedVesEvent, VesReceipt]] = field(default_factory=list)
    rejections: list[tuple[Rejection, PreparedVesEvent]] = field(default_factory=list)
    receipts: list[VesReceipt] = field(default_factory=list)


def _key_problem(event: PreparedVesEvent, keys: dict[int, AgentKeyRecord], now: datetime) -> tuple[str, str] | None:
    """The rejection of an event whose key is missing, revoked or outside its window at ``now``."""
    key = keys.get(event.event.fields.agent_key_id)
    problem = AgentKeyProblem.NOT_FOUND if key is None else key.problem_at(now)
    if problem is None:
        return None
    return f"{VesReason.AGENT_KEY_INVALID}: {problem}", f"key {event.event.fields.agent_key_id}: {problem}"


def _key_failure(event: PreparedVesEvent, keys: dict[int, AgentKeyRecord], now: datetime) -> tuple[str, str] | None:
    problem = _key_problem(event, keys, now)
    if problem is not None:
        return problem
    key = keys[event.event.fields.agent_key_id]
    if not verify(key.public_key, event.signing_hash, event.event.agent_signature):
        return VesReason.INVALID_SIGNATURE, "agent_signature does not verify over the event signing hash"
    return None


def _schema_failure(failure: SchemaFailure, *, redacted: bool = False) -> tuple[str, str]:
    """``(reason, message)`` of a schema rejection: as answered (jsonschema's wording, which
    quotes the payload's values) or ``redacted``, as the rejection log stores it."""
    if failure.version is None:
        return f"{VesReason.SCHEMA_VALIDATION}: no schema for event_type", failure.summary
    first = failure.errors[0]
    if redacted:
        return f"{VesReason.SCHEMA_VALIDATION}: {first.redacted}", failure.redacted_summary
    return f"{VesReason.SCHEMA_VALIDATION}: {first.path}: {first.message}", failure.summary


def ves_event_ingest(
    *,
    tenant_id: uuid.UUID,
    store_id: uuid.UUID,
    agent_id: uuid.UUID,
    events: Sequence[PreparedVesEvent],
    actor: str,
    request_id: str = "",
) -> VesIngestResult:
    """Verify and sequence ``events`` (one stream, one agent, request order).

    Invariants: the VES stream's numbers stay exactly ``1..head``; an exact replay returns its
    stored receipt; nothing of a rejected event is stored but its rejection-log row.
    Locks: the stream's VES counter row, from classification to commit (no hashing or
    signature verification under it; receipt signing is the only crypto there).
    """
    batch_id = uuid.uuid4()
    needed = {e.event.fields.agent_key_id for e in events if e.failure is None}
    keys = agent_signing_key_records_by_id(tenant_id=tenant_id, agent_id=agent_id, key_ids=needed) if needed else {}
    now = datetime.now(UTC)
    checked = [e for e in events if e.failure is None]
    verdicts = schema_failures(
        tenant_id=tenant_id,
        events=[(e.event.fields.event_type, e.event.payload, e.event.fields.payload_kind != 0) for e in checked],
    )
    schema_rejects = {id(e): f for e, f in zip(checked, verdicts, strict=True) if f is not None}
    failures = [
        e.failure
        if e.failure is not None
        else _schema_failure(schema_rejects[id(e)])
        if id(e) in schema_rejects
        else _key_failure(e, keys, now)
        for e in events
    ]
    signer = sequencer_key()

    def run_once() -> VesIngestResult:
        return _ingest_once(
            batch_id, tenant_id, store_id, agent_id, list(events), failures, schema_rejects, signer, request_id, actor
        )

    return ingest_with_retries(run_once, tenant_id=tenant_id, store_id=store_id, label="VES ", log=logger)


@transaction.atomic(durable=True)
def _ingest_once(
    batch_id: uuid.UUID,
    tenant_id: uuid.UUID,
    store_id: uuid.UUID,
    agent_id: uuid.UUID,
    events: list[PreparedVesEvent],
    failures: list[tuple[str, str] | None],
    schema_rejects: dict[int, SchemaFailure],
    signer: SequencerKey,
    request_id: str,
    actor: str,
) -> VesIngestResult:
    stream = stream_params(tenant_id, store_id, StreamKind.VES)
    failures = _keys_checked_again(tenant_id, agent_id, events, failures)
    with connection.cursor() as cursor:
        head = stream_counter_lock(cursor, stream, actor=actor)
        state = _read_state(cursor, stream, head, events)
        decisions = _decide(tenant_id, store_id, events, failures, state, signer)
        new_head = head + len(decisions.accepted)
        cursor.execute(
            INSERT_VES_BATCH,
            {
                **stream,
                "rows": _rows_json(decisions.accepted),
                "payloads": [event.payload_json for event, _ in decisions.accepted],  # bytea[], rows' order
                "rejections": _rejections_json(decisions.rejections, schema_rejects),
                "expected_head": head,
                "new_head": new_head,
                "request_id": request_id,
            },
        )
        counter_rows, inserted_rows, command_rows, _, _ = cursor.fetchone()
    expected_commands = sum(1 for e, _ in decisions.accepted if e.event.command_id is not None)
    if inserted_rows != len(decisions.accepted) or command_rows != expected_commands:
        raise EventIdRaceError()
    if decisions.accepted and counter_rows != 1:
        raise AssertionError("VES counter moved while its row lock was held")  # defensive
    accepted = len(decisions.accepted)
    return VesIngestResult(
        batch_id=batch_id,
        accepted=accepted,
        rejections=[r for r, _ in decisions.rejections],
        receipts=decisions.receipts,
        sequence_start=head + 1 if accepted else None,
        sequence_end=new_head if accepted else None,
        head=new_head,
    )


def _keys_checked_again(
    tenant_id: uuid.UUID, agent_id: uuid.UUID, events: list[PreparedVesEvent], failures: list[tuple[str, str] | None]
) -> list[tuple[str, str] | None]:
    """``failures`` with the events whose key was revoked (or left its window) since the batch
    checked it against the process's cache: the keys the accepted events name, read again in the
    ingest transaction and share-locked to its commit (``agent_signing_key_records_locked``), so
    a revocation that answered before this commit is seen, and one that comes after waits for it.
    Caller holds the transaction."""
    names = {e.event.fields.agent_key_id for e, failure in zip(events, failures, strict=True) if failure is None}
    if not names:
        return failures
    keys = agent_signing_key_records_locked(tenant_id=tenant_id, agent_id=agent_id, key_ids=names)
    now = datetime.now(UTC)
    return [
        _key_problem(event, keys, now) if failure is None else failure
        for event, failure in zip(events, failures, strict=True)
    ]


_WORDS = classification.RejectionWords(
    duplicate_event_id=VesReason.DUPLICATE_EVENT_ID,
    duplicate_command_id=VesReason.DUPLICATE_COMMAND_ID,
    version_conflict=f"{VesReason.VERSION_CONFLICT}: {{detail}}",
)


def _read_state(cursor: Any, stream: dict[str, Any], head: int, events: list[PreparedVesEvent]) -> StreamState:
    cursor.execute(CLASSIFY_VES_BATCH, {**stream, **classification.read_parameters(events)})
    return classification.state_from_rows(head, cursor.fetchall(), _stored_receipt)


def _stored_receipt(row: Sequence[Any]) -> VesReceipt:
    """A stored event's receipt from its classification row (``classify_ves_batch.sql``)."""
    sequenced_at, sequencer_id, receipt, alg, signature, key_version = row[8:14]
    return VesReceipt(
        sequencer_id=sequencer_id,
        event_id=row[1],
        sequence_number=row[3],
        sequenced_at=sequenced_at,
        receipt_hash=bytes(receipt),
        signature_alg=alg,
        sequencer_signature=bytes(signature) if signature is not None else b"",
        sequencer_key_version=key_version,
    )


def _decide(
    tenant_id: uuid.UUID,
    store_id: uuid.UUID,
    events: list[PreparedVesEvent],
    failures: list[tuple[str, str] | None],
    state: StreamState,
    signer: SequencerKey,
) -> _Decisions:
    """Classify in request order (``streams.classification``) and sign the accepted events'
    receipts. Caller holds the VES counter lock."""
    outcome = classification.classify(events, state, store_id, _WORDS, failures)
    sequenced_at = datetime.now(UTC)
    alg = SIGNATURE_ALG_ED25519 if signer.seed else SIGNATURE_ALG_NONE
    out = _Decisions()
    out.rejections = outcome.rejected
    for event, sequence, original in outcome.answered:
        if original is not None:
            out.receipts.append(original.receipt)
            continue
        digest = receipt_hash(tenant_id, store_id, event.event_id, sequence, event.signing_hash)
        receipt = VesReceipt(
            sequencer_id=signer.sequencer_id,
            event_id=event.event_id,
            sequence_number=sequence,
            sequenced_at=sequenced_at,
            receipt_hash=digest,
            signature_alg=alg,
            sequencer_signature=sign(signer.seed, digest) if signer.seed else b"",
            sequencer_key_version=0,
        )
        out.accepted.append((event, receipt))
        out.receipts.append(receipt)
    return out


def _rows_json(accepted: list[tuple[PreparedVesEvent, VesReceipt]]) -> str:
    rows = []
    for event, receipt in accepted:
        f = event.event.fields
        rows.append(
            {
                "sequence_number": receipt.sequence_number,
                "event_id": f.event_id,
                "command_id": event.event.command_id,
                "ves_version": f.ves_version,
                "source_agent_id": f.source_agent_id,
                "agent_key_id": f.agent_key_id,
                "entity_type": f.entity_type,
                "entity_id": f.entity_id,
                "event_type": f.event_type,
                "created_at": event.created_at,
                "created_at_str": f.created_at,
                "payload_kind": f.payload_kind,
                "payload_encrypted": event.encrypted_json,
                "payload_plain_hash": f.payload_plain_hash.hex(),
                "payload_cipher_hash": f.payload_cipher_hash.hex(),
                "event_signing_hash": event.signing_hash.hex(),
                "agent_signature": event.event.agent_signature.hex(),
                "base_version": event.event.base_version,
                "envelope_hash": event.envelope_hash.hex(),
                "sequenced_at": receipt.sequenced_at,
                "sequencer_id": receipt.sequencer_id,
                "receipt_hash": receipt.receipt_hash.hex(),
                "signature_alg": receipt.signature_alg,
                "sequencer_signature": receipt.sequencer_signature.hex() if receipt.sequencer_signature else None,
                "sequencer_key_version": receipt.sequencer_key_version,
            }
        )
    return orjson.dumps(rows).decode()


def _rejections_json(
    rejections: list[tuple[Rejection, PreparedVesEvent]], schema_rejects: dict[int, SchemaFailure]
) -> str:
    """Rows for the rejection log; ``schema_rejects`` (by ``id`` of the event) are stored
    redacted (``_schema_failure``): the answer quotes the payload's values, the log must not."""
    rows = []
    for rejection, event in rejections:
        reason, message = rejection.reason, rejection.message
        failure = schema_rejects.get(id(event))
        if failure is not None and (reason, message) == _schema_failure(failure):
            reason, message = _schema_failure(failure, redacted=True)
        rows.append(
            {
                "event_id": rejection.event_id,
                "reason": reason,
                "message": message,
                "body": base64.b64encode(orjson.dumps(event.event.raw)).decode(),
            }
        )
    return orjson.dumps(rows).decode()
