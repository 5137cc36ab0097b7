"""Group commit against the real database: a group of requests in one transaction answers and
stores exactly what the same requests would, run one after the other.

The property test runs random request sequences twice, on two empty streams of two tenants:
once as one group (``_run_group``), once request by request (``_run_jobs``), and compares every
receipt, every rejection and every stored row. The threaded test goes through the public
service with the process's real combiner.
"""

from __future__ import annotations

import dataclasses
import threading
import uuid
from typing import Any

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import REGISTRY

from events.envelopes import LegacyEvent, parse_legacy_request
from events.payload_crypto import StoredPayload, payload_open
from events.services.ingest import IngestJob, IngestResult, _prepare, _run_group, _run_jobs, event_ingest_legacy
from sequencer_project.metrics import TALLY
from tests.conftest import legacy_event
from tests.events.helpers import head_of, stored_sequences

pytestmark = pytest.mark.django_db(transaction=True)

EVENT_IDS = [uuid.UUID(int=i + 1) for i in range(6)]
COMMAND_IDS = [uuid.UUID(int=100 + i) for i in range(3)]


def _events(tenant_id: uuid.UUID, store_id: uuid.UUID, specs: list[dict[str, Any]]) -> list[LegacyEvent]:
    raw = [
        legacy_event(
            tenant_id,
            store_id,
            event_id=str(spec["event_id"]),
            entity_id=spec["entity_id"],
            payload={"variant": spec["variant"]},
            created_at="2026-01-01T00:00:00Z",
            **({"command_id": str(spec["command_id"])} if spec["command_id"] else {}),
            **({"base_version": spec["base_version"]} if spec["base_version"] is not None else {}),
        )
        for spec in specs
    ]
    return parse_legacy_request({"events": raw}, max_events=1000, max_payload_bytes=1 << 20).events


def _job(tenant_id: uuid.UUID, store_id: uuid.UUID, specs: list[dict[str, Any]], request_id: str = "") -> IngestJob:
    return _prepare(tenant_id, store_id, _events(tenant_id, store_id, specs), request_id, "test")


def _answer(result: IngestResult) -> tuple[Any, ...]:
    """What a client sees, minus the batch id (random) and the head (the group's, by design)."""
    return (
        result.accepted,
        [(r.event_id, r.sequence_number, r.replayed) for r in result.receipts],
        [(r.event_id, r.reason, r.message) for r in result.rejections],
        result.sequence_start,
        result.sequence_end,
    )


def _stored(tenant_id: uuid.UUID) -> dict[str, list[tuple[Any, ...]]]:
    """Every row the requests wrote for the tenant, by stream, payloads opened."""
    queries = {
        "events": "SELECT store_id, sequence_number, event_id, entity_id, command_id, base_version, payload_format,"
        " payload, entity_type, event_type FROM events WHERE tenant_id = %s ORDER BY store_id, sequence_number",
        "versions": "SELECT store_id, entity_type, entity_id, version, last_sequence FROM entity_versions "
        "WHERE tenant_id = %s ORDER BY 1, 2, 3",
        "commands": "SELECT store_id, command_id, event_id FROM command_dedupe WHERE tenant_id = %s ORDER BY 1, 2",
        # In log order per stream: one cross-stream statement (ADR 0025) logs its streams'
        # rejections stream by stream, in key order, not in the order its requests arrived.
        "rejections": "SELECT store_id, event_id, reason, message FROM rejected_events WHERE tenant_id = %s "
        "ORDER BY store_id, rejection_id",
    }
    out: dict[str, list[tuple[Any, ...]]] = {}
    with connection.cursor() as cursor:
        for name, sql in queries.items():
            cursor.execute(sql, [tenant_id])
            out[name] = [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in cursor.fetchall()]
    # Payloads are sealed at rest with a random nonce and the tenant in the associated data:
    # compare what they open to, not their bytes.
    out["events"] = [
        (
            *row[:7],
            payload_open(StoredPayload(tenant_id, row[0], row[2], row[1], row[8], row[3], row[9], row[7], row[6])),
        )
        for row in out["events"]
    ]
    return out


