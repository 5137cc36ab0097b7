"""Dead letters of projections: scheduled retries with backoff, retry-now and discard.

A pending entry is retried when ``next_retry_at`` passes (1 min doubling to 1 h by default);
its ``attempts`` counts every failed application. When ``attempts`` reaches
``PROJECTION_DLQ_MAX_ATTEMPTS`` it is *parked*: no more scheduled retries, an operator may
still retry or discard it. The projection never waits for an entry: it went on past it.
Operator actions (:func:`dead_letter_retry`, :func:`dead_letter_discard`) write the audit log
in the same transaction; they find the entry themselves (:func:`events.selectors.dead_letter_get_for_tenant`,
within the caller's tenant and store scope: 404 outside it). Every statement on an entry names its
tenant (the table is keyed ``(tenant_id, id)``: one shard when distributed, docs/scaling.md), so
another tenant's entry with the same id is never read, locked or written; only the bootstrap
admin's lookup (tenant ``None``) reads by id alone, then locks and writes under the tenant found.

Order. A projection consumes a stream in sequence order, so the entries of one *ordering unit*
(a projection on one stream: ``(projection, tenant, store)``, the unit of its checkpoint and of
its ``PROJECTION_STREAM`` lock) are applied in sequence order: the scheduled retry takes only the
first open entry of a unit (and, once that one is applied, the next due one, in the same run);
an operator's retry of a later entry while an earlier one is open is refused (409
``dead_letter_out_of_order``). A payload or state key missing from the tenant's ring holds the
entry (no attempt counted, the reason in ``error_message``) and with it the rest of its unit,
until the key is back; the run goes on with the other units (docs/projections.md).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from audit.services import audit_record
from events.errors import DeadLetterOutOfOrderError, UnknownProjectionError
from events.models import DeadLetterStatus, ProjectionDeadLetter
from events.payload_crypto import PayloadDecryptionError, PayloadEncryptionUnavailableError, PayloadKeyMissingError
from events.projections.registry import projection_event_from_row, projection_get
from events.selectors import dead_letter_get_for_tenant
from events.services.projections import (
    apply_in_savepoint,
    dead_letter_backoff,
    dead_letter_error,
    projection_lock_key,
)
from events.sql import SELECT_DEAD_LETTERS_DUE, SELECT_PROJECTION_EVENT
from sequencer_project.api.errors import DeadLetterClosedError
from sequencer_project.db.kept_cursor import fetch
from sequencer_project.db.locks import LockNamespace, advisory_xact_lock
from sequencer_project.db.tenant_scope import TenantScope
from sequencer_project.tenant_keys import tenant_row_update

logger = logging.getLogger(__name__)

OPEN = (DeadLetterStatus.PENDING, DeadLetterStatus.PARKED)

# A key missing from the tenant's ring (to open the event's payload or the entity's state, or to
# seal the state when sealing is required) says nothing about the event: the runner stalls the
# stream for it, and a retry holds the entry (no attempt counted) until the key is back.
KEY_MISSING: tuple[type[BaseException], ...] = (PayloadDecryptionError, PayloadEncryptionUnavailableError)
# What ends the whole scheduled run: the task's soft time limit, or a connection no longer usable
# (:func:`_connection_lost`); the next tick starts again. Any other failure, a statement timeout or
# a lock wait included (OperationalError, its transaction already rolled back), skips its unit.
_ABORT_RUN: tuple[type[BaseException], ...] = (InterfaceError, SoftTimeLimitExceeded)


def _connection_lost(exc: BaseException) -> bool:
    """Whether ``exc`` (an OperationalError) left the connection unusable, so every later entry
    of the run would fail too; one round trip, on this failure path only."""
    return isinstance(exc, OperationalError) and connection.connection is not None and not connection.is_usable()


RetryResult = Literal["applied", "failed", "held"]


@dataclass(frozen=True, slots=True)
class RetryOutcome:
    """A retry's entry as it is now; ``held``: not applied and no attempt counted (a payload
    key is missing from the ring; ``entry.error_message`` says which)."""

    entry: ProjectionDeadLetter
    succeeded: bool
    held: bool = False


def held_reason(exc: BaseException) -> str:
    """The stable, operator-readable reason a held entry keeps in ``error_message``: a code
    first (``payload_key_missing``, ``payload_unreadable``), then the key's id (never the key)."""
    after = "no attempt counted; held with its stream's later entries until the key is back"
    if isinstance(exc, PayloadEncryptionUnavailableError):
        return f"payload_key_missing: the tenant has no payload key to seal the entity's state with ({after})"
    key = getattr(exc, "key", "") or "key id not known"
    if isinstance(exc, PayloadKeyMissingError):
        return f"payload_key_missing: {key} is not in the tenant's payload keyring ({after})"
    return f"payload_unreadable: no key of the tenant's payload keyring opens the stored blob, {key} ({after})"


