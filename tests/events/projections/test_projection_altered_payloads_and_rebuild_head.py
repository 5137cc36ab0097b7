"""Incremental projection and rebuild agree on payloads altered at rest, and a rebuild ends at the
head it read (docs/projections.md, "Exactly once" step 2 and "Rebuilding"; ADR 0036).

A sealed payload an entity's state refers to is authenticated when first opened (ADR 0049): a
read of the state fails as the read of the event does, and the entity's next event dead-letters
the altered one and folds the entity from nothing, in the runner as in a rebuild. Rows are
tampered with in SQL, as an attacker or a broken restore would.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from django.db import close_old_connections, connection
from django.test import override_settings

from audit.models import AuditLogEntry
from events.models import DeadLetterStatus, ProjectionDeadLetter
from events.projections.entity_state import ENTITY_STATE, EntityStateProjection
from events.projections.merge import merge_patch
from events.projections.registry import ProjectionEvent, UnreadablePayloadError
from events.projections.selectors import entity_state_get
from events.services.projections import projection_advance, projection_rebuild, projection_run_all
from tests.conftest import IngestPoster, Persona
from tests.events.projections.helpers import (
    checkpoint_of,
    entity_rows,
    registered,
    seed,
    state_answer,
    state_url,
)

KEY_1 = "1:" + "11" * 32
SEALED = {"PAYLOAD_ENCRYPTION_MODE": "required", "PAYLOAD_ENCRYPTION_KEYS": KEY_1}
UNREADABLE = f"{UnreadablePayloadError.__module__}.{UnreadablePayloadError.__qualname__}"


TAMPERS = {
    # Byte 20 lies in the ciphertext ("SSE1" + 12-byte nonce = 16 bytes before it).
    "ciphertext byte": "UPDATE events SET payload = set_byte(payload, 20, get_byte(payload, 20) # 1)"
    " WHERE tenant_id = %s AND store_id = %s AND sequence_number = %s",
    "blob cut short": "UPDATE events SET payload = substring(payload FROM 1 FOR 10)"
    " WHERE tenant_id = %s AND store_id = %s AND sequence_number = %s",
}


def _tamper(persona: Persona, seq: int, how: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(TAMPERS[how], [persona.tenant_id, persona.store_id, seq])


def _open_dead_letters(persona: Persona, projection: str = ENTITY_STATE) -> list[tuple[int, str]]:
    return list(
        ProjectionDeadLetter.objects.filter(
            tenant_id=persona.tenant_id,
            store_id=persona.store_id,
            projection=projection,
            status__in=(DeadLetterStatus.PENDING, DeadLetterStatus.PARKED),
        )
        .order_by("sequence_number")
        .values_list("sequence_number", "error_class")
    )


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["ciphertext byte", "blob cut short"])
def test_an_altered_first_event_of_a_new_entity_is_dead_lettered_by_its_next_event_and_rebuild_agrees(
    owner: Persona, post_ingest: IngestPoster, how: str
) -> None:
    with override_settings(**SEALED):
        seed(owner, post_ingest, [{"total": 1}], entity_id="E1")  # 1: altered below, before any tick
        seed(owner, post_ingest, [{"total": 2}], entity_id="E2")  # 2: a sound reference beside it
        _tamper(owner, 1, how)
        projection_run_all(batch_size=100, time_budget_seconds=30)

        # Both written by reference, unopened: E1's state reads as its event does.
        assert _open_dead_letters(owner) == []
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT entity_id, version, state_event_sequence FROM entity_state"
                " WHERE tenant_id = %s AND store_id = %s ORDER BY entity_id",
                [owner.tenant_id, owner.store_id],
            )
            assert cursor.fetchall() == [("E1", 1, 1), ("E2", 1, 2)]
        response = owner.client.get(state_url(owner, "E1"))
        assert (response.status_code, response["Content-Type"]) == (500, "application/problem+json")
        assert (response.json()["code"], response.json()["status"]) == ("payload_integrity", 500)

        seed(owner, post_ingest, [{"status": "paid"}], entity_id="E1")  # 3: opens E1's reference
        seed(owner, post_ingest, [{"status": "sent"}], entity_id="E2")  # 4
        projection_run_all(batch_size=100, time_budget_seconds=30)

        assert checkpoint_of(ENTITY_STATE, owner.tenant_id, owner.store_id) == 4
        assert _open_dead_letters(owner) == [(1, UNREADABLE)]  # the altered event, not the valid one
        first = state_answer(owner, "E1")
        assert (first["state"], first["version"], first["last_sequence"]) == ({"status": "paid"}, 1, 3)
        second = state_answer(owner, "E2")
        assert (second["state"], second["version"]) == ({"total": 2, "status": "sent"}, 2)
        incremental = entity_rows(owner.tenant_id, owner.store_id)

        # A rebuild in one batch (E1's events merged together) and one event a batch (each of
        # them stored by reference first): the same rows, the same open dead letter.
        for batch_size in (100, 1):
            projection_rebuild(
                projection=ENTITY_STATE,
                tenant_id=owner.tenant_id,
                store_id=owner.store_id,
                batch_size=batch_size,
                actor="test",
            )
            assert entity_rows(owner.tenant_id, owner.store_id) == incremental, batch_size
            assert _open_dead_letters(owner) == [(1, UNREADABLE)], batch_size


class _RacingProjection(EntityStateProjection):
    """``entity_state`` under its own name whose every batch, while ``racing``, has another
    thread (its own database connection) ingest one more event and waits until it committed: the
    stream's head moves under a rebuild at each of its batches."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.racing = False
        self.ask = threading.Event()
        self.done = threading.Event()
        self.batches = 0

    def apply_many(
        self, events: Sequence[ProjectionEvent], *, referred: bool = False
    ) -> list[tuple[ProjectionEvent, Exception]]:
        if self.racing and self.batches < 200:  # the old loop chased the head for ever: bound it here
            self.batches += 1
            self.done.clear()
            self.ask.set()
            assert self.done.wait(30), "the ingesting thread did not answer"
        return super().apply_many(events, referred=referred)


