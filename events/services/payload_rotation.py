"""Re-seal a tenant's stored legacy payloads, the entity states projected from them and the
bodies of its rejected legacy events with its newest key (``reencrypt_payloads``).

Batches walk the tenant's rows in primary-key order; each batch is one short transaction that
rewrites only rows still on an older key (or plaintext), guarded by what it read. Readers are
never blocked and always see a decryptable row (old blob, old key still in the ring; or new
blob). Stopping at any point and starting again is safe: finished rows no longer match.

A row no key of the ring opens (altered at rest, its key missing, a format this version does not
know) is skipped, not fatal: it stays as it is, on its old key, is reported as a
:class:`SkippedRow`, and the walk goes on past it, so one damaged row never holds back the rest
of the tenant (a run again tries only what is still on an older key, that row included).
"""

from __future__ import annotations

import base64
import enum
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import orjson
from django.db import connection, transaction

from audit.services import audit_record
from events.payload_crypto import (
    PayloadAlteredError,
    PayloadDecryptionError,
    PayloadEncryptionUnavailableError,
    PayloadKey,
    PayloadKeyMissingError,
    StoredPayload,
    UnknownPayloadFormatError,
    encrypt_blob,
    keyring_for,
    payload_aad,
    payload_open,
)
from events.projections.state_crypto import EntityKey, state_open, state_seal
from events.rejected_bodies import rejected_body_open, rejected_body_seal
from events.sql import (
    COUNT_PAYLOADS_TO_REENCRYPT,
    COUNT_REJECTED_BODIES_TO_REENCRYPT,
    COUNT_STATES_TO_REENCRYPT,
    SELECT_PAYLOADS_ON_NEWEST_KEY,
    SELECT_PAYLOADS_TO_REENCRYPT,
    SELECT_REJECTED_BODIES_TO_REENCRYPT,
    SELECT_STATES_TO_REENCRYPT,
    UPDATE_REENCRYPTED_PAYLOADS,
    UPDATE_REENCRYPTED_REJECTED_BODIES,
    UPDATE_REENCRYPTED_STATES,
)
from streams.kinds import StreamKind

_START = (uuid.UUID(int=0), 0)
_STATES_START = (uuid.UUID(int=0), "", "")

Position = TypeVar("Position")
Row = tuple[Any, ...]


class RotationTable(enum.StrEnum):
    """What a rotation re-seals, in the order it walks them (the audit row's keys)."""

    EVENTS = "events"
    ENTITY_STATES = "entity_state"
    REJECTED_BODIES = "rejected_events"


@dataclass(frozen=True, slots=True)
class SkippedRow:
    """A row a rotation left as it was, on its old key, because no key of the ring opens it.

    ``column`` names the table and column (``events.payload``), ``where`` the rest of the row's
    key when it has no sequence number (an entity, a rejection), ``reason`` why: ``altered: …``
    (the key the row names is in the ring and does not open it: no key repairs it),
    ``key missing: …`` (putting the key back does), ``unknown format: …``, ``does not open: …``.
    """

    column: str
    tenant_id: uuid.UUID
    store_id: uuid.UUID
    stream_kind: StreamKind
    sequence_number: int | None
    event_id: uuid.UUID | None
    where: str
    key_id: int | None
    reason: str

    def __str__(self) -> str:
        parts = [f"{self.column}: tenant {self.tenant_id} store {self.store_id} stream {self.stream_kind.name.lower()}"]
        if self.sequence_number is not None:
            parts.append(f"sequence {self.sequence_number}")
        if self.where:
            parts.append(self.where)
        if self.event_id is not None:
            parts.append(f"event {self.event_id}")
        key = f"key id {self.key_id}" if self.key_id is not None else "no key id"
        return f"{' '.join(parts)}, {key}: {self.reason}"


def _why(exc: PayloadDecryptionError) -> str:
    """A skipped row's ``reason``: what kind of failure, then the error's own words."""
    if isinstance(exc, PayloadAlteredError):
        kind = "altered"
    elif isinstance(exc, PayloadKeyMissingError):
        kind = "key missing"
    elif isinstance(exc, UnknownPayloadFormatError):
        kind = "unknown format"
    else:
        kind = "does not open"
    return f"{kind}: {exc.reason}"


@dataclass(frozen=True, slots=True)
class RotationBatch(Generic[Position]):
    """What one batch rewrote, the rows it skipped (no key opens them: left as they are), and the
    keyset position to go on from (``None``: nothing left)."""

    rewritten: int
    position: Position | None
    skipped: tuple[SkippedRow, ...] = ()


