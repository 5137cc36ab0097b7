"""The raw database ceiling: the ingest (or read) transaction of a scenario without the service.

N threads, each with its own psycopg 3 connection, run the statements one request's
transaction runs, taken from the project's own SQL files (``events/sql/``), for a fixed time:

* ``legacy``: lock the stream's counter row (``lock_counter.sql``, ``create_stream.sql`` on
  first write), ``classify_batch.sql``, then ``append_batch.sql`` (counter update, event rows
  with the same columns and a payload of the same size, entity versions), commit;
* ``ves``: the same with stream kind 2, ``classify_ves_batch.sql`` and ``insert_ves_batch.sql``
  (receipt columns filled with random bytes: signatures are verified before the transaction);
* ``reads``: ``select_event_by_id.sql``, ``select_entity_events.sql`` (a page of 100, or the
  shape's ``page``) and ``select_event_range.sql`` (100 events), in turn, on the seeded stream;
* ``head``: ``select_head.sql`` on the seeded stream; ``by_id``: ``select_event_by_id.sql``.

Writes go to scratch streams of a fresh tenant, deleted afterwards. Everything the
application does outside the transaction (HTTP, parsing, validation, hashing) is absent, so
this is what the database and one Python client per connection can do on this machine now.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg

from events.sql import (
    APPEND_BATCH,
    CLASSIFY_BATCH,
    CLASSIFY_VES_BATCH,
    INSERT_VES_BATCH,
    SELECT_ENTITY_EVENTS,
    SELECT_EVENT_BY_ID,
    SELECT_EVENT_RANGE,
    SELECT_HEAD,
)
from loadtest.scenarios import CeilingShape
from loadtest.sql import DELETE_SCRATCH_TENANT, SELECT_FREE_CONNECTIONS
from loadtest.stats import percentile
from streams.sql import CREATE_STREAM, LOCK_COUNTER

LEGACY_KIND = 1
NIL_AGENT = uuid.UUID(int=0)  # what the service stores when a batch names no agent
VES_KIND = 2
READ_KINDS = frozenset({"reads", "head", "by_id"})


@dataclass(frozen=True, slots=True)
class CeilingResult:
    shape: CeilingShape
    connections: int
    seconds: float
    transactions: int
    events: int
    p50_ms: float
    p99_ms: float
    p95_ms: float = 0.0

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    @property
    def transactions_per_second(self) -> float:
        return self.transactions / self.seconds if self.seconds else 0.0


@dataclass(frozen=True, slots=True)
class ReadFixture:
    """The seeded stream the ``reads`` shape queries (from ``loadtest.seed``)."""

    tenant_id: uuid.UUID
    store_id: uuid.UUID
    event_ids: list[uuid.UUID]
    entities: list[tuple[str, str]]
    head: int

    @property
    def stream_query(self) -> str:
        return f"tenant_id={self.tenant_id}&store_id={self.store_id}"

    @property
    def head_path(self) -> str:
        return f"/api/v1/head?{self.stream_query}"

    @property
    def by_id_paths(self) -> list[str]:
        return [f"/api/v1/events/{event_id}" for event_id in self.event_ids]

    @property
    def history_paths(self) -> list[str]:
        """Each entity's latest 20 events."""
        return [f"/api/v1/entities/{t}/{e}?{self.stream_query}&limit=20" for t, e in self.entities]

    @property
    def range_paths(self) -> list[str]:
        """Pages of 100 events from every 37th sequence number."""
        return [f"/api/v1/events?{self.stream_query}&from={n}&limit=100" for n in range(1, max(2, self.head - 98), 37)]


def payload_json(size: int) -> bytes:
    """A JSON object exactly ``size`` bytes long (at least its 28-byte skeleton)."""
    skeleton = orjson.dumps({"total": 42, "note": ""})
    return orjson.dumps({"total": 42, "note": "x" * max(0, size - len(skeleton))})


def _order_rows(first_sequence: int, count: int, created_at: str) -> Iterator[dict[str, Any]]:
    """The columns both kinds of row share: one ``order.created`` event per sequence number."""
    for sequence in range(first_sequence, first_sequence + count):
        event_id = uuid.uuid4()
        yield {
            "sequence_number": sequence,
            "event_id": event_id,
            "command_id": None,
            "entity_type": "order",
            "entity_id": f"order-{event_id}",
            "event_type": "order.created",
            "created_at": created_at,
            "base_version": None,
            "envelope_hash": os.urandom(32).hex(),
        }


def legacy_rows(first_sequence: int, count: int, created_at: str) -> list[dict[str, Any]]:
    """Rows for ``append_batch.sql``: the columns the service writes, numbered from ``first_sequence``
    (the payloads go beside them, as one ``bytea[]``)."""
    return [
        row
        | {
            "envelope_version": 1,
            "payload_format": 0,
            "payload_key_id": None,
            "payload_hash": os.urandom(32).hex(),
            "source_agent": NIL_AGENT,
            "signature": None,
        }
        for row in _order_rows(first_sequence, count, created_at)
    ]


