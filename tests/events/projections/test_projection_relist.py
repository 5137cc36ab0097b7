"""A projection tick whose round was large lists the due streams again at once.

Under sustained load every stream has new events by the time a long round ends; leaving them to
the next tick made them wait a round and an interval, so the lag grew with the load. A large round
(``PROJECTION_RELIST_EVENTS``) therefore lists again within the tick's budget; a small one ends the
tick, so light load keeps its batches large. Events that arrive between rounds are simulated by
ingesting (through the API, into PostgreSQL) when the runner lists the due streams again.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import override_settings

from events.projections.entity_state import ENTITY_STATE
from events.services import projections
from events.services.projections import projection_run_all
from tests.conftest import IngestPoster, Persona
from tests.events.projections.helpers import checkpoint_of, seed

pytestmark = pytest.mark.django_db


def _arrivals_between_rounds(monkeypatch: pytest.MonkeyPatch, owner: Persona, post_ingest: IngestPoster) -> list[int]:
    """Ingest two more events of ``owner``'s stream the second time the runner lists due streams;
    returns the list of calls (its length is how many times it listed)."""
    calls: list[int] = []
    listed: Callable[..., list[projections.DueStream]] = projections._due

    def due(*args: object, **kwargs: object) -> list[projections.DueStream]:
        calls.append(1)
        if len(calls) == 2:
            seed(owner, post_ingest, [{"late": 1}, {"late": 2}], entity_id="order-late")
        return listed(*args, **kwargs)

    monkeypatch.setattr(projections, "_due", due)
    return calls


def test_after_a_large_round_the_tick_takes_what_arrived_meanwhile(
    owner: Persona, post_ingest: IngestPoster, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(owner, post_ingest, [{"n": i} for i in range(4)])
    calls = _arrivals_between_rounds(monkeypatch, owner, post_ingest)

    with override_settings(PROJECTION_RELIST_EVENTS=4):
        result = projection_run_all(batch_size=500, time_budget_seconds=30)

    assert checkpoint_of(ENTITY_STATE, owner.tenant_id, owner.store_id) == 6
    assert result.applied >= 6
    assert len(calls) == 2  # listed, listed again after a round of 4; the round of 2 ended the tick


def test_after_a_small_round_the_tick_ends_and_leaves_new_events_to_the_next(
    owner: Persona, post_ingest: IngestPoster, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(owner, post_ingest, [{"n": i} for i in range(4)])
    calls = _arrivals_between_rounds(monkeypatch, owner, post_ingest)

    with override_settings(PROJECTION_RELIST_EVENTS=5):
        projection_run_all(batch_size=500, time_budget_seconds=30)

    assert len(calls) == 1
    assert checkpoint_of(ENTITY_STATE, owner.tenant_id, owner.store_id) == 4
    projection_run_all(batch_size=500, time_budget_seconds=30)  # the next tick lists (and finds) them
    assert checkpoint_of(ENTITY_STATE, owner.tenant_id, owner.store_id) == 6