def _newest_key(tenant_id: uuid.UUID) -> PayloadKey:
    newest = keyring_for(tenant_id).newest
    if newest is None:
        raise PayloadEncryptionUnavailableError("The tenant has no payload key to rotate to.")
    return newest


def _count(sql: str, tenant_id: uuid.UUID) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, {"tenant_id": tenant_id, "newest_key_id": _newest_key(tenant_id).key_id})
        return int(cursor.fetchone()[0])


def _reseal_batch(
    *,
    tenant_id: uuid.UUID,
    select: str,
    update: str,
    keyset: dict[str, Any],
    batch_size: int,
    reseal: Callable[[Row, PayloadKey], dict[str, Any]],
    skip: Callable[[Row, PayloadDecryptionError], SkippedRow],
    position: Callable[[Row], Position],
) -> RotationBatch[Position]:
    """One batch of a rotation: read the rows after ``keyset`` that are not on the newest key,
    ``reseal`` each (the update row, guarded by what was read), write them in one statement.
    A row ``reseal`` cannot open (``PayloadDecryptionError``) is left alone and reported through
    ``skip``; the position still moves past it. Caller holds the transaction."""
    newest = _newest_key(tenant_id)
    params = {"tenant_id": tenant_id, **keyset, "newest_key_id": newest.key_id, "batch_size": batch_size}
    with connection.cursor() as cursor:
        cursor.execute(select, params)
        rows = cursor.fetchall()
        updates: list[dict[str, Any]] = []
        skipped: list[SkippedRow] = []
        for row in rows:
            try:
                updates.append(reseal(row, newest))
            except PayloadDecryptionError as exc:
                skipped.append(skip(row, exc))
        rewritten = 0
        if updates:
            cursor.execute(update, {"tenant_id": tenant_id, "rows": orjson.dumps(updates).decode()})
            rewritten = cursor.rowcount
    return RotationBatch(rewritten, position(rows[-1]) if len(rows) == batch_size else None, tuple(skipped))


def payloads_to_reencrypt_count(*, tenant_id: uuid.UUID) -> int:
    return _count(COUNT_PAYLOADS_TO_REENCRYPT, tenant_id)


def _stored_payload(tenant_id: uuid.UUID, row: Row) -> StoredPayload:
    """A row of the ``events`` selects of this module (store, sequence, event, entity type and
    id, event type, payload, format, key id) as :func:`payload_open` reads it."""
    store_id, sequence, event_id, entity_type, entity_id, event_type, payload, fmt, key_id = row
    return StoredPayload(
        tenant_id, store_id, event_id, sequence, entity_type, entity_id, event_type, payload, fmt, key_id
    )


def _payload_skipped(tenant_id: uuid.UUID, row: Row, exc: PayloadDecryptionError) -> SkippedRow:
    """Such a row that does not open, as a :class:`SkippedRow`."""
    store_id, sequence, event_id, *_, key_id = row
    return SkippedRow(
        "events.payload", tenant_id, store_id, StreamKind.LEGACY, sequence, event_id, "", key_id, _why(exc)
    )


def _payload_batch(
    *, tenant_id: uuid.UUID, after: tuple[uuid.UUID, int] = _START, batch_size: int = 500
) -> RotationBatch[tuple[uuid.UUID, int]]:
    """:func:`payload_reencrypt_batch`; caller holds the transaction."""

    def reseal(row: Row, newest: PayloadKey) -> dict[str, Any]:
        stored = _stored_payload(tenant_id, row)
        aad = payload_aad(
            tenant_id,
            stored.store_id,
            stored.event_id,
            stored.sequence_number,
            stored.entity_type,
            stored.entity_id,
            stored.event_type,
        )
        return {
            "store_id": stored.store_id,
            "sequence_number": stored.sequence_number,
            "payload": base64.b64encode(encrypt_blob(newest, payload_open(stored), aad)).decode(),
            "old_format": stored.payload_format,
            "old_key_id": stored.payload_key_id,
            "new_key_id": newest.key_id,
        }

    def skip(row: Row, exc: PayloadDecryptionError) -> SkippedRow:
        return _payload_skipped(tenant_id, row, exc)

    return _reseal_batch(
        tenant_id=tenant_id,
        select=SELECT_PAYLOADS_TO_REENCRYPT,
        update=UPDATE_REENCRYPTED_PAYLOADS,
        keyset={"after_store": after[0], "after_sequence": after[1]},
        batch_size=batch_size,
        reseal=reseal,
        skip=skip,
        position=lambda row: (row[0], row[1]),
    )