def _hold(entry: ProjectionDeadLetter, error_class: str, reason: str, now: datetime) -> None:
    """Record why ``entry`` was not retried, counting no attempt. A pending entry is due again at
    once (the next run looks again) but queues behind the entries due longer. Caller holds the
    transaction and the locks."""
    entry.error_class, entry.error_message = error_class[:200], reason[:4000]
    entry.last_failed_at = now
    if entry.status == DeadLetterStatus.PENDING:
        entry.next_retry_at = now
    tenant_row_update(entry, "error_class", "error_message", "last_failed_at", "next_retry_at")
    logger.warning(
        "dead letter %d (%s %s/%s#%d) held: %s",
        entry.id,
        entry.projection,
        entry.tenant_id,
        entry.store_id,
        entry.sequence_number,
        reason,
    )


def _retry_locked(entry: ProjectionDeadLetter, *, scheduled: bool) -> RetryResult:
    """Apply the entry's event again and update the row. Caller holds the transaction, the
    stream's advisory lock and the row lock. A manual retry of a parked entry keeps it parked
    on failure; a failure that reaches the maximum parks it. A key missing from the ring holds
    the entry (:func:`_hold`): the event's savepoint is rolled back, nothing else changes."""
    projection = projection_get(entry.projection)
    if projection is None:
        raise UnknownProjectionError(f"No projection named {entry.projection!r} is registered.")
    with connection.cursor() as cursor:
        cursor.execute(
            SELECT_PROJECTION_EVENT,
            {"tenant_id": entry.tenant_id, "store_id": entry.store_id, "sequence_number": entry.sequence_number},
        )
        row = cursor.fetchone()
    now = timezone.now()
    error: BaseException | None
    if row is None:
        error = LookupError(f"event #{entry.sequence_number} is not in the store")
    else:
        try:
            error = apply_in_savepoint(projection, projection_event_from_row(row, entry.tenant_id, entry.store_id))
        except KEY_MISSING as exc:
            _hold(entry, dead_letter_error(exc)[0], held_reason(exc), now)
            return "held"
    if error is None:
        entry.status = DeadLetterStatus.RESOLVED
        entry.resolved_at = now
        entry.next_retry_at = None
        tenant_row_update(entry, "status", "resolved_at", "next_retry_at")
        return "applied"
    entry.attempts += 1
    entry.error_class, entry.error_message = dead_letter_error(error)
    entry.last_failed_at = now
    if entry.attempts >= settings.PROJECTION_DLQ_MAX_ATTEMPTS or (
        not scheduled and entry.status == DeadLetterStatus.PARKED
    ):
        entry.status = DeadLetterStatus.PARKED
        entry.next_retry_at = None
    else:
        entry.next_retry_at = now + dead_letter_backoff(entry.attempts)
    tenant_row_update(entry, "attempts", "error_class", "error_message", "last_failed_at", "status", "next_retry_at")
    return "failed"