@pytest.fixture
def racing() -> Iterator[_RacingProjection]:
    with registered(_RacingProjection(f"racing_{uuid.uuid4().hex[:8]}")) as projection:
        yield projection


def _head(persona: Persona) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT max(sequence_number) FROM events WHERE tenant_id = %s AND store_id = %s",
            [persona.tenant_id, persona.store_id],
        )
        return int(cursor.fetchone()[0] or 0)


@pytest.mark.django_db(transaction=True)
def test_a_rebuild_under_steady_ingest_ends_at_the_head_it_read_and_the_runner_applies_the_rest(
    owner: Persona, post_ingest: IngestPoster, racing: _RacingProjection
) -> None:
    payloads: list[tuple[str, dict[str, int]]] = []

    def ingest(entity_id: str, n: int) -> None:
        seed(owner, post_ingest, [{"n": n, entity_id: n}], entity_id=entity_id)
        payloads.append((entity_id, {"n": n, entity_id: n}))

    stop = threading.Event()

    def ingest_on_demand() -> None:  # the racing writer, on a connection of its own
        try:
            n = 100
            while not stop.is_set():
                if racing.ask.wait(0.05):
                    racing.ask.clear()
                    n += 1
                    ingest(f"order-{n % 3}", n)
                    racing.done.set()
        finally:
            close_old_connections()
            connection.close()

    with override_settings(**SEALED):
        for n in range(10):
            ingest(f"order-{n % 3}", n)
        projection_advance(projection=racing.name, tenant_id=owner.tenant_id, store_id=owner.store_id, batch_size=100)
        writer = threading.Thread(target=ingest_on_demand, daemon=True)
        writer.start()
        racing.racing = True
        try:
            result = projection_rebuild(
                projection=racing.name, tenant_id=owner.tenant_id, store_id=owner.store_id, batch_size=2, actor="test"
            )
        finally:
            racing.racing = False
            stop.set()
            writer.join(10)

        assert result.checkpoint == 10  # the head when the rebuild took the lock
        assert racing.batches == 5  # ten events, two a batch: it did not chase the new ones
        assert _head(owner) == 15  # each batch saw an event committed past that head
        assert checkpoint_of(racing.name, owner.tenant_id, owner.store_id) == 10
        audit = AuditLogEntry.objects.filter(tenant_id=owner.tenant_id, action="projection.rebuild").get()
        assert audit.detail["checkpoint"] == 10

        after = projection_advance(
            projection=racing.name, tenant_id=owner.tenant_id, store_id=owner.store_id, batch_size=100
        )
        assert (after.applied, after.checkpoint) == (5, 15)
        for entity_id in ("order-0", "order-1", "order-2"):
            expected: Any = None
            for owner_id, payload in payloads:
                if owner_id == entity_id:
                    expected = merge_patch(expected, payload)
            found = entity_state_get(
                tenant_id=owner.tenant_id, store_id=owner.store_id, entity_type="order", entity_id=entity_id
            )
            assert found is not None
            assert found.state == expected, entity_id
        incremental = entity_rows(owner.tenant_id, owner.store_id)
        projection_rebuild(
            projection=racing.name, tenant_id=owner.tenant_id, store_id=owner.store_id, batch_size=100, actor="test"
        )
        assert entity_rows(owner.tenant_id, owner.store_id) == incremental