def ves_rows(first_sequence: int, count: int, created_at: str) -> list[dict[str, Any]]:
    """Rows for ``insert_ves_batch.sql`` with random hashes and signatures of the right sizes (the
    payloads go beside them, as one ``bytea[]``)."""
    agent = uuid.uuid4()
    return [
        row
        | {
            "ves_version": 1,
            "source_agent_id": agent,
            "agent_key_id": 1,
            "created_at_str": created_at,
            "payload_kind": 0,
            "payload_encrypted": None,
            "payload_plain_hash": os.urandom(32).hex(),
            "payload_cipher_hash": os.urandom(32).hex(),
            "event_signing_hash": os.urandom(32).hex(),
            "agent_signature": os.urandom(64).hex(),
            "sequenced_at": created_at,
            "sequencer_id": agent,
            "receipt_hash": os.urandom(32).hex(),
            "signature_alg": "none",
            "sequencer_signature": None,
            "sequencer_key_version": 0,
        }
        for row in _order_rows(first_sequence, count, created_at)
    ]


def stream_for(connection_index: int, iteration: int, streams: int) -> int:
    """The stream a connection writes on its ``iteration``-th transaction (as the k6 scripts do)."""
    return (connection_index * 7 + iteration) % streams


def scratch_store(tenant_id: uuid.UUID, stream: int) -> uuid.UUID:
    return uuid.UUID(int=(tenant_id.int & ~0xFFFFFFFFFFFF) | stream)


class _Writer:
    """One connection's write transaction for a ``legacy`` or ``ves`` shape."""

    def __init__(self, shape: CeilingShape, tenant_id: uuid.UUID, payload_bytes: int) -> None:
        self.shape = shape
        self.tenant_id = tenant_id
        self.payload = payload_json(payload_bytes)
        ves = shape.kind == "ves"
        self.kind = VES_KIND if ves else LEGACY_KIND
        self.classify = CLASSIFY_VES_BATCH if ves else CLASSIFY_BATCH
        self.insert = INSERT_VES_BATCH if ves else APPEND_BATCH
        self.ves = ves

    def __call__(self, conn: psycopg.Connection[Any], index: int, iteration: int) -> int:
        stream = {
            "tenant_id": self.tenant_id,
            "store_id": scratch_store(self.tenant_id, stream_for(index, iteration, self.shape.streams)),
            "stream_kind": self.kind,
        }
        created_at = datetime.now(UTC).isoformat()
        with conn.transaction(), conn.cursor() as cursor:
            row = cursor.execute(LOCK_COUNTER, stream).fetchone()
            if row is None:
                cursor.execute(CREATE_STREAM, {**stream, "actor": "cli:loadtest-ceiling"})
                row = cursor.execute(LOCK_COUNTER, stream).fetchone()
            assert row is not None
            head = int(row[0])
            if self.ves:
                rows = ves_rows(head + 1, self.shape.batch, created_at)
            else:
                rows = legacy_rows(head + 1, self.shape.batch, created_at)
            payloads = [self.payload] * self.shape.batch
            cursor.execute(
                self.classify,
                {
                    **stream,
                    "event_ids": [r["event_id"] for r in rows],
                    "command_ids": [],
                    "entity_types": [],
                    "entity_ids": [],
                },
            )
            cursor.fetchall()
            cursor.execute(
                self.insert,
                {
                    **stream,
                    "rows": orjson.dumps(rows).decode(),
                    "payloads": payloads,
                    "rejections": "[]",
                    "expected_head": head,
                    "new_head": head + self.shape.batch,
                    "request_id": "ceiling",
                },
            )
            counts = cursor.fetchone()
            assert counts is not None
            assert counts[1] == self.shape.batch, counts
        return self.shape.batch


class _Reader:
    """One connection's read: for ``reads`` by id, entity page, range, in turn; else its one read."""

    def __init__(self, fixture: ReadFixture, shape: CeilingShape) -> None:
        self.fixture = fixture
        self.shape = shape

    def __call__(self, conn: psycopg.Connection[Any], index: int, iteration: int) -> int:
        f = self.fixture
        pick = (index * 7 + iteration) * 2654435761
        which = {"head": 3, "by_id": 0}.get(self.shape.kind, iteration % 3)
        with conn.cursor() as cursor:
            if which == 3:
                head = {"tenant_id": f.tenant_id, "store_id": f.store_id, "stream_kind": LEGACY_KIND}
                cursor.execute(SELECT_HEAD, head)
            elif which == 0:
                params: dict[str, Any] = {"tenant_id": f.tenant_id, "event_id": f.event_ids[pick % len(f.event_ids)]}
                cursor.execute(SELECT_EVENT_BY_ID, params)
            elif which == 1:
                entity_type, entity_id = f.entities[pick % len(f.entities)]
                params = {
                    "tenant_id": f.tenant_id,
                    "store_id": f.store_id,
                    "stream_kind": LEGACY_KIND,
                    "entity_type": entity_type,
                    "entity_id": entity_id,
                    "limit": self.shape.page,
                    "offset": 0,
                }
                cursor.execute(SELECT_ENTITY_EVENTS, params)
            else:
                start = 1 + pick % max(1, f.head - 99)
                params = {"tenant_id": f.tenant_id, "store_id": f.store_id, "from_seq": start, "to_seq": start + 99}
                cursor.execute(SELECT_EVENT_RANGE, params)
            cursor.fetchall()
        return 0


