"""The projection's state reads probe whole keys once per entity, whatever the statistics.

``select_entity_states_for_update.sql`` once joined the batch's keys to ``entity_state``; with
statistics from when the table was small (or none, autovacuum off), PostgreSQL scanned every
state of the stream for each batch of 500 events: 10 ms per projected event at 50,000 states, so
the background fell further behind the longer a load ran. Its join to the event a state by
reference names (ADR 0036) did the same to ``events``: without statistics the generic plan took
``events_entity_idx`` by ``(tenant_id, store_id)`` alone and filtered the sequence number, so
every entity read the whole stream (statement timeout, projection stuck, at 1M events). The plan
is read here with the generic plan a prepared statement gets, as the worker runs it: first on
tables that have no statistics yet, then once more after ``ANALYZE`` of the stream's partition.
``select_entity_state.sql`` (``GET …/state``) had the same join to ``events`` and is held to the
same rule.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from django.db import connection
from psycopg import ClientCursor

from events.sql import SELECT_ENTITY_STATE, SELECT_ENTITY_STATES_FOR_UPDATE
from sequencer_project.db.prepared import positional

pytestmark = pytest.mark.django_db

EVENTS = 3000  # one stream's events: a few thousand, each an entity's one event
STATES = 2000  # the entities whose state refers to their event
TYPES = {
    "tenant_ids": "uuid[]",
    "store_ids": "uuid[]",
    "entity_types": "text[]",
    "entity_ids": "text[]",
    "tenant_id": "uuid",
    "store_id": "uuid",
    "entity_type": "text",
    "entity_id": "text",
}


def _scans(node: dict[str, Any], relation: str) -> list[dict[str, Any]]:
    found = [node] if node.get("Relation Name") == relation else []
    for child in node.get("Plans", []):
        found.extend(_scans(child, relation))
    return found


def _explain(cursor: Any, arguments: str, values: list[Any]) -> dict[str, Any]:
    cursor.execute(f"EXPLAIN (FORMAT JSON) EXECUTE entity_states_plan ({arguments})", values)
    plan = cursor.fetchone()[0]
    return (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]  # type: ignore[no-any-return]


def _key_columns(cursor: Any, index: str) -> list[str]:
    cursor.execute(
        "SELECT a.attname FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) AS k(attnum)"
        " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum"
        " WHERE i.indexrelid = %s::regclass",
        (index,),
    )
    return [name for (name,) in cursor.fetchall()]


def _assert_state_probes(plan: dict[str, Any]) -> None:
    scans = _scans(plan, "entity_state")
    assert scans, plan
    for scan in scans:
        assert scan["Node Type"] == "Index Scan", plan
        assert "entity_id" in scan["Index Cond"], plan  # the whole key, not the stream's prefix
        assert "Filter" not in scan, plan


def _assert_event_probes(cursor: Any, plan: dict[str, Any], partition: str) -> None:
    """The stream's partition is read by an index scan bounded by every column of its key (no
    prefix scan with the rest filtered): the primary key, or another events index named whole."""
    scans = _scans(plan, partition)
    assert scans, plan
    for scan in scans:
        assert scan["Node Type"] == "Index Scan", plan
        for column in _key_columns(cursor, scan["Index Name"]):
            assert re.search(rf"\(\(?{column}\)?(::\w+)? = ", scan["Index Cond"]), (column, plan)
        assert "sequence_number" not in scan.get("Filter", ""), plan


@pytest.mark.parametrize("read", ["the batch's locking read", "the state endpoint's read"])
def test_each_entity_is_whole_key_probes_under_a_generic_plan_with_and_without_statistics(read: str) -> None:
    tenant_id, store_id = uuid.uuid4(), uuid.uuid4()
    sql = SELECT_ENTITY_STATES_FOR_UPDATE if read == "the batch's locking read" else SELECT_ENTITY_STATE
    statement, names = positional(sql)  # as the worker's (or the web's) prepared statement
    connection.ensure_connection()
    with ClientCursor(connection.connection) as cursor:
        cursor.execute(
            "INSERT INTO events (tenant_id, store_id, sequence_number, event_id, entity_type, entity_id,"
            " event_type, payload, payload_hash, envelope_hash, source_agent, created_at)"
            " SELECT %s, %s, n, gen_random_uuid(), 'order', 'order-' || n, 'order.created', '\\x7b7d',"
            " sha256('{}'), sha256(n::text::bytea), gen_random_uuid(), now()"
            " FROM generate_series(1, %s) AS n",
            (tenant_id, store_id, EVENTS),
        )
        cursor.execute(
            "INSERT INTO entity_state (tenant_id, store_id, entity_type, entity_id, version, last_sequence,"
            " last_event_id, last_event_type, state_event_sequence, updated_at)"
            " SELECT tenant_id, store_id, entity_type, entity_id, 1, sequence_number, event_id, event_type,"
            " sequence_number, now() FROM events WHERE tenant_id = %s AND store_id = %s AND sequence_number <= %s",
            (tenant_id, store_id, STATES),
        )
        cursor.execute("SELECT tableoid::regclass::text FROM events WHERE tenant_id = %s LIMIT 1", (tenant_id,))
        partition = cursor.fetchone()[0]  # type: ignore[index]
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cursor.execute(f"PREPARE entity_states_plan ({', '.join(TYPES[n] for n in names)}) AS {statement}")
        values = {
            "tenant_ids": [tenant_id] * 3,
            "store_ids": [store_id] * 3,
            "entity_types": ["order"] * 3,
            "entity_ids": ["order-1", "order-2", "order-3"],
            "tenant_id": tenant_id,
            "store_id": store_id,
            "entity_type": "order",
            "entity_id": "order-2",
        }
        arguments = ", ".join(f"%s::{TYPES[n]}" for n in names)
        try:
            without_statistics = _explain(cursor, arguments, [values[n] for n in names])
            _assert_state_probes(without_statistics)
            _assert_event_probes(cursor, without_statistics, partition)

            # Statistics roll back with the test's transaction; the partition's row count in
            # pg_class does not (written in place), which no other test reads.
            cursor.execute(f"ANALYZE {partition}")
            with_statistics = _explain(cursor, arguments, [values[n] for n in names])
            _assert_state_probes(with_statistics)
            _assert_event_probes(cursor, with_statistics, partition)
        finally:
            cursor.execute("DEALLOCATE entity_states_plan")
