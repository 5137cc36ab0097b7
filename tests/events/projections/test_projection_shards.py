"""Projection shards: ticks of different shards advance disjoint streams side by side, and
whatever overlaps (an older release's tick over every stream, a redelivered message) still
applies every event exactly once (the per-stream advisory lock)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from typing import Any

import pytest
from django.db import connection, connections

from events.projections.entity_state import ENTITY_STATE, EntityStateProjection
from events.projections.registry import ProjectionEvent, projection_get
from events.services.projections import EVERY_STREAM, DueStream, Shard, projection_run_all, projection_streams_due
from tests.conftest import IngestPoster, Persona, legacy_event
from tests.events.projections.helpers import checkpoint_of, entity_rows, registered


def _seed_streams(owner: Persona, post_ingest: IngestPoster, streams: int, events: int) -> list[uuid.UUID]:
    stores = [uuid.uuid4() for _ in range(streams)]
    for store in stores:
        body = {
            "events": [
                legacy_event(owner.tenant_id, store, entity_id=f"order-{n % 2}", payload={f"k{n}": n, "last": n})
                for n in range(events)
            ]
        }
        response = post_ingest(owner.client, body)
        assert response.status_code == 200, response.content
    return stores


def _owned(due: list[DueStream], owner: Persona) -> set[uuid.UUID]:
    return {stream.store_id for stream in due if stream.tenant_id == owner.tenant_id}


def test_a_shard_must_exist() -> None:
    for index, of in ((2, 2), (-1, 2), (0, 0)):
        with pytest.raises(ValueError, match="does not exist"):
            Shard(index, of)


@pytest.mark.django_db
def test_the_shards_split_the_due_streams_without_overlap(owner: Persona, post_ingest: IngestPoster) -> None:
    stores = _seed_streams(owner, post_ingest, streams=24, events=1)
    handler = projection_get(ENTITY_STATE)
    assert handler is not None

    every = _owned(projection_streams_due(projection=handler, limit=10_000, shard=EVERY_STREAM), owner)
    parts = [
        _owned(projection_streams_due(projection=handler, limit=10_000, shard=Shard(k, 3)), owner) for k in range(3)
    ]

    assert every == set(stores)
    assert set().union(*parts) == every
    assert sum(len(part) for part in parts) == len(every)  # disjoint
    assert all(parts)  # 24 streams over 3 shards: each gets some (fails only for a broken hash)


@pytest.mark.django_db(transaction=True)
def test_shards_and_an_overlapping_full_tick_apply_every_event_once(owner: Persona, post_ingest: IngestPoster) -> None:
    stores = _seed_streams(owner, post_ingest, streams=12, events=7)
    start = threading.Barrier(3)
    errors: list[BaseException] = []

    def tick(shard: Shard) -> None:
        try:
            start.wait()
            while projection_run_all(batch_size=2, time_budget_seconds=30, shard=shard).applied:
                pass
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=tick, args=(s,)) for s in (Shard(0, 2), Shard(1, 2), EVERY_STREAM)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors
    projection_run_all(batch_size=500, time_budget_seconds=30)  # a stream skipped while locked
    for store in stores:
        assert checkpoint_of(ENTITY_STATE, owner.tenant_id, store) == 7
        rows = entity_rows(owner.tenant_id, store)
        assert {key: row[0] for key, row in rows.items()} == {("order", "order-0"): 4, ("order", "order-1"): 3}
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM projection_dead_letters WHERE tenant_id = %s", [owner.tenant_id])
        assert cursor.fetchone()[0] == 0


class _BatchLog(EntityStateProjection):
    """``entity_state`` semantics under its own name, noting which streams each call applied."""

    def __init__(self) -> None:
        self.name = f"batch_log_{uuid.uuid4().hex[:8]}"
        self.calls: list[set[uuid.UUID]] = []

    def apply_many(
        self, events: Sequence[ProjectionEvent], *, referred: bool = False
    ) -> list[tuple[ProjectionEvent, Exception]]:
        self.calls.append({event.store_id for event in events})
        return super().apply_many(events, referred=referred)


def _tick_logged(owner: Persona, **run: Any) -> _BatchLog:
    """One tick over ``owner``'s streams alone, with a :class:`_BatchLog` registered for it."""
    with registered(_BatchLog()) as log:
        with connection.cursor() as cursor:  # other tests' streams stay out of this tick
            cursor.execute("DELETE FROM sequence_counters WHERE tenant_id <> %s", [owner.tenant_id])
        projection_run_all(time_budget_seconds=30, **run)
    return log


@pytest.mark.django_db
def test_a_tick_takes_one_batch_per_stream_in_turn(owner: Persona, post_ingest: IngestPoster) -> None:
    """A long backlog on one stream must not hold back the others' events until it is drained."""
    (long,) = _seed_streams(owner, post_ingest, streams=1, events=8)
    short = _seed_streams(owner, post_ingest, streams=2, events=2)
    log = _tick_logged(owner, batch_size=2)

    with_long = [i for i, stores in enumerate(log.calls) if long in stores]
    assert len(with_long) == 4  # 8 events, batches of 2
    assert all(checkpoint_of(log.name, owner.tenant_id, store) == 2 for store in short)
    assert checkpoint_of(log.name, owner.tenant_id, long) == 8
    for store in short:
        assert min(i for i, stores in enumerate(log.calls) if store in stores) < with_long[1]


@pytest.mark.django_db
def test_a_tick_advances_many_streams_in_one_transaction(owner: Persona, post_ingest: IngestPoster) -> None:
    """Streams share a transaction up to the event budget, so a tick's statements follow its
    events, not its streams; each stream still moves by exactly its own events."""
    stores = _seed_streams(owner, post_ingest, streams=6, events=3)
    log = _tick_logged(owner, batch_size=10, events_per_transaction=9)

    assert [len(stores_of_call) for stores_of_call in log.calls] == [3, 3]  # 3 streams x 3 events each
    assert set().union(*log.calls) == set(stores)
    assert all(checkpoint_of(log.name, owner.tenant_id, store) == 3 for store in stores)
