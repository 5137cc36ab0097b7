"""The cross-stream append probes each stream's counter by its whole key, whatever the statistics.

A first ``append_streams.sql`` found the counters with ``= ANY`` over the tenant and store arrays;
PostgreSQL used only the tenant for the index and filtered the stores, so each statement read
every stream of the tenant (under load, ~600 rows fetched per event). The plan is read here with
the generic plan a prepared statement gets, on a tenant with 2,000 streams.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from django.db import connection
from psycopg import ClientCursor

from events.sql import APPEND_STREAMS
from sequencer_project.db.prepared import positional
from streams.kinds import StreamKind

pytestmark = pytest.mark.django_db

TYPES = {
    "tenant_ids": "uuid[]",
    "store_ids": "uuid[]",
    "expected_heads": "bigint[]",
    "new_heads": "bigint[]",
    "stream_kind": "smallint",
    "rows": "text",
    "payloads": "bytea[]",
    "rejections": "text",
}


def _scans(node: dict[str, Any]) -> list[dict[str, Any]]:
    found = [node] if node.get("Relation Name") == "sequence_counters" and "Scan" in node["Node Type"] else []
    for child in node.get("Plans", []):
        found.extend(_scans(child))
    return found


def test_each_stream_is_one_primary_key_probe_under_a_generic_plan() -> None:
    tenant_id = uuid.uuid4()
    statement, names = positional(APPEND_STREAMS)  # the numbering the appends are prepared with
    connection.ensure_connection()
    with ClientCursor(connection.connection) as cursor:
        cursor.execute(
            "INSERT INTO sequence_counters (tenant_id, store_id, stream_kind, current_sequence, updated_at)"
            " SELECT %s, gen_random_uuid(), %s, 1, now() FROM generate_series(1, 2000)",
            (tenant_id, int(StreamKind.LEGACY)),
        )
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cursor.execute(f"PREPARE append_streams_plan ({', '.join(TYPES[n] for n in names)}) AS {statement}")
        stores = [uuid.uuid4(), uuid.uuid4()]
        values = {
            "tenant_ids": [tenant_id, tenant_id],
            "store_ids": stores,
            "expected_heads": [0, 0],
            "new_heads": [1, 1],
            "stream_kind": int(StreamKind.LEGACY),
            "rows": "[]",
            "payloads": [],
            "rejections": "[]",
        }
        arguments = ", ".join(f"%s::{TYPES[n]}" for n in names)
        cursor.execute(f"EXPLAIN (FORMAT JSON) EXECUTE append_streams_plan ({arguments})", [values[n] for n in names])
        plan = cursor.fetchone()[0]  # type: ignore[index]
        cursor.execute("DEALLOCATE append_streams_plan")

    scans = _scans((json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"])
    assert len(scans) == 2, plan  # the lock and the update
    for scan in scans:
        assert scan["Node Type"] == "Index Scan", plan
        assert "store_id" in scan["Index Cond"], plan  # the whole key, not the tenant's prefix
        assert "Filter" not in scan or "store_id" not in scan["Filter"], plan
