"""The gap-free invariant under real parallel connections.

Writers run in threads; each thread has its own Django connection, so each is a separate
PostgreSQL session contending for the same counter rows. Duplicates, exact replays,
reused command ids and stale base_versions are mixed in.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection, connections

from events.envelopes import parse_legacy_request
from events.services.ingest import IngestResult, event_ingest_legacy
from tests.conftest import legacy_event

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _ingest(events: list[dict[str, Any]]) -> IngestResult:
    parsed = parse_legacy_request({"events": events}, max_events=1000, max_payload_bytes=1 << 20)
    assert parsed.tenant_id is not None
    assert parsed.store_id is not None
    try:
        return event_ingest_legacy(
            tenant_id=parsed.tenant_id, store_id=parsed.store_id, events=parsed.events, actor="test"
        )
    finally:
        connection.close()


def _all_sequences(tenant_id: uuid.UUID) -> dict[uuid.UUID, list[int]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT store_id, sequence_number FROM events WHERE tenant_id = %s ORDER BY store_id, sequence_number",
            [tenant_id],
        )
        out: dict[uuid.UUID, list[int]] = defaultdict(list)
        for store_id, sequence in cursor.fetchall():
            out[store_id].append(sequence)
        return out


def _heads(tenant_id: uuid.UUID) -> dict[uuid.UUID, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT store_id, current_sequence FROM sequence_counters WHERE tenant_id = %s AND stream_kind = 1",
            [tenant_id],
        )
        return dict(cursor.fetchall())


def _stored_numbers(tenant_id: uuid.UUID) -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT event_id, sequence_number FROM events WHERE tenant_id = %s", [tenant_id])
        return {str(event_id): seq for event_id, seq in cursor.fetchall()}


def _run_writers(
    tenant_id: uuid.UUID, stores: list[uuid.UUID], writers: int, batches_per_writer: int
) -> dict[str, Any]:
    acknowledged: dict[str, int] = {}
    replays: list[tuple[str, int]] = []
    lock = threading.Lock()
    shared_commands = [uuid.uuid4() for _ in range(10)]
    sent: list[list[dict[str, Any]]] = []

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(batches_per_writer):
            store = rng.choice(stores)
            roll = rng.random()
            with lock:
                previous = rng.choice(sent) if sent and roll < 0.15 else None
            if previous is not None:
                batch = previous  # a client retry of an earlier request: every event is an exact replay
            else:
                batch = []
                for _ in range(rng.randint(1, 5)):
                    overrides: dict[str, Any] = {"entity_id": f"order-{rng.randint(1, 6)}"}
                    if rng.random() < 0.3:
                        overrides["base_version"] = rng.randint(0, 3)  # often stale: a VersionConflict
                    if rng.random() < 0.2:
                        overrides["command_id"] = str(rng.choice(shared_commands))
                    batch.append(legacy_event(tenant_id, store, **overrides))
                if rng.random() < 0.1:
                    batch.append(dict(batch[0]))  # same event id twice in one request
            result = _ingest(batch)
            with lock:
                if previous is None:
                    sent.append(batch)
                for receipt in result.receipts:
                    key = str(receipt.event_id)
                    if receipt.replayed:
                        replays.append((key, receipt.sequence_number))
                    else:
                        assert key not in acknowledged, "an event was acknowledged twice"
                        acknowledged[key] = receipt.sequence_number

    with ThreadPoolExecutor(max_workers=writers) as pool:
        list(pool.map(writer, range(writers)))
    connections.close_all()
    return {"acknowledged": acknowledged, "replays": replays}


def _assert_invariant(tenant_id: uuid.UUID, outcome: dict[str, Any]) -> None:
    sequences = _all_sequences(tenant_id)
    heads = _heads(tenant_id)
    stored = _stored_numbers(tenant_id)
    for store_id, numbers in sequences.items():
        assert numbers == list(range(1, len(numbers) + 1)), f"gap or duplicate in {store_id}"
        assert heads[store_id] == len(numbers)
    assert stored == outcome["acknowledged"], "every acknowledged event is stored with its number, nothing else"
    for event_id, number in outcome["replays"]:
        assert stored[event_id] == number, "a replay returned a number other than the original"


def test_eight_writers_on_one_stream_leave_no_gap_or_duplicate() -> None:
    tenant_id, store_id = uuid.uuid4(), uuid.uuid4()

    outcome = _run_writers(tenant_id, [store_id], writers=8, batches_per_writer=40)

    _assert_invariant(tenant_id, outcome)
    assert len(outcome["acknowledged"]) > 200
    assert outcome["replays"], "the mix should include client retries"


def test_twelve_writers_on_sixteen_streams_leave_no_gap_or_duplicate() -> None:
    tenant_id = uuid.uuid4()
    stores = [uuid.uuid4() for _ in range(16)]

    outcome = _run_writers(tenant_id, stores, writers=12, batches_per_writer=30)

    _assert_invariant(tenant_id, outcome)
    assert len(_heads(tenant_id)) == 16


def test_one_event_id_raced_into_two_stores_of_a_tenant_is_stored_once() -> None:
    tenant_id = uuid.uuid4()
    stores = [uuid.uuid4() for _ in range(8)]
    event_id = str(uuid.uuid4())
    barrier = threading.Barrier(len(stores))

    def write(store: uuid.UUID) -> IngestResult:
        barrier.wait()
        return _ingest([legacy_event(tenant_id, store, event_id=event_id)])

    with ThreadPoolExecutor(max_workers=len(stores)) as pool:
        results = list(pool.map(write, stores))
    connections.close_all()

    assert sum(r.accepted for r in results) == 1
    assert sum(len(r.rejections) for r in results) == len(stores) - 1
    for store_id, numbers in _all_sequences(tenant_id).items():
        assert numbers == [1], store_id
    assert sorted(_heads(tenant_id).values()) == [0] * (len(stores) - 1) + [1]