event_spec = st.fixed_dictionaries(
    {
        "event_id": st.sampled_from(EVENT_IDS),
        "variant": st.sampled_from(["a", "b"]),
        "entity_id": st.sampled_from(["order-1", "order-2"]),
        "command_id": st.one_of(st.none(), st.sampled_from(COMMAND_IDS)),
        "base_version": st.one_of(st.none(), st.integers(min_value=0, max_value=3)),
    }
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(requests=st.lists(st.lists(event_spec, min_size=1, max_size=3), min_size=1, max_size=6))
def test_a_group_answers_and_stores_exactly_what_sequential_requests_would(
    requests: list[list[dict[str, Any]]],
) -> None:
    grouped_tenant, sequential_tenant, store_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

    grouped = _run_group([_job(grouped_tenant, store_id, specs) for specs in requests])
    sequential = [_run_jobs([_job(sequential_tenant, store_id, specs)])[0] for specs in requests]

    assert all(isinstance(result, IngestResult) for result in grouped)
    assert [_answer(r) for r in grouped] == [_answer(r) for r in sequential]  # type: ignore[arg-type]
    final_head = head_of(sequential_tenant, store_id)
    assert {r.head for r in grouped} == {final_head}  # type: ignore[union-attr]
    assert head_of(grouped_tenant, store_id) == final_head
    assert _stored(grouped_tenant) == _stored(sequential_tenant)
    assert stored_sequences(grouped_tenant, store_id) == list(range(1, final_head + 1))


def test_a_later_request_in_a_group_sees_the_earlier_ones_as_committed() -> None:
    tenant_id, store_id = uuid.uuid4(), uuid.uuid4()
    first = {"event_id": EVENT_IDS[0], "variant": "a", "entity_id": "order-1", "command_id": COMMAND_IDS[0]}
    jobs = [
        _job(tenant_id, store_id, [{**first, "base_version": 0}], "req-1"),
        _job(tenant_id, store_id, [{**first, "base_version": 0}], "req-2"),  # exact replay
        _job(tenant_id, store_id, [{**first, "variant": "b", "base_version": None}], "req-3"),  # same id, new body
        _job(
            tenant_id,
            store_id,
            [{**first, "event_id": EVENT_IDS[1], "base_version": None}],  # command id already used
            "req-4",
        ),
        _job(
            tenant_id,
            store_id,
            [{**first, "event_id": EVENT_IDS[2], "command_id": None, "base_version": 1}],  # follows req-1
            "req-5",
        ),
        _job(
            tenant_id,
            store_id,
            [{**first, "event_id": EVENT_IDS[3], "command_id": None, "base_version": 1}],  # stale now
            "req-6",
        ),
    ]

    results = _run_group(jobs)

    assert all(isinstance(r, IngestResult) for r in results)
    answers = [_answer(r) for r in results]  # type: ignore[arg-type]
    assert answers[0][1] == [(EVENT_IDS[0], 1, False)]
    assert answers[1][1] == [(EVENT_IDS[0], 1, True)]
    assert answers[2][2] == [(EVENT_IDS[0], "DuplicateEventId", "event_id already used by another event")]
    assert answers[3][2] == [(EVENT_IDS[1], "DuplicateCommandId", "command_id was already processed")]
    assert answers[4][1] == [(EVENT_IDS[2], 2, False)]
    assert answers[5][2] == [(EVENT_IDS[3], "VersionConflict", "expected 1, actual 2")]
    assert stored_sequences(tenant_id, store_id) == [1, 2]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT request_id, reason FROM rejected_events WHERE tenant_id = %s ORDER BY rejection_id", [tenant_id]
        )
        assert cursor.fetchall() == [
            ("req-3", "DuplicateEventId"),
            ("req-4", "DuplicateCommandId"),
            ("req-6", "VersionConflict"),
        ]


def test_a_request_the_database_refuses_fails_alone_and_the_rest_of_its_group_commits() -> None:
    tenant_id, store_id = uuid.uuid4(), uuid.uuid4()
    good = [_job(tenant_id, store_id, [{**_spec(i)}]) for i in range(2)]
    bad_event = dataclasses.replace(_events(tenant_id, store_id, [_spec(5)])[0], entity_type="bad\x00type")
    bad = _prepare(tenant_id, store_id, [bad_event], "", "test")

    results = _run_group([good[0], bad, good[1]])

    assert isinstance(results[0], IngestResult)
    assert results[0].sequence_start == 1
    assert isinstance(results[1], Exception)
    assert isinstance(results[2], IngestResult)
    assert results[2].sequence_start == 2
    assert stored_sequences(tenant_id, store_id) == [1, 2]
    assert head_of(tenant_id, store_id) == 2


def _spec(i: int) -> dict[str, Any]:
    return {
        "event_id": EVENT_IDS[i],
        "variant": "a",
        "entity_id": f"order-{i}",
        "command_id": None,
        "base_version": None,
    }


def _group_histogram() -> tuple[float, float]:
    TALLY.flush()
    count = REGISTRY.get_sample_value("ingest_group_requests_count") or 0.0
    total = REGISTRY.get_sample_value("ingest_group_requests_sum") or 0.0
    return count, total


@pytest.mark.slow
def test_parallel_requests_on_one_stream_are_grouped_and_numbered_without_gaps() -> None:
    tenant_id, store_id = uuid.uuid4(), uuid.uuid4()
    threads_count, per_thread = 16, 40
    receipts: dict[uuid.UUID, int] = {}
    lock = threading.Lock()
    barrier = threading.Barrier(threads_count)
    count_before, sum_before = _group_histogram()

    def writer() -> None:
        barrier.wait()
        try:
            for _ in range(per_thread):
                events = parse_legacy_request(
                    {"events": [legacy_event(tenant_id, store_id)]}, max_events=10, max_payload_bytes=1 << 20
                ).events
                result = event_ingest_legacy(tenant_id=tenant_id, store_id=store_id, events=events, actor="test")
                with lock:
                    receipts.update({r.event_id: r.sequence_number for r in result.receipts})
        finally:
            connection.close()

    threads = [threading.Thread(target=writer) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    total = threads_count * per_thread
    assert len(receipts) == total
    assert sorted(receipts.values()) == list(range(1, total + 1))
    assert stored_sequences(tenant_id, store_id) == list(range(1, total + 1))
    with connection.cursor() as cursor:
        cursor.execute("SELECT event_id, sequence_number FROM events WHERE tenant_id = %s", [tenant_id])
        assert dict(cursor.fetchall()) == receipts
    count_after, sum_after = _group_histogram()
    transactions, requests = count_after - count_before, sum_after - sum_before
    assert requests == total
    assert transactions < requests  # some requests shared a transaction
