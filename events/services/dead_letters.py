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
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit.services import audit_record
from events.errors import UnknownProjectionError
from events.models import DeadLetterStatus, ProjectionDeadLetter
from events.projections.registry import projection_get
from events.selectors import dead_letter_get_for_tenant
from events.services.projections import (
    apply_in_savepoint,
    dead_letter_backoff,
    dead_letter_error,
    projection_event_from_row,
    projection_lock_key,
)
from events.sql import SELECT_PROJECTION_EVENT
from sequencer_project.api.errors import DeadLetterClosedError
from sequencer_project.db.locks import LockNamespace, advisory_xact_lock
from sequencer_project.db.tenant_scope import TenantScope
from sequencer_project.tenant_keys import tenant_row_update

logger = logging.getLogger(__name__)

OPEN = (DeadLetterStatus.PENDING, DeadLetterStatus.PARKED)


@dataclass(frozen=True, slots=True)
class RetryOutcome:
    entry: ProjectionDeadLetter
    succeeded: bool


def _retry_locked(entry: ProjectionDeadLetter, *, scheduled: bool) -> bool:
    """Apply the entry's event again and update the row. Caller holds the transaction, the
    stream's advisory lock and the row lock. A manual retry of a parked entry keeps it parked
    on failure; a failure that reaches the maximum parks it."""
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
        error = apply_in_savepoint(projection, projection_event_from_row(row, entry.tenant_id, entry.store_id))
    if error is None:
        entry.status = DeadLetterStatus.RESOLVED
        entry.resolved_at = now
        entry.next_retry_at = None
        tenant_row_update(entry, "status", "resolved_at", "next_retry_at")
        return True
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
    return False


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
    succeeded = _retry_locked(entry, scheduled=False)
    _audit(
        entry,
        "dead_letter.retry",
        actor=actor,
        detail={"succeeded": succeeded, "status": entry.status, "attempts": entry.attempts},
    )
    return RetryOutcome(entry, succeeded)


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
    """Retry the pending entries whose ``next_retry_at`` has passed; how many were retried.

    The scan reads every tenant (a beat tick); each entry is then its own transaction under its
    tenant. An entry another worker holds is waited for, then skipped once found handled.
    """
    due = list(
        ProjectionDeadLetter.objects.filter(status=DeadLetterStatus.PENDING, next_retry_at__lte=timezone.now())
        .order_by("next_retry_at")
        .values_list("tenant_id", "id")[:limit]
    )
    done = 0
    for tenant_id, dead_letter_id in due:
        with transaction.atomic(durable=True):
            entry = _lock_entry(tenant_id, dead_letter_id)
            if entry.status != DeadLetterStatus.PENDING or entry.next_retry_at is None:
                continue  # resolved or discarded meanwhile
            if entry.next_retry_at > timezone.now():
                continue
            _retry_locked(entry, scheduled=True)
            done += 1
    return done
