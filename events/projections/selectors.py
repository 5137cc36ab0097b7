"""Reads of projected state, projection lag and dead letters. Never write."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection

from events.projections.entity_state import ENTITY_STATE
from events.projections.registry import Projection, projection_get, projections
from events.projections.state_crypto import EntityKey, state_of_row
from events.sql import (
    COUNT_DEAD_LETTERS_OPEN,
    COUNT_PROJECTION_STALLED,
    SELECT_ENTITY_STATE,
    SELECT_PROJECTION_LAG,
    SELECT_PROJECTION_LAG_MAX,
)
from sequencer_project.db.replica import read_cursor
from streams.kinds import StreamKind


@dataclass(frozen=True, slots=True)
class EntityStateRow:
    entity_type: str
    entity_id: str
    version: int
    last_sequence: int
    last_event_id: uuid.UUID
    last_event_type: str
    state: Any
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ProjectionLag:
    """A projection's position on one stream: ``lag = head - checkpoint`` events."""

    projection: str
    store_id: uuid.UUID
    head: int
    checkpoint: int
    updated_at: datetime | None

    @property
    def lag(self) -> int:
        return max(self.head - self.checkpoint, 0)


def entity_state_get(
    *, tenant_id: uuid.UUID, store_id: uuid.UUID, entity_type: str, entity_id: str
) -> EntityStateRow | None:
    """The ``entity_state`` row of one entity, or ``None`` when no event of it is projected yet."""
    params = {"tenant_id": tenant_id, "store_id": store_id, "entity_type": entity_type, "entity_id": entity_id}
    with read_cursor() as cursor:
        cursor.execute(SELECT_ENTITY_STATE, params)
        row = cursor.fetchone()
    if row is None:
        return None
    version, last_sequence, last_event_id, last_event_type, state, sealed, key_id, updated_at = row[:8]
    entity = EntityKey(tenant_id, store_id, entity_type, entity_id)
    state = state_of_row(entity, state, sealed, key_id, *row[8:])
    return EntityStateRow(
        entity_type, entity_id, version, last_sequence, last_event_id, last_event_type, state, updated_at
    )


@dataclass(frozen=True, slots=True)
class EntityStateWithLag:
    """An entity's projected state and the ``entity_state`` projection's position on its stream
    (``lag`` is ``None`` when that projection is not registered)."""

    state: EntityStateRow
    lag: ProjectionLag | None


def entity_state_with_lag_get(
    *, tenant_id: uuid.UUID, store_id: uuid.UUID, entity_type: str, entity_id: str
) -> EntityStateWithLag | None:
    """:func:`entity_state_get` and, when found, the ``entity_state`` projection's lag on the stream."""
    state = entity_state_get(tenant_id=tenant_id, store_id=store_id, entity_type=entity_type, entity_id=entity_id)
    if state is None:
        return None
    handler = projection_get(ENTITY_STATE)
    if handler is None:
        return EntityStateWithLag(state, None)
    lags = _lags(handlers=[handler], tenant_id=tenant_id, store_ids=[store_id])
    return EntityStateWithLag(state, lags[0] if lags else None)


def projection_lag_list(
    *, tenant_id: uuid.UUID, store_ids: Collection[uuid.UUID] | None = None, limit: int, offset: int = 0
) -> list[ProjectionLag]:
    """Registered projections' lags on the tenant's streams: those of ``store_ids`` (a
    store-scoped caller's, or the one store asked for), or every store (``None``); worst lag
    first, then by projection and store, ``limit`` of them after ``offset``. One statement: the
    stores, the order and the page are chosen in SQL."""
    return _lags(handlers=projections(), tenant_id=tenant_id, store_ids=store_ids, limit=limit, offset=offset)


def _lags(
    *,
    handlers: Iterable[Projection],
    tenant_id: uuid.UUID,
    store_ids: Collection[uuid.UUID] | None,
    limit: int | None = None,
    offset: int = 0,
) -> list[ProjectionLag]:
    """The projections' lags on the tenant's streams of ``store_ids`` (all when ``None``), worst
    first; at most ``limit`` (all when ``None``) after ``offset``."""
    registered = list(handlers)
    params = {
        "projections": [h.name for h in registered],
        "projection_kinds": [int(h.stream_kind) for h in registered],
        "tenant_id": tenant_id,
        "store_ids": None if store_ids is None else sorted(store_ids),
        "limit": limit,
        "offset": offset,
    }
    with read_cursor() as cursor:
        cursor.execute(SELECT_PROJECTION_LAG, params)
        rows = cursor.fetchall()
    return [ProjectionLag(row[0], row[1], int(row[2]), int(row[3]), row[4]) for row in rows]


def projection_lag_max() -> float | None:
    """The ``projection_lag_events`` gauge: the largest lag of any projection on any stream."""
    worst: int | None = None
    with connection.cursor() as cursor:
        for handler in projections():
            cursor.execute(
                SELECT_PROJECTION_LAG_MAX, {"projection": handler.name, "stream_kind": int(handler.stream_kind)}
            )
            value = int(cursor.fetchone()[0])
            worst = value if worst is None else max(worst, value)
    return None if worst is None else float(worst)


def dead_letter_open_count() -> float:
    """The ``dlq_size`` gauge: dead letters pending or parked."""
    with connection.cursor() as cursor:
        cursor.execute(COUNT_DEAD_LETTERS_OPEN)
        return float(cursor.fetchone()[0])


def projection_stalled_count() -> float:
    """The ``projection_stalled_streams`` gauge: streams whose head moves while a projection's
    checkpoint has not for ``PROJECTION_STALL_SECONDS`` (a missing payload key, a stopped worker)."""
    stalled = 0
    with connection.cursor() as cursor:
        for handler in projections():
            if handler.stream_kind is not StreamKind.LEGACY:
                continue
            cursor.execute(
                COUNT_PROJECTION_STALLED,
                {
                    "projection": handler.name,
                    "stream_kind": int(handler.stream_kind),
                    "stall_seconds": settings.PROJECTION_STALL_SECONDS,
                },
            )
            stalled += int(cursor.fetchone()[0])
    return float(stalled)


def projection_health() -> dict[str, Any]:
    """The ``projections`` component of ``/health/detailed``: degraded while a projection is
    stalled on some stream or dead letters are open (each needs an operator)."""
    stalled = int(projection_stalled_count())
    open_dead_letters = int(dead_letter_open_count())
    lag = projection_lag_max()
    return {
        "status": "degraded" if stalled or open_dead_letters else "healthy",
        "stalled_streams": stalled,
        "dead_letters_open": open_dead_letters,
        "max_lag_events": int(lag or 0),
        "stall_seconds": settings.PROJECTION_STALL_SECONDS,
    }