def _first_open(entry: ProjectionDeadLetter) -> tuple[int, str, datetime | None] | None:
    """``(id, status, next_retry_at)`` of the first open entry (lowest sequence number) of
    ``entry``'s ordering unit, ``entry`` itself when none is earlier. Caller holds the unit's
    ``PROJECTION_STREAM`` lock (no entry of it is written meanwhile). Index: a range of
    ``dead_letter_event_unique`` (tenant_id, projection, store_id, sequence_number)."""
    unit = ProjectionDeadLetter.objects.filter(
        tenant_id=entry.tenant_id, projection=entry.projection, store_id=entry.store_id, status__in=OPEN
    )
    return unit.order_by("sequence_number").values_list("id", "status", "next_retry_at").first()


def _lock_entry(
    tenant_id: TenantScope, dead_letter_id: int, store_ids: Collection[uuid.UUID] | None = None
) -> ProjectionDeadLetter:
    """The entry (404 outside ``tenant_id`` and ``store_ids``), locked: stream advisory lock first,
    then the row under the entry's tenant (house lock order). Caller holds the transaction."""
    found = dead_letter_get_for_tenant(tenant_id=tenant_id, dead_letter_id=dead_letter_id, store_ids=store_ids)
    advisory_xact_lock(
        LockNamespace.PROJECTION_STREAM, projection_lock_key(found.projection, found.tenant_id, found.store_id)
    )
    entries = ProjectionDeadLetter.objects.filter(tenant_id=found.tenant_id, id=found.id)
    return entries.select_for_update(no_key=True).get()


def _lock_open_entry(
    tenant_id: TenantScope, dead_letter_id: int, store_ids: Collection[uuid.UUID] | None
) -> ProjectionDeadLetter:
    """:func:`_lock_entry`, then 409 ``dead_letter_closed`` unless the entry is pending or parked."""
    entry = _lock_entry(tenant_id, dead_letter_id, store_ids)
    if entry.status not in OPEN:
        raise DeadLetterClosedError(f"Dead-letter entry {dead_letter_id} is {entry.status}.")
    return entry


def _audit(entry: ProjectionDeadLetter, action: str, *, actor: str, detail: dict[str, Any]) -> None:
    """Record the operator ``action`` on ``entry`` in the audit log, in the caller's transaction."""
    audit_record(
        actor=actor,
        action=action,
        target_type="dead_letter",
        target_id=str(entry.id),
        tenant_id=entry.tenant_id,
        detail=detail,
    )


@transaction.atomic(durable=True)
def dead_letter_retry(
    *,
    tenant_id: TenantScope,
    dead_letter_id: int,
    actor: str,
    store_ids: Collection[uuid.UUID] | None = None,
) -> RetryOutcome:
    """Retry an open entry of ``tenant_id`` now (operator action), whatever its schedule. Audited.

    ``tenant_id`` ``EVERY_TENANT`` (the bootstrap admin) finds the entry in any tenant; ``store_ids``
    (a store-scoped caller's stores; ``None``: every store) narrows it further. Transaction
    boundary; locks the stream then the row. 404 ``dead_letter_not_found`` for an id outside
    that scope; 409 ``dead_letter_closed`` when the entry is already resolved or discarded.
    """
    entry = _lock_open_entry(tenant_id, dead_letter_id, store_ids)
    first = _first_open(entry)
    if first is not None and first[0] != entry.id:
        raise DeadLetterOutOfOrderError(
            f"Dead-letter entry {first[0]}, an earlier event of the same projection and stream, is still open:"
            f" retry or discard it before entry {entry.id}.",
            earlier_dead_letter_id=first[0],
        )
    result = _retry_locked(entry, scheduled=False)
    detail: dict[str, Any] = {"succeeded": result == "applied", "status": entry.status, "attempts": entry.attempts}
    if result == "held":
        detail["held"] = entry.error_message
    _audit(entry, "dead_letter.retry", actor=actor, detail=detail)
    return RetryOutcome(entry, result == "applied", held=result == "held")


