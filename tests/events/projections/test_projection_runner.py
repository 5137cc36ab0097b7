"""The projection runner and ``entity_state``: order, merge, batches, checkpoints, rebuild."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.projections.entity_state import ENTITY_STATE
from events.projections.merge import merge_patch
from events.services.projections import projection_advance, projection_rebuild, projection_run_all
from tests.conftest import IngestPoster, Persona, legacy_event
from tests.events.projections.helpers import PoisonProjection, checkpoint_of, entity_rows, seed

pytestmark = pytest.mark.django_db


def _run(persona: Persona, projection: str = ENTITY_STATE, batch_size: int = 500) -> None:
    while True:
        result = projection_advance(
            projection=projection, tenant_id=persona.tenant_id, store_id=persona.store_id, batch_size=batch_size
        )
        if result.applied + result.dead_lettered < batch_size:
            return


def test_entity_state_merges_payloads_in_sequence_order(owner: Persona, post_ingest: IngestPoster) -> None:
    seed(owner, post_ingest, [{"status": "new", "total": 1, "lines": [1]}, {"status": "paid", "lines": None}])

    _run(owner)

    rows = entity_rows(owner.tenant_id, owner.store_id)
    version, last_sequence, _, last_type, state = rows[("order", "order-1")]
    assert (version, last_sequence, last_type) == (2, 2, "order.created")
    assert state == '{"total": 1, "status": "paid"}'
    assert checkpoint_of(ENTITY_STATE, owner.tenant_id, owner.store_id) == 2


def test_small_batches_give_the_same_state_as_one_batch(owner: Persona, post_ingest: IngestPoster) -> None:
    payloads = [{"n": i, f"k{i % 3}": i} for i in range(23)]
    seed(owner, post_ingest, payloads[:10], entity_id="a")
    seed(owner, post_ingest, payloads[10:], entity_id="b")

    _run(owner, batch_size=4)
    in_small_batches = entity_rows(owner.tenant_id, owner.store_id)
    rebuilt = projection_rebuild(
        projection=ENTITY_STATE, tenant_id=owner.tenant_id, store_id=owner.store_id, batch_size=500, actor="test"
    )

    assert (rebuilt.applied, rebuilt.checkpoint) == (23, 23)
    assert entity_rows(owner.tenant_id, owner.store_id) == in_small_batches
    assert in_small_batches[("order", "a")][0] == 10
    assert in_small_batches[("order", "b")][0] == 13


def test_a_caught_up_projection_applies_nothing_again(owner: Persona, post_ingest: IngestPoster) -> None:
    seed(owner, post_ingest, [{"a": 1}, {"b": 2}])
    _run(owner)

    again = projection_advance(
        projection=ENTITY_STATE, tenant_id=owner.tenant_id, store_id=owner.store_id, batch_size=10
    )

    assert (again.applied, again.checkpoint) == (0, 2)
    assert entity_rows(owner.tenant_id, owner.store_id)[("order", "order-1")][0] == 2


def test_run_all_advances_every_due_stream(owner: Persona, outsider: Persona, post_ingest: IngestPoster) -> None:
    seed(owner, post_ingest, [{"x": 1}] * 3)
    seed(outsider, post_ingest, [{"y": 1}] * 5)

    result = projection_run_all(batch_size=2, time_budget_seconds=30)

    assert result.applied >= 8
    assert checkpoint_of(ENTITY_STATE, owner.tenant_id, owner.store_id) == 3
    assert checkpoint_of(ENTITY_STATE, outsider.tenant_id, outsider.store_id) == 5


def test_a_stream_with_a_hole_stalls_alone(owner: Persona, outsider: Persona, post_ingest: IngestPoster) -> None:
    """Never expected, but a hole must not stop every other stream's projection (it used to
    abort the whole tick, oldest stream first, so nothing moved anywhere)."""
    seed(owner, post_ingest, [{"x": 1}] * 3)
    seed(outsider, post_ingest, [{"y": 1}] * 2)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM events WHERE tenant_id = %s AND sequence_number = 2", [owner.tenant_id])

    projection_run_all(batch_size=10, time_budget_seconds=30)

    assert checkpoint_of(ENTITY_STATE, owner.tenant_id, owner.store_id) == 0  # nothing skipped
    assert checkpoint_of(ENTITY_STATE, outsider.tenant_id, outsider.store_id) == 2


def test_a_poison_event_is_dead_lettered_and_later_events_are_projected(
    owner: Persona, post_ingest: IngestPoster, poison: PoisonProjection
) -> None:
    seed(owner, post_ingest, [{"a": 1}, {"poison": True}, {"b": 2}])

    _run(owner, projection=poison.name)

    assert checkpoint_of(poison.name, owner.tenant_id, owner.store_id) == 3
    version, last_sequence, *_ = entity_rows(owner.tenant_id, owner.store_id)[("order", "order-1")]
    assert (version, last_sequence) == (2, 3)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3),
    max_leaves=10,
)


@given(target=json_values, patch=json_values)
def test_merge_patch_is_idempotent(target: Any, patch: Any) -> None:
    once = merge_patch(target, patch)

    assert merge_patch(once, patch) == once


@given(target=st.dictionaries(st.text(max_size=3), json_values, max_size=4), patch=json_values)
def test_merge_patch_keeps_no_nulls_from_an_object_patch(target: dict[str, Any], patch: Any) -> None:
    merged = merge_patch(target, patch)

    if isinstance(patch, dict):
        assert isinstance(merged, dict)
        assert all(merged.get(key) is not None for key, value in patch.items() if value is not None)
        assert all(key not in merged for key, value in patch.items() if value is None)
    else:
        assert merged == patch


small_objects = st.dictionaries(st.sampled_from("xy"), st.integers(0, 3), max_size=2)
payload_objects = st.dictionaries(
    st.sampled_from(["a", "b", "c", "d"]), st.none() | st.integers(-5, 5) | small_objects, max_size=3
)


@settings(max_examples=16, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    payloads=st.lists(st.tuples(st.sampled_from(["e1", "e2", "e3"]), payload_objects), min_size=1, max_size=12),
    batch_size=st.integers(1, 5),
    tick=st.booleans(),
)
def test_any_batching_projects_the_pure_fold_of_the_stream(
    owner: Persona, post_ingest: IngestPoster, payloads: list[tuple[str, dict[str, Any]]], batch_size: int, tick: bool
) -> None:
    """Batches of any size, through an operator's advance (every event to the handler) or the
    runner's tick (new one-event entities written by reference as the range is read, ADR 0049)."""
    store = uuid.uuid4()
    events = [legacy_event(owner.tenant_id, store, entity_id=entity, payload=p) for entity, p in payloads]
    assert post_ingest(owner.client, {"events": events}).status_code == 200
    expected: dict[str, tuple[int, Any]] = {}
    for entity, payload in payloads:
        version, state = expected.get(entity, (0, None))
        expected[entity] = (version + 1, merge_patch(state, payload))

    if tick:
        projection_run_all(batch_size=batch_size, time_budget_seconds=30)
    else:
        while projection_advance(
            projection=ENTITY_STATE, tenant_id=owner.tenant_id, store_id=store, batch_size=batch_size
        ).applied:
            pass

    rows = entity_rows(owner.tenant_id, store)
    assert {entity: (row[0], orjson.loads(row[4])) for (_, entity), row in rows.items()} == expected
