"""The raw database ceiling: its rows, its stream choice, and a short live measurement."""

from __future__ import annotations

import uuid

import orjson
import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from loadtest.ceiling import (
    CONNECTION_HEADROOM,
    ReadFixture,
    connections_available,
    delete_scratch_tenant,
    legacy_rows,
    measure_ceiling,
    payload_json,
    scratch_store,
    stream_for,
    ves_rows,
)
from loadtest.scenarios import CeilingShape
from loadtest.sql import SELECT_FREE_CONNECTIONS
from loadtest.stats import percentile
from tests.sequencer_project.ops_helpers import child_database_url


@given(st.integers(28, 20_000))
def test_payloads_are_json_objects_of_exactly_the_requested_size(size: int) -> None:
    text = payload_json(size)
    assert len(text) == size
    assert orjson.loads(text)["total"] == 42


@given(st.integers(1, 10_000), st.integers(1, 50))
def test_rows_are_numbered_consecutively_from_the_head_with_distinct_event_ids(first: int, count: int) -> None:
    for rows in (
        legacy_rows(first, count, "2026-11-27T00:00:00+00:00"),
        ves_rows(first, count, "2026-11-27T00:00:00+00:00"),
    ):
        assert [r["sequence_number"] for r in rows] == list(range(first, first + count))
        assert len({r["event_id"] for r in rows}) == count


@given(st.integers(1, 32), st.integers(1, 128))
def test_every_stream_is_written_by_some_connection_within_one_round(connections: int, streams: int) -> None:
    written = {stream_for(c, i, streams) for c in range(connections) for i in range(streams)}
    assert written == set(range(streams))


def test_scratch_stores_are_distinct_per_stream_and_keep_the_tenant_prefix() -> None:
    tenant = uuid.uuid4()
    stores = [scratch_store(tenant, n) for n in range(64)]
    assert len(set(stores)) == 64
    assert all(str(s)[:24] == str(tenant)[:24] for s in stores)


@given(st.lists(st.floats(0, 1e6), min_size=1, max_size=300), st.floats(0, 1))
def test_a_percentile_is_one_of_the_values_and_grows_with_q(values: list[float], q: float) -> None:
    got = percentile(values, q)
    assert got in values
    assert percentile(values, 0) <= got <= percentile(values, 1) == max(values)


def _stream_invariants(url: str, tenant_id: uuid.UUID, kind: int, table: str) -> list[tuple[int, int, int, int]]:
    """Per stream: (counter, count, min, max) of the stored numbers."""
    with psycopg.connect(url) as conn:
        return conn.execute(
            f"SELECT c.current_sequence, count(e.*), coalesce(min(e.sequence_number), 0), "  # noqa: S608  (fixed table)
            f"coalesce(max(e.sequence_number), 0) FROM sequence_counters c LEFT JOIN {table} e "
            "ON e.tenant_id = c.tenant_id AND e.store_id = c.store_id "
            "WHERE c.tenant_id = %s AND c.stream_kind = %s GROUP BY c.store_id, c.current_sequence",
            (tenant_id, kind),
        ).fetchall()


