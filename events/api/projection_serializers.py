"""Response shapes of the projection, lag and dead-letter endpoints (snake_case)."""

from __future__ import annotations

from typing import Any

from events.models import ProjectionDeadLetter
from events.projections.selectors import EntityStateRow, ProjectionLag


def lag_output(lag: ProjectionLag) -> dict[str, Any]:
    return {
        "projection": lag.projection,
        "store_id": lag.store_id,
        "head": lag.head,
        "checkpoint": lag.checkpoint,
        "lag": lag.lag,
        "updated_at": lag.updated_at,
    }


def entity_state_output(row: EntityStateRow, lag: ProjectionLag | None) -> dict[str, Any]:
    return {
        "entity_type": row.entity_type,
        "entity_id": row.entity_id,
        "version": row.version,
        "last_sequence": row.last_sequence,
        "last_event_id": row.last_event_id,
        "last_event_type": row.last_event_type,
        "state": row.state,
        "updated_at": row.updated_at,
        "projection": None if lag is None else lag_output(lag),
    }


def dead_letter_output(entry: ProjectionDeadLetter) -> dict[str, Any]:
    return {
        "id": entry.id,
        "projection": entry.projection,
        "tenant_id": entry.tenant_id,
        "store_id": entry.store_id,
        "stream_kind": entry.stream_kind,
        "sequence_number": entry.sequence_number,
        "event_id": entry.event_id,
        "error_class": entry.error_class,
        "error_message": entry.error_message,
        "attempts": entry.attempts,
        "status": entry.status,
        "next_retry_at": entry.next_retry_at,
        "first_failed_at": entry.first_failed_at,
        "last_failed_at": entry.last_failed_at,
        "resolved_at": entry.resolved_at,
    }
