"""The projection's state read probes the primary key once per entity, whatever the statistics.

``select_entity_states_for_update.sql`` once joined the batch's keys to ``entity_state``; with
statistics from when the table was small (or none, autovacuum off), PostgreSQL scanned every
state of the stream for each batch of 500 events: 10 ms per projected event at 50,000 states, so
the background fell further behind the longer a load ran. The plan is read here on a table that
has no statistics yet, with the generic plan a prepared statement gets, as the worker runs it.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from django.db import connection

from events.sql import SELECT_ENTITY_STATES_FOR_UPDATE

pytestmark = pytest.mark.django_db


def _scans(node: dict[str, Any]) -> list[dict[str, Any]]:
    found = [node] if node.get("Relation Name") == "entity_state" else []
    for child in node.get("Plans", []):
        found.extend(_scans(child))
    return found


def test_each_entity_is_one_primary_key_probe_under_a_generic_plan() -> None:
    tenant_id, store_id = uuid.uuid4(), uuid.uuid4()
    connection.ensure_connection()
    raw = connection.connection  # psycopg, to prepare the statement as the worker's connection does
    with raw.cursor() as cursor:
        cursor.execute(
            "INSERT INTO entity_state (tenant_id, store_id, entity_type, entity_id, version, last_sequence,"
            " last_event_id, last_event_type, state, updated_at)"
            " SELECT %s, %s, 'order', 'order-' || n, 1, n, gen_random_uuid(), 'order.created', '{}', now()"
            " FROM generate_series(1, 2000) AS n",
            (tenant_id, store_id),
        )
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        params = {
            "tenant_ids": [tenant_id] * 3,
            "store_ids": [store_id] * 3,
            "entity_types": ["order"] * 3,
            "entity_ids": ["order-1", "order-2", "order-3"],
        }
        cursor.execute("EXPLAIN (FORMAT JSON) " + SELECT_ENTITY_STATES_FOR_UPDATE, params, prepare=True)
        plan = cursor.fetchone()[0]

    scans = _scans((json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"])
    assert scans, plan
    for scan in scans:
        assert scan["Node Type"] == "Index Scan", plan
        assert "entity_id" in scan["Index Cond"], plan  # the whole key, not the stream's prefix
        assert "Filter" not in scan, plan