@pytest.mark.django_db(transaction=True)
def test_the_ceiling_writes_gap_free_streams_reads_them_back_and_cleans_up() -> None:
    url = child_database_url()
    tenant_id = uuid.uuid4()
    legacy = measure_ceiling(
        url,
        CeilingShape("legacy", 10, 3),
        connections=2,
        seconds=0.5,
        payload_bytes=256,
        tenant_id=tenant_id,
        cleanup=False,
    )
    ves = measure_ceiling(
        url,
        CeilingShape("ves", 5, 2),
        connections=2,
        seconds=0.5,
        payload_bytes=256,
        tenant_id=tenant_id,
        cleanup=False,
    )
    assert legacy.events == legacy.transactions * 10 > 0
    assert ves.events == ves.transactions * 5 > 0
    legacy_streams = _stream_invariants(url, tenant_id, 1, "events")
    assert sum(count for _, count, _, _ in legacy_streams) == legacy.events
    assert all(head == count == high and (low == 1 or count == 0) for head, count, low, high in legacy_streams)
    ves_streams = _stream_invariants(url, tenant_id, 2, "ves_events")
    assert sum(count for _, count, _, _ in ves_streams) == ves.events

    with psycopg.connect(url) as conn:
        store = scratch_store(tenant_id, 0)
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT event_id FROM events WHERE tenant_id = %s AND store_id = %s", (tenant_id, store)
            )
        ]
        entities = [("order", f"order-{i}") for i in ids[:5]]
    reads = measure_ceiling(
        url,
        CeilingShape("reads"),
        connections=2,
        seconds=0.3,
        reads=ReadFixture(tenant_id, store, ids, entities, len(ids)),
    )
    assert reads.transactions > 0
    assert reads.events == 0

    delete_scratch_tenant(url, tenant_id)
    with psycopg.connect(url) as conn:
        left = conn.execute(
            "SELECT (SELECT count(*) FROM events WHERE tenant_id = %(t)s) + "
            "(SELECT count(*) FROM ves_events WHERE tenant_id = %(t)s) + "
            "(SELECT count(*) FROM sequence_counters WHERE tenant_id = %(t)s) + "
            "(SELECT count(*) FROM tenants WHERE id = %(t)s)",
            {"t": tenant_id},
        ).fetchone()
    assert left == (0,)


@pytest.mark.django_db(transaction=True)
def test_the_head_and_by_id_ceilings_read_and_at_end_runs_while_every_connection_is_open() -> None:
    url = child_database_url()
    tenant_id = uuid.uuid4()
    measure_ceiling(url, CeilingShape("legacy", 5, 1), connections=1, seconds=0.2, tenant_id=tenant_id, cleanup=False)
    store = scratch_store(tenant_id, 0)
    with psycopg.connect(url) as conn:
        ids = [r[0] for r in conn.execute("SELECT event_id FROM events WHERE tenant_id = %s", (tenant_id,))]
    fixture = ReadFixture(tenant_id, store, ids, [("order", f"order-{ids[0]}")], len(ids))
    dbname = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    seen: list[int] = []

    def count_backends() -> None:
        with psycopg.connect(url) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid() "
                "AND application_name = ''",
                (dbname,),
            ).fetchone()
        seen.append(int(row[0]) if row else 0)

    try:
        for kind in ("head", "by_id"):
            result = measure_ceiling(
                url, CeilingShape(kind), connections=3, seconds=0.2, reads=fixture, at_end=count_backends
            )
            assert result.transactions > 0
            assert result.events == 0
            assert result.p50_ms <= result.p95_ms <= result.p99_ms
    finally:
        delete_scratch_tenant(url, tenant_id)
    assert len(seen) == 2
    assert all(n >= 3 for n in seen), seen  # the 3 ceiling connections were still there


@pytest.mark.django_db(transaction=True)
def test_the_ceiling_asks_for_no_more_connections_than_postgresql_would_still_accept() -> None:
    """What is free now, less the headroom; three connections held lower it by three; never more
    than wanted. The other test workers open and close connections too, so each comparison is
    taken again until one pair of readings was not disturbed (20 tries)."""
    url = child_database_url()
    assert connections_available(url, 1) == 1

    def free_now() -> int:
        with psycopg.connect(url, autocommit=True) as conn:
            row = conn.execute(SELECT_FREE_CONNECTIONS).fetchone()
        assert row is not None
        return int(row[0]) + 1  # this reading's own connection is closed again

    matched: list[str] = []
    for _ in range(20):
        free, available = free_now(), connections_available(url, 10_000)
        if available == free - CONNECTION_HEADROOM:
            matched.append("free less headroom")
            break
    for _ in range(20):
        before = connections_available(url, 10_000)
        held = [psycopg.connect(url, autocommit=True) for _ in range(3)]
        try:
            after = connections_available(url, 10_000)
        finally:
            for conn in held:
                conn.close()
        if before - after == 3:
            matched.append("three held, three fewer")
            break
    assert matched == ["free less headroom", "three held, three fewer"]
