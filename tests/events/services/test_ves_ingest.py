"""The VES ingest service: query budget, and the gap-free invariant under parallel writers."""

from __future__ import annotations

import random
import threading
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection, connections

from events.services.ves_ingest import ves_event_ingest
from events.ves_envelopes import check_ves_limits, parse_ves_request, prepare_ves_event
from schemas.registry import schema_failures
from tenants.services import agent_key_register
from tests.events.ves_helpers import Agent, ves_ingest_direct


def _agent(store_id: uuid.UUID | None = None, tenant_id: uuid.UUID | None = None) -> Agent:
    agent = Agent(tenant_id or uuid.uuid4(), store_id or uuid.uuid4())
    agent_key_register(
        tenant_id=agent.tenant_id, agent_id=agent.agent_id, key_id=1, public_key=agent.public_key, actor="test"
    )
    return agent


@pytest.mark.django_db(transaction=True)
def test_a_signed_batch_costs_four_statements_in_one_transaction(
    django_assert_num_queries: Any,
) -> None:
    agent = _agent()
    ves_ingest_direct(agent, [agent.event()])
    batch = [agent.event(base_version=0, command_id=str(uuid.uuid4())) for _ in range(100)]
    parsed = parse_ves_request({"agentId": str(agent.agent_id), "events": batch})
    payloads = check_ves_limits(parsed, max_events=1000, max_payload_bytes=1 << 20)
    prepared = [prepare_ves_event(e, p) for e, p in zip(parsed.events, payloads, strict=True)]

    # BEGIN, the key read again share-locked (a revocation orders against the batch), lock counter,
    # classify, insert everything, COMMIT (the key is cached since the first ingest,
    # tenants.key_cache, for the checks before the transaction; a cold cache adds that key read)
    with django_assert_num_queries(6):
        result = ves_event_ingest(
            tenant_id=agent.tenant_id, store_id=agent.store_id, agent_id=agent.agent_id, events=prepared, actor="test"
        )

    assert result.accepted == 100


@pytest.mark.django_db(transaction=True)
def test_the_first_write_to_a_vES_stream_creates_it_in_two_more(django_assert_num_queries: Any) -> None:
    agent = _agent()
    # The tenant's schema-registry lookups are cached per process (schemas.registry); warm them.
    schema_failures(tenant_id=agent.tenant_id, events=[("order.created", {}, False)])
    # keys, BEGIN, keys share-locked, lock (miss), create, lock, classify, insert, COMMIT
    with django_assert_num_queries(9):
        assert ves_ingest_direct(agent, [agent.event()]).accepted == 1


@pytest.mark.django_db(transaction=True)
def test_a_batch_of_only_bad_hashes_reads_no_keys(django_assert_num_queries: Any) -> None:
    agent = _agent()
    ves_ingest_direct(agent, [agent.event()])
    event = agent.event({"a": 1})
    event["payload"] = {"a": 2}
    with django_assert_num_queries(5):  # BEGIN, lock counter, classify (replays), insert rejection log, COMMIT
        result = ves_ingest_direct(agent, [event])
    assert [r.reason for r in result.rejections] == ["invalid_payload_hash"]


# ---- concurrency -----------------------------------------------------------------------------


def _rows(tenant_id: uuid.UUID) -> dict[uuid.UUID, list[int]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT store_id, sequence_number FROM ves_events WHERE tenant_id = %s ORDER BY store_id, sequence_number",
            [tenant_id],
        )
        out: dict[uuid.UUID, list[int]] = defaultdict(list)
        for store_id, sequence in cursor.fetchall():
            out[store_id].append(sequence)
        return out


def _stored_numbers(tenant_id: uuid.UUID) -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT event_id, sequence_number FROM ves_events WHERE tenant_id = %s", [tenant_id])
        return {str(event_id): seq for event_id, seq in cursor.fetchall()}


def _heads(tenant_id: uuid.UUID) -> dict[uuid.UUID, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT store_id, current_sequence FROM sequence_counters WHERE tenant_id = %s AND stream_kind = 2",
            [tenant_id],
        )
        return dict(cursor.fetchall())


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_eight_signed_writers_on_one_stream_leave_no_gap_or_duplicate() -> None:
    agent = _agent()
    acknowledged: dict[str, int] = {}
    replays: list[tuple[str, int]] = []
    sent: list[list[dict[str, Any]]] = []
    lock = threading.Lock()
    commands = [str(uuid.uuid4()) for _ in range(8)]

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(25):
                with lock:
                    previous = rng.choice(sent) if sent and rng.random() < 0.15 else None
                if previous is not None:
                    batch = previous
                else:
                    batch = []
                    for _ in range(rng.randint(1, 5)):
                        overrides: dict[str, Any] = {"entity_id": f"order-{rng.randint(1, 6)}"}
                        if rng.random() < 0.3:
                            overrides["base_version"] = rng.randint(0, 3)
                        if rng.random() < 0.2:
                            overrides["command_id"] = rng.choice(commands)
                        event = agent.event(**overrides)
                        if rng.random() < 0.1:
                            event["agent_signature"] = "00" * 64  # rejected, must not burn a number
                        batch.append(event)
                result = ves_ingest_direct(agent, batch)
                with lock:
                    if previous is None:
                        sent.append(batch)
                    for receipt in result.receipts:
                        key = str(receipt.event_id)
                        if key in acknowledged:  # only a client retry can meet an acknowledged event
                            assert previous is not None, "an event was acknowledged twice"
                            replays.append((key, receipt.sequence_number))
                        else:  # new, or first accepted on a retry after an earlier rejection
                            acknowledged[key] = receipt.sequence_number
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(writer, range(8)))
    connections.close_all()

    numbers = _rows(agent.tenant_id)[agent.store_id]
    assert numbers == list(range(1, len(numbers) + 1)), "gap or duplicate"
    assert _heads(agent.tenant_id)[agent.store_id] == len(numbers)
    stored = _stored_numbers(agent.tenant_id)
    assert stored == acknowledged, "every acknowledged event is stored with its number, nothing else"
    for event_id, number in replays:
        assert stored[event_id] == number, "a replay returned a number other than the original"
    assert len(numbers) > 100
    assert replays