@transaction.atomic(durable=True)
def payload_reencrypt_batch(
    *, tenant_id: uuid.UUID, after: tuple[uuid.UUID, int] = _START, batch_size: int = 500
) -> RotationBatch[tuple[uuid.UUID, int]]:
    """Re-seal the next ``batch_size`` rows after ``after`` with the newest key (rows no key
    opens are skipped and reported).

    Hashes are untouched (they are over the plaintext). Locks: the rewritten rows, for the
    length of one batch.
    """
    return _payload_batch(tenant_id=tenant_id, after=after, batch_size=batch_size)


def states_to_reencrypt_count(*, tenant_id: uuid.UUID) -> int:
    """How many of the tenant's projected entity states are plain or sealed with an older key."""
    return _count(COUNT_STATES_TO_REENCRYPT, tenant_id)


def _state_batch(
    *, tenant_id: uuid.UUID, after: tuple[uuid.UUID, str, str] = _STATES_START, batch_size: int = 500
) -> RotationBatch[tuple[uuid.UUID, str, str]]:
    """:func:`state_reencrypt_batch`; caller holds the transaction."""

    def reseal(row: Row, newest: PayloadKey) -> dict[str, Any]:
        store_id, entity_type, entity_id, version, state, sealed, key_id = row
        entity = EntityKey(tenant_id, store_id, entity_type, entity_id)
        blob = state_seal(entity, state_open(entity, state, sealed, key_id), newest)
        return {
            "store_id": store_id,
            "entity_type": entity_type,
            "entity_id": entity_id,
            "old_version": version,
            "state_sealed": base64.b64encode(blob).decode(),
            "new_key_id": newest.key_id,
        }

    def skip(row: Row, exc: PayloadDecryptionError) -> SkippedRow:
        store_id, entity_type, entity_id, *_, key_id = row
        where = f"entity {entity_type}/{entity_id}"
        return SkippedRow(
            "entity_state.state_sealed", tenant_id, store_id, StreamKind.LEGACY, None, None, where, key_id, _why(exc)
        )

    return _reseal_batch(
        tenant_id=tenant_id,
        select=SELECT_STATES_TO_REENCRYPT,
        update=UPDATE_REENCRYPTED_STATES,
        keyset={"after_store": after[0], "after_type": after[1], "after_id": after[2]},
        batch_size=batch_size,
        reseal=reseal,
        skip=skip,
        position=lambda row: (row[0], row[1], row[2]),
    )


@transaction.atomic(durable=True)
def state_reencrypt_batch(
    *, tenant_id: uuid.UUID, after: tuple[uuid.UUID, str, str] = _STATES_START, batch_size: int = 500
) -> RotationBatch[tuple[uuid.UUID, str, str]]:
    """Re-seal the next ``batch_size`` entity states after ``after`` with the newest key (states
    no key opens are skipped and reported).

    A state the projection changes meanwhile is left alone (it is sealed with the newest key
    by then). Locks: the rewritten rows, for the length of one batch.
    """
    return _state_batch(tenant_id=tenant_id, after=after, batch_size=batch_size)


def rejected_bodies_to_reencrypt_count(*, tenant_id: uuid.UUID) -> int:
    """How many of the tenant's rejected legacy event bodies are plain or on an older key."""
    return _count(COUNT_REJECTED_BODIES_TO_REENCRYPT, tenant_id)


