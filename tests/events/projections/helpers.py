"""Helpers for projection tests: seeding a stream, a poison projection, snapshots."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any, TypeVar

import orjson
from django.db import connection

from events.projections.entity_state import EntityStateProjection
from events.projections.registry import Projection, ProjectionEvent, projection_register, projection_unregister
from events.projections.selectors import entity_state_get
from events.projections.state_crypto import EntityKey, state_open
from streams.kinds import StreamKind
from tests.conftest import IngestPoster, Persona, legacy_event

P = TypeVar("P", bound=Projection)


@contextlib.contextmanager
def registered(projection: P) -> Iterator[P]:
    """``projection`` registered for the block (the runner, the retries and the API find it by
    name), unregistered afterwards whatever happens."""
    projection_register(projection)
    try:
        yield projection
    finally:
        projection_unregister(projection.name)


def state_url(persona: Persona, entity_id: str = "order-1") -> str:
    """The state read of an ``order`` entity of ``persona``'s stream."""
    return f"/api/v1/entities/order/{entity_id}/state?tenant_id={persona.tenant_id}&store_id={persona.store_id}"


def state_answer(persona: Persona, entity_id: str = "order-1") -> Any:
    """The state read's answer (200 asserted): ``state``, ``version``, ``last_sequence``, …"""
    response = persona.client.get(state_url(persona, entity_id))
    assert response.status_code == 200, response.content
    return response.json()


def seed(persona: Persona, post_ingest: IngestPoster, payloads: list[Any], entity_id: str = "order-1") -> None:
    events = [legacy_event(persona.tenant_id, persona.store_id, entity_id=entity_id, payload=p) for p in payloads]
    response = post_ingest(persona.client, {"events": events})
    assert response.status_code == 200, response.content


class PoisonProjection(EntityStateProjection):
    """``entity_state`` semantics, but an event whose payload says ``"poison": true`` raises
    while ``cured`` is False. Registered under its own name, so it has its own checkpoint."""

    stream_kind = StreamKind.LEGACY

    def __init__(self, name: str = "poison_test") -> None:
        self.name = name
        self.cured = False
        self.failures = 0

    def merge(self, current: Any, event: ProjectionEvent) -> Any:
        if isinstance(event.payload, dict) and event.payload.get("poison") and not self.cured:
            self.failures += 1
            raise ValueError(f"cannot project event {event.sequence_number}")
        return super().merge(current, event)


def entity_rows(tenant_id: uuid.UUID, store_id: uuid.UUID) -> dict[tuple[str, str], tuple[Any, ...]]:
    """The stream's entity_state rows (without timestamps), keyed by entity; the state as
    PostgreSQL's jsonb text of it: opened first when it is sealed at rest, read as the API reads
    it (``entity_state_get``) when it is stored by reference to the entity's one event."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT entity_type, entity_id, version, last_sequence, last_event_id, last_event_type, state::text,"
            " state_sealed, state_key_id, state_event_sequence FROM entity_state"
            " WHERE tenant_id = %s AND store_id = %s",
            [tenant_id, store_id],
        )
        rows = cursor.fetchall()
        result: dict[tuple[str, str], tuple[Any, ...]] = {}
        for entity_type, entity_id, *columns, state, sealed, key_id, reference in rows:
            opened: Any = None
            if reference is not None:
                found = entity_state_get(
                    tenant_id=tenant_id, store_id=store_id, entity_type=entity_type, entity_id=entity_id
                )
                assert found is not None
                opened = found.state
            elif sealed is not None:
                opened = state_open(EntityKey(tenant_id, store_id, entity_type, entity_id), None, sealed, key_id)
            if reference is not None or sealed is not None:
                cursor.execute("SELECT %s::jsonb::text", [orjson.dumps(opened).decode()])
                state = cursor.fetchone()[0]
            result[(entity_type, entity_id)] = (*columns, state)
        return result


def checkpoint_of(projection: str, tenant_id: uuid.UUID, store_id: uuid.UUID) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT last_sequence FROM projection_checkpoints"
            " WHERE projection = %s AND tenant_id = %s AND store_id = %s",
            [projection, tenant_id, store_id],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 0
