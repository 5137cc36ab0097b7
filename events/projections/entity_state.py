"""Built-in projection ``entity_state``: version, last event and merged state per entity.

Keyed by ``(tenant, store, entity_type, entity_id)``; consumes the legacy stream. ``version``
counts the events applied to the entity, ``state`` is the RFC 7386 merge of their payloads in
application order (:mod:`events.projections.merge`). A dead-lettered event retried later is
applied on top of the state at that time; ``last_sequence`` keeps the highest applied number.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from django.db import connection

from events.projections.merge import load_json, merge_patch
from events.projections.registry import ProjectionEvent
from events.sql import DELETE_ENTITY_STATE_STREAM, SELECT_ENTITY_STATE_FOR_UPDATE, UPSERT_ENTITY_STATE
from events.streams import StreamKind

ENTITY_STATE = "entity_state"


class EntityStateProjection:
    """The ``entity_state`` handler. Two statements per event: lock-and-read, then upsert."""

    name = ENTITY_STATE
    stream_kind = StreamKind.LEGACY

    def apply(self, event: ProjectionEvent) -> None:
        """Fold one event into its entity's row. Caller holds the transaction and stream lock."""
        key: dict[str, Any] = {
            "tenant_id": event.tenant_id,
            "store_id": event.store_id,
            "entity_type": event.entity_type,
            "entity_id": event.entity_id,
        }
        with connection.cursor() as cursor:
            cursor.execute(SELECT_ENTITY_STATE_FOR_UPDATE, key)
            row = cursor.fetchone()
            current = load_json(row[2]) if row is not None else None
            state = merge_patch(current, event.payload)
            cursor.execute(
                UPSERT_ENTITY_STATE,
                {
                    **key,
                    "sequence_number": event.sequence_number,
                    "event_id": event.event_id,
                    "event_type": event.event_type,
                    "state": orjson.dumps(state).decode(),
                },
            )

    def reset(self, *, tenant_id: uuid.UUID, store_id: uuid.UUID) -> None:
        """Drop the stream's entity rows. Caller holds the transaction and stream lock."""
        with connection.cursor() as cursor:
            cursor.execute(DELETE_ENTITY_STATE_STREAM, {"tenant_id": tenant_id, "store_id": store_id})
