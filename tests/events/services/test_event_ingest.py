"""The ingest service: query budget on the hot path, and a model-based property test."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.envelopes import parse_legacy_request
from events.services.ingest import IngestResult, event_ingest_legacy
from schemas.registry import schema_failures
from tests.conftest import legacy_event


def _ingest(events: list[dict[str, Any]]) -> IngestResult:
    parsed = parse_legacy_request({"events": events}, max_events=1000, max_payload_bytes=1 << 20)
    assert parsed.tenant_id is not None
    assert parsed.store_id is not None
    return event_ingest_legacy(tenant_id=parsed.tenant_id, store_id=parsed.store_id, events=parsed.events, actor="test")


@pytest.mark.django_db(transaction=True)
def test_a_batch_into_an_existing_stream_costs_three_statements_in_one_transaction(
    django_assert_num_queries: Any,
) -> None:
    tenant_id, store_id = uuid.uuid4(), uuid.uuid4()
    _ingest([legacy_event(tenant_id, store_id)])
    batch = [legacy_event(tenant_id, store_id, base_version=0, command_id=str(uuid.uuid4())) for _ in range(100)]

    with django_assert_num_queries(5):  # BEGIN, lock counter, classify, insert everything, COMMIT
        result = _ingest(batch)

    assert result.accepted == 100


@pytest.mark.django_db(transaction=True)
def test_the_first_write_to_a_stream_creates_it_in_two_more(django_assert_num_queries: Any) -> None:
    event = legacy_event(uuid.uuid4(), uuid.uuid4())
    # The tenant's schema-registry lookups are cached per process (schemas.registry); warm them.
    schema_failures(tenant_id=uuid.UUID(event["tenant_id"]), events=[(event["event_type"], event["payload"], False)])
    # BEGIN, lock (miss), create stream, lock, insert, COMMIT: nothing is classified against the
    # stored rows unless the insert meets a stored event or command id
    with django_assert_num_queries(6):
        _ingest([event])


@pytest.mark.django_db(transaction=True)
def test_the_locked_path_classifies_when_the_plain_plan_meets_stored_ids(
    django_assert_num_queries: Any, settings: Any
) -> None:
    """Without a base_version the locked path appends without reading the stored rows; a
    replay or a used command id fails that insert, and the batch is classified and written."""
    settings.INGEST_OPTIMISTIC_APPEND = False
    tenant_id, store_id, command = uuid.uuid4(), uuid.uuid4(), str(uuid.uuid4())
    first = [legacy_event(tenant_id, store_id), legacy_event(tenant_id, store_id, command_id=command)]
    _ingest(first)
    fresh = legacy_event(tenant_id, store_id)
    same_command = legacy_event(tenant_id, store_id, command_id=command)

    with django_assert_num_queries(4):  # BEGIN, lock, insert, COMMIT
        alone = _ingest([fresh])
    # BEGIN, lock, insert (unique violation), ROLLBACK; BEGIN, lock, classify, insert, COMMIT
    with django_assert_num_queries(9):
        mixed = _ingest([first[0], same_command, legacy_event(tenant_id, store_id)])

    assert (alone.accepted, alone.sequence_start) == (1, 3)
    assert [r.sequence_number for r in mixed.receipts] == [1, 4]  # the replay keeps its number
    assert [r.reason for r in mixed.rejections] == ["DuplicateCommandId"]
    assert mixed.head == 4


@pytest.mark.django_db(transaction=True)
def test_a_request_with_only_invalid_hashes_takes_no_lock(django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(4):  # BEGIN, log rejections, read head, COMMIT
        result = _ingest([legacy_event(uuid.uuid4(), uuid.uuid4(), payload_hash="00" * 32)])

    assert result.accepted == 0


# --- model-based property: the database agrees with a few lines of Python -----------------

ENTITIES = ["a", "b", "c"]

operation = st.one_of(
    st.tuples(st.just("new"), st.sampled_from(ENTITIES), st.none() | st.integers(0, 4), st.booleans()),
    st.tuples(st.just("replay"), st.integers(0, 50), st.none(), st.booleans()),
    st.tuples(st.just("clash"), st.integers(0, 50), st.none(), st.booleans()),
)


@pytest.mark.django_db
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(operation, min_size=1, max_size=6), min_size=1, max_size=6))
def test_sequencing_agrees_with_an_in_memory_model(batches: list[list[tuple[str, Any, Any, bool]]]) -> None:
    tenant_id, store_id = uuid.uuid4(), uuid.uuid4()
    commands = [str(uuid.uuid4()) for _ in range(3)]
    model_events: list[dict[str, Any]] = []  # accepted, in sequence order
    model_versions: dict[str, int] = {}
    model_commands: set[str] = set()

    for batch in batches:
        events: list[dict[str, Any]] = []
        expected: list[tuple[str, Any]] = []  # ("accept", event) | ("replay", seq) | ("reject", reason)
        batch_ids: set[str] = set()
        for kind, arg, base, use_command in batch:
            if kind in ("replay", "clash") and model_events:
                original = model_events[arg % len(model_events)]
                event = dict(original) if kind == "replay" else {**original, "payload": {"changed": True}}
            else:
                entity = arg if kind == "new" else "a"
                extra: dict[str, Any] = {"entity_id": entity}
                if base is not None:
                    extra["base_version"] = base
                if use_command:
                    extra["command_id"] = commands[len(events) % len(commands)]
                event = legacy_event(tenant_id, store_id, **extra)
            events.append(event)

        pending_versions = dict(model_versions)
        pending_commands = set(model_commands)
        accepted_now: list[dict[str, Any]] = []
        for event in events:
            event_id = event["event_id"]
            stored = next((i for i, e in enumerate(model_events) if e["event_id"] == event_id), None)
            if event_id in batch_ids:
                expected.append(("reject", "DuplicateEventId"))
                continue
            batch_ids.add(event_id)
            if stored is not None:
                same = model_events[stored] == event
                expected.append(("replay", stored + 1) if same else ("reject", "DuplicateEventId"))
                continue
            command = event.get("command_id")
            if command is not None and command in pending_commands:
                expected.append(("reject", "DuplicateCommandId"))
                continue
            entity = event["entity_id"]
            if "base_version" in event and event["base_version"] != pending_versions.get(entity, 0):
                expected.append(("reject", "VersionConflict"))
                continue
            pending_versions[entity] = pending_versions.get(entity, 0) + 1
            if command is not None:
                pending_commands.add(command)
            accepted_now.append(event)
            expected.append(("accept", len(model_events) + len(accepted_now)))

        result = _ingest(events)

        receipts = iter(result.receipts)
        rejections = iter(result.rejections)
        for outcome, value in expected:
            if outcome == "reject":
                assert next(rejections).reason == value
            else:
                receipt = next(receipts)
                assert receipt.sequence_number == value
                assert receipt.replayed == (outcome == "replay")
        model_events.extend(accepted_now)
        model_versions, model_commands = pending_versions, pending_commands
        assert result.head == len(model_events)

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT event_id::text FROM events WHERE tenant_id = %s AND store_id = %s ORDER BY sequence_number",
            [tenant_id, store_id],
        )
        assert [row[0] for row in cursor.fetchall()] == [e["event_id"] for e in model_events]
