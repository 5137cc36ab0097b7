"""An entity of one event stores its state by reference to that event (ADR 0036).

The row names the event (``state_event_sequence``) and holds no state; readers merge its payload
into nothing. The entity's next event turns the row into a merged, sealed state. Whatever the
form, the API answers the RFC 7386 fold of the entity's payloads (the property test of
``test_projection_runner.py`` covers any batching).
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from django.db import IntegrityError, connection, transaction
from django.test import override_settings

from events.projections.entity_state import ENTITY_STATE, EntityStateProjection
from events.projections.registry import ProjectionEvent
from events.services.projections import projection_advance, projection_run_all
from tests.conftest import IngestPoster, Persona
from tests.events.projections.helpers import checkpoint_of, registered, seed, state_answer

pytestmark = pytest.mark.django_db

OTHER_KEY = "2:" + "cd" * 32


def _project(persona: Persona, projection: str = ENTITY_STATE) -> None:
    projection_advance(projection=projection, tenant_id=persona.tenant_id, store_id=persona.store_id, batch_size=100)


def _row(persona: Persona, entity_id: str = "order-1") -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT version, last_sequence, state::text, state_sealed, state_key_id, state_event_sequence"
            " FROM entity_state WHERE tenant_id = %s AND store_id = %s AND entity_type = 'order' AND entity_id = %s",
            [persona.tenant_id, persona.store_id, entity_id],
        )
        names = [c.name for c in cursor.description]
        return dict(zip(names, cursor.fetchone(), strict=True))


def test_an_entity_of_one_event_refers_to_it_and_reads_as_its_payload_merged_into_nothing(
    owner: Persona, post_ingest: IngestPoster
) -> None:
    seed(owner, post_ingest, [{"total": 1, "gone": None, "lines": {"a": 2, "b": None}}])

    _project(owner)

    row = _row(owner)
    assert row == {
        "version": 1,
        "last_sequence": 1,
        "state": None,
        "state_sealed": None,
        "state_key_id": None,
        "state_event_sequence": 1,
    }
    answer = state_answer(owner)
    assert answer["state"] == {"total": 1, "lines": {"a": 2}}
    assert (answer["version"], answer["last_sequence"]) == (1, 1)


def test_the_entity_s_next_event_merges_onto_the_referred_payload_and_seals_the_result(
    owner: Persona, post_ingest: IngestPoster
) -> None:
    seed(owner, post_ingest, [{"total": 1, "status": "new"}])
    _project(owner)
    seed(owner, post_ingest, [{"status": "paid", "total": None}])

    _project(owner)

    row = _row(owner)
    assert (row["version"], row["last_sequence"], row["state_event_sequence"]) == (2, 2, None)
    assert row["state_sealed"] is not None
    assert b"paid" not in bytes(row["state_sealed"])
    assert state_answer(owner)["state"] == {"status": "paid"}


def test_an_entity_with_several_events_in_one_batch_is_merged_at_once(
    owner: Persona, post_ingest: IngestPoster
) -> None:
    seed(owner, post_ingest, [{"total": 1}, {"status": "paid"}])

    _project(owner)

    row = _row(owner)
    assert (row["version"], row["state_event_sequence"]) == (2, None)
    assert row["state_sealed"] is not None
    assert state_answer(owner)["state"] == {"total": 1, "status": "paid"}


def test_a_first_event_is_projected_without_opening_its_payload(
    owner: Persona, post_ingest: IngestPoster, settings: Any
) -> None:
    seed(owner, post_ingest, [{"total": 1}], entity_id="order-1")
    seed(owner, post_ingest, [{"total": 2}], entity_id="order-2")
    settings.PAYLOAD_ENCRYPTION_KEYS_BY_TENANT = orjson.dumps({str(owner.tenant_id): OTHER_KEY}).decode()

    projection_run_all(batch_size=100, time_budget_seconds=30)  # no key of the ring opens them

    assert checkpoint_of(ENTITY_STATE, owner.tenant_id, owner.store_id) == 2
    assert _row(owner, "order-2")["state_event_sequence"] == 2

    # The entity's next event needs the referred payload: the stream stalls until the key is back.
    seed(owner, post_ingest, [{"status": "paid"}], entity_id="order-1")
    projection_run_all(batch_size=100, time_budget_seconds=30)
    assert checkpoint_of(ENTITY_STATE, owner.tenant_id, owner.store_id) == 2
    settings.PAYLOAD_ENCRYPTION_KEYS_BY_TENANT = orjson.dumps(
        {str(owner.tenant_id): f"{OTHER_KEY},{settings.PAYLOAD_ENCRYPTION_KEYS}"}
    ).decode()
    projection_run_all(batch_size=100, time_budget_seconds=30)
    assert checkpoint_of(ENTITY_STATE, owner.tenant_id, owner.store_id) == 3
    assert state_answer(owner, "order-1")["state"] == {"total": 1, "status": "paid"}
    assert state_answer(owner, "order-2")["state"] == {"total": 2}


@override_settings(PAYLOAD_ENCRYPTION_MODE="disabled")
def test_plain_payloads_are_referred_to_as_well(owner: Persona, post_ingest: IngestPoster) -> None:
    seed(owner, post_ingest, [["a", "list", "replaces"]])

    _project(owner)

    assert _row(owner)["state_event_sequence"] == 1
    assert state_answer(owner)["state"] == ["a", "list", "replaces"]


class _CountingProjection(EntityStateProjection):
    """A subclass with its own merge: every state is its merge, never a reference."""

    def __init__(self) -> None:
        self.name = "counting_test"

    def merge(self, current: Any, event: ProjectionEvent) -> Any:
        return {"events": (current or {}).get("events", 0) + 1, "last": event.payload}


def test_a_projection_with_its_own_merge_never_stores_a_reference(owner: Persona, post_ingest: IngestPoster) -> None:
    with registered(_CountingProjection()) as counting:
        seed(owner, post_ingest, [{"total": 1}])
        _project(owner, counting.name)

    row = _row(owner)
    assert row["state_event_sequence"] is None
    assert state_answer(owner)["state"] == {"events": 1, "last": {"total": 1}}


def test_the_table_refuses_a_reference_on_an_entity_of_several_events(
    owner: Persona, post_ingest: IngestPoster
) -> None:
    seed(owner, post_ingest, [{"total": 1}, {"status": "paid"}])
    _project(owner)

    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE entity_state SET state_event_sequence = last_sequence, state = NULL, state_sealed = NULL,"
            " state_key_id = NULL WHERE tenant_id = %s AND store_id = %s",
            [owner.tenant_id, owner.store_id],
        )


def test_a_stream_of_new_entities_is_read_back_exactly(owner: Persona, post_ingest: IngestPoster) -> None:
    payloads = [{"n": n, "tag": f"t{n}", "drop": None} for n in range(30)]
    for n, payload in enumerate(payloads):
        seed(owner, post_ingest, [payload], entity_id=f"order-{n}")

    projection_run_all(batch_size=7, time_budget_seconds=30)

    assert checkpoint_of(ENTITY_STATE, owner.tenant_id, owner.store_id) == 30
    states = [state_answer(owner, f"order-{n}")["state"] for n in range(30)]
    assert states == [{"n": n, "tag": f"t{n}"} for n in range(30)]
