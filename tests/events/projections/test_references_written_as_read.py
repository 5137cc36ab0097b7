"""The runner writes a range's new one-event entities by reference as it reads it (ADR 0049).

``entity_state`` with the built-in merge: one statement locks the checkpoints, writes every entity
of the range with one event there and no row yet by reference, and hands the handler only the
other events. These tests hold what that must keep: the rows a merge of every event would give
(the model below), no event applied twice when a merge fails and the streams are applied again
the usual way, and a hole in a range stalling its stream with nothing written.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings

from events.projections.entity_state import ENTITY_STATE, EntityStateProjection
from events.projections.merge import merge_patch
from events.projections.registry import ProjectionEvent
from events.services.projections import projection_advance, projection_run_all
from tests.conftest import IngestPoster, Persona, api_client, legacy_event
from tests.events.projections.helpers import checkpoint_of, state_answer

KEY_1 = "1:" + "11" * 32
KEY_2 = "2:" + "22" * 32
SEALED = {"PAYLOAD_ENCRYPTION_MODE": "required", "PAYLOAD_ENCRYPTION_KEYS": KEY_1}


@pytest.fixture
def handed(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, bool]]:
    """The sequence numbers ``entity_state`` is handed by the runner, with ``referred``."""
    seen: list[tuple[int, bool]] = []
    apply_many = EntityStateProjection.apply_many

    def spy(
        self: EntityStateProjection, events: Sequence[ProjectionEvent], *, referred: bool = False
    ) -> list[tuple[ProjectionEvent, Exception]]:
        seen.extend((e.sequence_number, referred) for e in events)
        return apply_many(self, events, referred=referred)

    monkeypatch.setattr(EntityStateProjection, "apply_many", spy)
    return seen


def _ingest(persona: Persona, post_ingest: IngestPoster, events: list[tuple[str, dict[str, Any]]]) -> None:
    body = [legacy_event(persona.tenant_id, persona.store_id, entity_id=e, payload=p) for e, p in events]
    response = post_ingest(persona.client, {"events": body})
    assert response.status_code == 200, response.content


def _rows(persona: Persona) -> dict[str, tuple[int, int, int | None]]:
    """entity id -> (version, last_sequence, state_event_sequence)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT entity_id, version, last_sequence, state_event_sequence FROM entity_state"
            " WHERE tenant_id = %s AND store_id = %s",
            [persona.tenant_id, persona.store_id],
        )
        return {row[0]: (row[1], row[2], row[3]) for row in cursor.fetchall()}


def _second_store(owner: Persona) -> Persona:
    return Persona(owner.tenant, uuid.uuid4(), owner.key, api_client(owner.key))


@pytest.mark.django_db
def test_only_the_events_of_entities_with_a_row_or_several_events_reach_the_handler(
    owner: Persona, post_ingest: IngestPoster, handed: list[tuple[int, bool]]
) -> None:
    with override_settings(**SEALED):
        _ingest(owner, post_ingest, [("E3", {"a": 1})])  # 1
        projection_run_all(batch_size=100, time_budget_seconds=30)
        assert handed == []  # E3's one event: written by reference as read
        assert _rows(owner) == {"E3": (1, 1, 1)}

        # 2: a new entity of one event; 3, 4: a new entity of two; 5: E3's next event.
        _ingest(owner, post_ingest, [("E1", {"a": 1}), ("E2", {"a": 1}), ("E2", {"b": 2}), ("E3", {"a": None, "c": 3})])
        projection_run_all(batch_size=100, time_budget_seconds=30)

    assert handed == [(3, True), (4, True), (5, True)]
    assert _rows(owner) == {"E1": (1, 2, 2), "E2": (2, 4, None), "E3": (2, 5, None)}
    assert checkpoint_of(ENTITY_STATE, owner.tenant_id, owner.store_id) == 5
    with override_settings(**SEALED):
        assert state_answer(owner, "E1")["state"] == {"a": 1}
        assert state_answer(owner, "E2")["state"] == {"a": 1, "b": 2}
        assert state_answer(owner, "E3")["state"] == {"c": 3}


@pytest.mark.django_db
def test_the_rows_are_those_of_merging_every_event_in_order(owner: Persona, post_ingest: IngestPoster) -> None:
    """Ticks over ranges that cut entities' histories anywhere: every entity's state, version
    and last event are the fold of its events, whichever of them were written by reference."""
    other = _second_store(owner)
    expected: dict[tuple[uuid.UUID, str], tuple[Any, int, int]] = {}
    heads = {owner.store_id: 0, other.store_id: 0}
    with override_settings(**SEALED):
        for tick in range(6):
            for persona in (owner, other):
                events = [(f"E{(tick * 3 + n) % 7}", {"n": n, f"t{tick}": tick}) for n in range(tick % 3 + 1)]
                _ingest(persona, post_ingest, events)
                for entity_id, payload in events:
                    heads[persona.store_id] += 1
                    state, version, _ = expected.get((persona.store_id, entity_id), (None, 0, 0))
                    expected[(persona.store_id, entity_id)] = (
                        merge_patch(state, payload),
                        version + 1,
                        heads[persona.store_id],
                    )
            projection_run_all(batch_size=2, time_budget_seconds=30)  # ranges of two cut histories

        for persona in (owner, other):
            assert checkpoint_of(ENTITY_STATE, persona.tenant_id, persona.store_id) == heads[persona.store_id]
            for (store_id, entity_id), (state, version, last) in expected.items():
                if store_id == persona.store_id:
                    found = state_answer(persona, entity_id)
                    assert (found["state"], found["version"], found["last_sequence"]) == (state, version, last)