def _rejected_body_batch(*, tenant_id: uuid.UUID, after: int = 0, batch_size: int = 500) -> RotationBatch[int]:
    """:func:`rejected_body_reencrypt_batch`; caller holds the transaction."""

    def reseal(row: Row, newest: PayloadKey) -> dict[str, Any]:
        rejection_id, store_id, event_id, request_id, body, body_format, key_id = row
        where: dict[str, Any] = {
            "tenant_id": tenant_id,
            "store_id": store_id,
            "stream_kind": StreamKind.LEGACY,  # VES bodies stay as received
            "event_id": event_id,
            "request_id": request_id,
        }
        opened = rejected_body_open(body, body_format=body_format, body_key_id=key_id, **where)
        return {
            "rejection_id": rejection_id,
            "body": base64.b64encode(rejected_body_seal(opened, **where, key=newest)).decode(),
            "old_format": body_format,
            "old_key_id": key_id,
            "new_key_id": newest.key_id,
        }

    def skip(row: Row, exc: PayloadDecryptionError) -> SkippedRow:
        rejection_id, store_id, event_id, request_id, *_, key_id = row
        where = f"rejection {rejection_id} request {request_id}"
        return SkippedRow(
            "rejected_events.body", tenant_id, store_id, StreamKind.LEGACY, None, event_id, where, key_id, _why(exc)
        )

    return _reseal_batch(
        tenant_id=tenant_id,
        select=SELECT_REJECTED_BODIES_TO_REENCRYPT,
        update=UPDATE_REENCRYPTED_REJECTED_BODIES,
        keyset={"after": after},
        batch_size=batch_size,
        reseal=reseal,
        skip=skip,
        position=lambda row: int(row[0]),
    )


@transaction.atomic(durable=True)
def rejected_body_reencrypt_batch(*, tenant_id: uuid.UUID, after: int = 0, batch_size: int = 500) -> RotationBatch[int]:
    """Re-seal the next ``batch_size`` rejected legacy bodies after rejection ``after`` with the
    newest key (bodies no key opens are skipped and reported). Locks: the rewritten rows, for
    the length of one batch."""
    return _rejected_body_batch(tenant_id=tenant_id, after=after, batch_size=batch_size)


# --- A whole rotation of one tenant ----------------------------------------------------------


class RotationObserver(Protocol):
    """What :func:`payload_rotate` tells its caller as it goes (the command prints it)."""

    def started(self, table: RotationTable, total: int, key_id: int) -> None:
        """``total`` rows of ``table`` are plain or on an older key than ``key_id``."""

    def progressed(self, table: RotationTable, done: int, skipped: int, total: int) -> None:
        """A batch of ``table`` committed: ``done`` re-sealed and ``skipped`` skipped so far."""

    def skipped(self, row: SkippedRow) -> None:
        """``row`` does not open and was left as it was."""


# A run keeps at most this many skipped rows to report at its end (a tenant whose old key was
# removed too early skips every row; each is also reported to the observer as met).
SKIPPED_KEPT = 1000


@dataclass(frozen=True, slots=True)
class RotationPart:
    """What a rotation did to one table: re-sealed, skipped (how many, and the first of them the
    run kept: :data:`SKIPPED_KEPT` in all), and still not on the newest key when it was done with
    the table (the skipped rows, unless rows were written meanwhile)."""

    table: RotationTable
    resealed: int
    skipped: tuple[SkippedRow, ...]
    left: int
    skipped_count: int


@dataclass(frozen=True, slots=True)
class RotationResult:
    tenant_id: uuid.UUID
    key_id: int
    parts: tuple[RotationPart, ...]

    @property
    def skipped(self) -> tuple[SkippedRow, ...]:
        """The skipped rows kept (the first :data:`SKIPPED_KEPT`)."""
        return tuple(row for part in self.parts for row in part.skipped)

    @property
    def skipped_count(self) -> int:
        return sum(part.skipped_count for part in self.parts)


@dataclass(frozen=True, slots=True)
class _Walk:
    table: RotationTable
    count: Callable[..., int]
    batch: Callable[..., RotationBatch[Any]]
    start: Any  # the keyset position before the first row


_WALKS = (
    _Walk(RotationTable.EVENTS, payloads_to_reencrypt_count, _payload_batch, _START),
    _Walk(RotationTable.ENTITY_STATES, states_to_reencrypt_count, _state_batch, _STATES_START),
    _Walk(RotationTable.REJECTED_BODIES, rejected_bodies_to_reencrypt_count, _rejected_body_batch, 0),
)

AUDIT_ACTION = "payload.reencrypt"


def _audit(*, actor: str, tenant_id: uuid.UUID, key_id: int, resealed: dict[RotationTable, int], skipped: int) -> None:
    """The run's ``payload.reencrypt`` audit row. Caller holds the transaction of its last batch."""
    audit_record(
        actor=actor,
        action=AUDIT_ACTION,
        target_type="tenant",
        target_id=str(tenant_id),
        tenant_id=tenant_id,
        detail={"key_id": key_id, "resealed": {str(t): n for t, n in resealed.items()}, "skipped": skipped},
    )


#: How many rows already under the newest key id :func:`newest_key_check` opens.
NEWEST_KEY_SAMPLE = 16