Work = Callable[[psycopg.Connection[Any], int, int], int]


def _run_threads(
    database_url: str, work: Work, connections: int, seconds: float, at_end: Callable[[], None] | None = None
) -> tuple[int, int, list[float], float]:
    """``connections`` threads run ``work`` until the deadline; ``at_end`` runs before they disconnect.

    (A backend's CPU can be read from /proc only while it lives, so the caller's CPU snapshot
    after the run goes in ``at_end``.)
    """
    errors: list[BaseException] = []
    totals = [(0, 0)] * connections
    latencies: list[list[float]] = [[] for _ in range(connections)]
    start_barrier = threading.Barrier(connections + 1)
    end_barrier = threading.Barrier(connections + 1)
    release = threading.Event()
    go = threading.Event()
    deadline = [0.0]

    def loop(index: int) -> None:
        try:
            with psycopg.connect(database_url, autocommit=True) as conn:
                start_barrier.wait()
                go.wait()
                done = events = 0
                while time.monotonic() < deadline[0]:
                    began = time.perf_counter()
                    events += work(conn, index, done)
                    latencies[index].append(time.perf_counter() - began)
                    done += 1
                totals[index] = (done, events)
                end_barrier.wait()
                release.wait()
        except BaseException as exc:  # reported after the join, the measurement is void
            errors.append(exc)
            start_barrier.abort()
            end_barrier.abort()

    threads = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(connections)]
    for thread in threads:
        thread.start()
    with contextlib.suppress(threading.BrokenBarrierError):  # a thread failed: its error is raised below
        start_barrier.wait()
    began = time.monotonic()
    deadline[0] = began + seconds
    go.set()
    with contextlib.suppress(threading.BrokenBarrierError):
        end_barrier.wait()
    elapsed = time.monotonic() - began
    try:
        if at_end is not None and not errors:
            at_end()
    finally:
        release.set()
        for thread in threads:
            thread.join()
    if errors:
        first = next((e for e in errors if not isinstance(e, threading.BrokenBarrierError)), errors[0])
        raise RuntimeError(f"ceiling measurement failed: {first!r}") from first
    merged = [x for per in latencies for x in per]
    return sum(t for t, _ in totals), sum(e for _, e in totals), merged, elapsed


# Connections a ceiling leaves PostgreSQL beyond its own: the runner's queries, and a pool of the
# idle service or anchor that opens one more.
CONNECTION_HEADROOM = 4


def connections_available(database_url: str, wanted: int) -> int:
    """``wanted``, or fewer when PostgreSQL would refuse that many more connections now (the
    service's and the anchor's pools stay open during the ceiling; at 64 connections the three
    together passed ``max_connections`` 100 and the ceiling failed with "too many clients")."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(SELECT_FREE_CONNECTIONS).fetchone()
    free = int(row[0]) + 1 if row else wanted  # this connection closes before the ceiling opens its own
    return max(1, min(wanted, free - CONNECTION_HEADROOM))


def measure_ceiling(
    database_url: str,
    shape: CeilingShape,
    *,
    connections: int,
    seconds: float,
    payload_bytes: int = 1024,
    reads: ReadFixture | None = None,
    tenant_id: uuid.UUID | None = None,
    cleanup: bool = True,
    at_end: Callable[[], None] | None = None,
) -> CeilingResult:
    """Run ``shape`` on ``connections`` parallel connections for ``seconds`` and count.

    Writes go to a fresh tenant (``tenant_id``, default a new one), deleted afterwards unless
    ``cleanup`` is false. ``at_end`` runs when the time is up, while the connections are still open.
    """
    tenant_id = tenant_id or uuid.uuid4()
    work: Work
    if shape.kind in READ_KINDS:
        if reads is None:
            raise ValueError(f"the {shape.kind} ceiling needs the seeded fixture")
        work = _Reader(reads, shape)
    else:
        work = _Writer(shape, tenant_id, payload_bytes)
    # The deadline is set once every thread holds a connection, so connecting is not timed.
    try:
        transactions, events, latencies, elapsed = _run_threads(database_url, work, connections, seconds, at_end)
    finally:
        if cleanup and shape.kind not in READ_KINDS:
            delete_scratch_tenant(database_url, tenant_id)
    return CeilingResult(
        shape=shape,
        connections=connections,
        seconds=elapsed,
        transactions=transactions,
        events=events,
        p50_ms=statistics.median(latencies) * 1000 if latencies else 0.0,
        p99_ms=percentile(latencies, 0.99) * 1000,
        p95_ms=percentile(latencies, 0.95) * 1000,
    )


def delete_scratch_tenant(database_url: str, tenant_id: uuid.UUID) -> None:
    """Remove every row the ceiling wrote (``loadtest/sql/delete_scratch_tenant.sql``)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(DELETE_SCRATCH_TENANT, {"tenant_id": tenant_id})