@pytest.mark.django_db
def test_a_merge_that_stalls_rolls_its_references_back_and_applies_nothing_twice(
    owner: Persona, post_ingest: IngestPoster
) -> None:
    other = _second_store(owner)
    with override_settings(**SEALED):
        _ingest(owner, post_ingest, [("E2", {"a": 1}), ("E2", {"b": 2})])  # 1, 2: a sealed state
        projection_run_all(batch_size=100, time_budget_seconds=30)
        _ingest(owner, post_ingest, [("E1", {"new": True}), ("E2", {"c": 3})])  # 3: by reference; 4: merged
        _ingest(other, post_ingest, [("F1", {"f": 1})])

    # E2's state is sealed with key 1, now missing from the ring: its merge stalls the stream.
    with override_settings(PAYLOAD_ENCRYPTION_MODE="required", PAYLOAD_ENCRYPTION_KEYS=KEY_2):
        projection_run_all(batch_size=100, time_budget_seconds=30)
        assert checkpoint_of(ENTITY_STATE, owner.tenant_id, owner.store_id) == 2
        assert "E1" not in _rows(owner)  # its reference went with the rolled-back read
        assert checkpoint_of(ENTITY_STATE, other.tenant_id, other.store_id) == 1  # the other stream went on
        assert _rows(other) == {"F1": (1, 1, 1)}

    with override_settings(PAYLOAD_ENCRYPTION_MODE="required", PAYLOAD_ENCRYPTION_KEYS=f"{KEY_2},{KEY_1}"):
        projection_run_all(batch_size=100, time_budget_seconds=30)  # the key is back
        assert checkpoint_of(ENTITY_STATE, owner.tenant_id, owner.store_id) == 4
        assert _rows(owner) == {"E1": (1, 3, 3), "E2": (3, 4, None)}
        assert state_answer(owner, "E1")["state"] == {"new": True}
        assert state_answer(owner, "E2")["state"] == {"a": 1, "b": 2, "c": 3}


@pytest.mark.django_db
@pytest.mark.parametrize("runner", ["tick", "advance"])
def test_a_hole_in_the_range_stalls_the_stream_with_nothing_written(
    owner: Persona, post_ingest: IngestPoster, runner: str
) -> None:
    other = _second_store(owner)
    _ingest(owner, post_ingest, [("E1", {"a": 1}), ("E2", {"a": 2}), ("E3", {"a": 3})])
    _ingest(other, post_ingest, [("F1", {"f": 1})])
    with connection.cursor() as cursor:  # a hole below the head, as a broken restore would leave
        cursor.execute(
            "DELETE FROM events WHERE tenant_id = %s AND store_id = %s AND sequence_number = 2",
            [owner.tenant_id, owner.store_id],
        )

    if runner == "tick":
        projection_run_all(batch_size=100, time_budget_seconds=30)
        assert checkpoint_of(ENTITY_STATE, other.tenant_id, other.store_id) == 1
    else:
        with pytest.raises(RuntimeError, match="sequence gap after 1"):
            projection_advance(
                projection=ENTITY_STATE, tenant_id=owner.tenant_id, store_id=owner.store_id, batch_size=100
            )

    assert checkpoint_of(ENTITY_STATE, owner.tenant_id, owner.store_id) == 0
    assert _rows(owner) == {}


@pytest.mark.django_db
def test_a_retried_altered_event_whose_entity_has_no_row_is_not_referred_to(
    owner: Persona, post_ingest: IngestPoster
) -> None:
    """A retry writes a state by reference only once the payload opens: a dead letter of an
    altered payload is not resolved by writing it unopened (ADR 0049)."""
    from events.models import ProjectionDeadLetter
    from events.services.dead_letters import dead_letter_retry

    with override_settings(**SEALED):
        _ingest(owner, post_ingest, [("E1", {"a": 1})])  # 1
        projection_run_all(batch_size=100, time_budget_seconds=30)
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE events SET payload = set_byte(payload, 20, get_byte(payload, 20) # 1)"
                " WHERE tenant_id = %s AND store_id = %s AND sequence_number = 1",
                [owner.tenant_id, owner.store_id],
            )
        _ingest(owner, post_ingest, [("E1", {"b": 2})])  # 2: meets the altered reference
        projection_run_all(batch_size=100, time_budget_seconds=30)
        [entry] = ProjectionDeadLetter.objects.filter(tenant_id=owner.tenant_id, store_id=owner.store_id)
        assert entry.sequence_number == 1
        with connection.cursor() as cursor:  # the entity's row gone (an operator's delete, say)
            cursor.execute(
                "DELETE FROM entity_state WHERE tenant_id = %s AND store_id = %s", [owner.tenant_id, owner.store_id]
            )

        outcome = dead_letter_retry(tenant_id=owner.tenant_id, dead_letter_id=entry.id, actor="test")

    assert not outcome.succeeded
    assert _rows(owner) == {}