@dataclass(frozen=True, slots=True)
class NewestKeyCheck:
    """What the payloads already sealed under the tenant's newest key id say of that key.

    ``opened``: one of them opens with it, so the service that wrote it held this material.
    ``mismatch``: every one sampled (up to :data:`NEWEST_KEY_SAMPLE`) fails to open, the first of
    them: the id names other material than the rows were sealed with (a key id given a new key,
    which a ring must never do), and a rotation would report 0 left while no row opens. Neither:
    no payload is sealed under that id yet, so nothing shows the service holds the key.
    """

    key_id: int
    opened: bool
    mismatch: SkippedRow | None


def newest_key_check(*, tenant_id: uuid.UUID) -> NewestKeyCheck:
    """Open up to :data:`NEWEST_KEY_SAMPLE` payloads sealed under the newest key id with the
    newest key (a row that alone does not open is altered, not a changed key). Reads only."""
    newest = _newest_key(tenant_id)
    params: dict[str, Any] = {"tenant_id": tenant_id, "newest_key_id": newest.key_id, "sample_size": NEWEST_KEY_SAMPLE}
    with connection.cursor() as cursor:
        cursor.execute(SELECT_PAYLOADS_ON_NEWEST_KEY, params)
        rows = cursor.fetchall()
    first: SkippedRow | None = None
    for row in rows:
        try:
            payload_open(_stored_payload(tenant_id, row))
        except PayloadDecryptionError as exc:
            first = first or _payload_skipped(tenant_id, row, exc)
            continue
        return NewestKeyCheck(newest.key_id, opened=True, mismatch=None)
    return NewestKeyCheck(newest.key_id, opened=False, mismatch=first)


def rotation_pending(*, tenant_id: uuid.UUID) -> dict[RotationTable, int]:
    """How many rows of each table a rotation would re-seal now (plain or on an older key)."""
    return {walk.table: walk.count(tenant_id=tenant_id) for walk in _WALKS}


def payload_rotate(*, tenant_id: uuid.UUID, batch_size: int, actor: str, observer: RotationObserver) -> RotationResult:
    """Re-seal every payload, entity state and rejected legacy body of the tenant that is plain
    or on an older key with its newest key, in the order of :data:`_WALKS`; rows no key opens
    are skipped (``observer.skipped`` as met, and in the result), never fatal.

    Not one transaction: each batch is its own short durable transaction (module docstring), so
    readers are never blocked and an interrupted run loses nothing. Audited: one
    ``payload.reencrypt`` row (``actor``; the key id, the rows re-sealed per table, the count
    skipped) in the transaction of the run's last batch, so it commits with the run's end; a run
    stopped before its end writes none (what it re-sealed is counted by no row; the next run's
    row counts what that one re-seals). Raises :class:`PayloadEncryptionUnavailableError` when
    the tenant has no key.
    """
    key = _newest_key(tenant_id)
    parts: list[RotationPart] = []
    for index, walk in enumerate(_WALKS):
        last_walk = index == len(_WALKS) - 1
        total = walk.count(tenant_id=tenant_id)
        observer.started(walk.table, total, key.key_id)
        done, after, skipped_count = 0, walk.start, 0
        skipped: list[SkippedRow] = []
        while True:
            with transaction.atomic(durable=True):
                batch = walk.batch(tenant_id=tenant_id, after=after, batch_size=batch_size)
                if batch.position is None and last_walk:
                    resealed = {part.table: part.resealed for part in parts} | {walk.table: done + batch.rewritten}
                    in_all = sum(part.skipped_count for part in parts) + skipped_count + len(batch.skipped)
                    _audit(actor=actor, tenant_id=tenant_id, key_id=key.key_id, resealed=resealed, skipped=in_all)
            done += batch.rewritten
            for row in batch.skipped:
                observer.skipped(row)
            skipped_count += len(batch.skipped)
            room = SKIPPED_KEPT - sum(len(part.skipped) for part in parts) - len(skipped)
            skipped.extend(batch.skipped[: max(room, 0)])
            if batch.rewritten or batch.skipped or not (done or skipped_count):  # not again for an empty last batch
                observer.progressed(walk.table, done, skipped_count, total)
            if batch.position is None:
                break
            after = batch.position
        parts.append(RotationPart(walk.table, done, tuple(skipped), walk.count(tenant_id=tenant_id), skipped_count))
    return RotationResult(tenant_id, key.key_id, tuple(parts))