@transaction.atomic(durable=True)
def dead_letter_discard(
    *,
    tenant_id: TenantScope,
    dead_letter_id: int,
    actor: str,
    store_ids: Collection[uuid.UUID] | None = None,
) -> ProjectionDeadLetter:
    """Give up on an open entry of ``tenant_id``: it is never retried again. Audited. Transaction
    boundary; scope, 404 and 409 as :func:`dead_letter_retry`."""
    entry = _lock_open_entry(tenant_id, dead_letter_id, store_ids)
    entry.status = DeadLetterStatus.DISCARDED
    entry.resolved_at = timezone.now()
    entry.next_retry_at = None
    tenant_row_update(entry, "status", "resolved_at", "next_retry_at")
    _audit(entry, "dead_letter.discard", actor=actor, detail={"attempts": entry.attempts})
    return entry


def dead_letter_retry_due(*, limit: int) -> int:
    """Retry the due pending entries, each unit's in sequence order; how many were retried
    (applied or failed again; held ones are not counted), at most ``limit``.

    The scan reads every tenant (a beat tick) and lists only the first open entry of each
    ordering unit (``select_dead_letters_due.sql``); each entry is then its own transaction under
    its tenant. Once one is applied, the unit's next open entry, if due, follows in the same run;
    one that fails again, or is held (a payload key missing from the ring: recorded as its
    ``error_message``, no attempt counted), holds the rest of its unit until a later run. A unit
    whose retry raises is logged and left as it was, and the run goes on with the others: only a
    lost database connection or the task's soft time limit ends it (the next tick starts again).
    An entry another worker holds is waited for, then skipped once found handled. Idempotent.
    """
    due = fetch(SELECT_DEAD_LETTERS_DUE, {"now": timezone.now(), "limit": limit})
    done = 0
    for tenant_id, dead_letter_id in due:
        if done >= limit:
            break
        done += _retry_unit(tenant_id, dead_letter_id, limit - done)
    return done


def _retry_unit(tenant_id: uuid.UUID, dead_letter_id: int, budget: int) -> int:
    """Retry a unit's due entries from ``dead_letter_id`` (its first open one) in order, each in
    its own transaction, until one is not applied, none is due, or ``budget`` is spent."""
    done = 0
    entry_id: int | None = dead_letter_id
    while entry_id is not None and done < budget:
        try:
            result, entry_id = _retry_due_entry(tenant_id, entry_id)
        except _ABORT_RUN:
            raise
        except Exception as exc:  # one unit's failure must not hold the other units' entries back
            if _connection_lost(exc):
                raise
            logger.exception("dead letter %d of tenant %s: scheduled retry failed; unit skipped", entry_id, tenant_id)
            return done
        done += result in ("applied", "failed")
    return done


@transaction.atomic(durable=True)
def _retry_due_entry(tenant_id: uuid.UUID, dead_letter_id: int) -> tuple[RetryResult | None, int | None]:
    """Retry one due entry, the first open one of its unit; ``(result, next)``: ``None`` when it
    was handled meanwhile, and the unit's next open entry when this one was applied and that one
    is due. Transaction boundary; locks the stream, then the row."""
    entry = _lock_entry(tenant_id, dead_letter_id)
    now = timezone.now()
    if entry.status != DeadLetterStatus.PENDING or entry.next_retry_at is None or entry.next_retry_at > now:
        return None, None  # resolved, discarded, parked or retried meanwhile
    first = _first_open(entry)
    if first is None or first[0] != entry.id:
        return None, None  # an earlier entry of its unit is open (re-opened by a rebuild, say): held behind it
    if projection_get(entry.projection) is None:
        missing = UnknownProjectionError(f"No projection named {entry.projection!r} is registered.")
        _hold(entry, dead_letter_error(missing)[0], f"unknown_projection: {missing}", now)
        return "held", None
    result = _retry_locked(entry, scheduled=True)
    if result != "applied":
        return result, None  # the unit's later entries stay held
    following = _first_open(entry)
    if following is None:
        return result, None
    next_id, status, next_retry_at = following
    due = status == DeadLetterStatus.PENDING and next_retry_at is not None and next_retry_at <= timezone.now()
    return result, next_id if due else None
