"""What must hold after a run, read straight from the database of the private stack.

Every function returns the list of violations it found (empty = the property holds), so the
driver can print each property with its count of violations.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import psycopg

from reliability import sql
from reliability.load import Ledger


@dataclass(frozen=True)
class StreamFacts:
    streams: int
    events_stored: int
    stored_not_acknowledged: int


def _rows(conn: psycopg.Connection[Any], statement: str, tenant_id: str) -> list[tuple[Any, ...]]:
    return conn.execute(statement, {"tenant_id": tenant_id}).fetchall()


def streams_gap_free(conn: psycopg.Connection[Any], tenant_id: str) -> tuple[list[str], StreamFacts | None]:
    """Every stream holds exactly ``1..head``: no gap, no duplicate number, counter = highest."""
    problems = []
    stored = 0
    rows = _rows(conn, sql.STREAM_SUMMARY, tenant_id)
    for store, head, count, low, high, distinct in rows:
        stored += count
        if not (count == distinct == high == head and (count == 0 or low == 1)):
            problems.append(f"stream {store}: head {head}, {count} rows, numbers {low}..{high}, {distinct} distinct")
    return problems, StreamFacts(len(rows), stored, 0)


def acknowledged_events_stored(conn: psycopg.Connection[Any], ledger: Ledger) -> tuple[list[str], int]:
    """Every acknowledged event is stored in its stream under its number with its payload hash.

    Also returns how many stored events no client saw acknowledged (requests cut off by a
    crash after the commit: allowed, and reported).
    """
    problems = []
    stored = {row[0]: row for row in _rows(conn, sql.TENANT_EVENTS, ledger.tenant_id)}
    for event_id, ack in ledger.acks.items():
        row = stored.get(event_id)
        if row is None:
            problems.append(f"acknowledged event {event_id} (#{ack.sequence_number}) is lost")
        elif (row[1], row[2], bytes(row[3])) != (ack.store_id, ack.sequence_number, ack.payload_hash):
            problems.append(f"event {event_id} acknowledged as {ack.store_id}#{ack.sequence_number}, stored {row[1:4]}")
    unacknowledged = len(set(stored) - set(ledger.acks))
    return problems, unacknowledged


def versions_in_order(conn: psycopg.Connection[Any], tenant_id: str) -> list[str]:
    """An accepted event with ``base_version`` v is the (v+1)-th event of its entity."""
    problems = []
    seen: dict[tuple[str, str], int] = defaultdict(int)
    for event_id, store, number, _, entity, base_version in _rows(conn, sql.TENANT_EVENTS, tenant_id):
        key = (store, entity)
        if base_version is not None and base_version != seen[key]:
            problems.append(
                f"{event_id} (#{number}) accepted with base_version {base_version}, version was {seen[key]}"
            )
        seen[key] += 1
    return problems


def _tiles(ranges: list[tuple[str, int, int]], heads: dict[str, int], what: str) -> list[str]:
    """Ranges per stream start at 1, follow each other exactly and end at the head."""
    problems = []
    end_by_store: dict[str, int] = defaultdict(int)
    for store, start, end in ranges:
        if start != end_by_store[store] + 1 or end < start:
            problems.append(f"{what} {store}: range {start}..{end} after {end_by_store[store]} (gap or duplicate)")
        end_by_store[store] = max(end_by_store[store], end)
    for store, head in heads.items():
        if end_by_store[store] != head:
            problems.append(f"{what} {store}: covers 1..{end_by_store[store]} of {head}")
    return problems


def commitments_caught_up(conn: psycopg.Connection[Any], tenant_id: str) -> list[str]:
    """Commitments of each legacy stream tile ``1..head``: caught up, nothing sealed twice."""
    heads = {row[0]: int(row[1]) for row in _rows(conn, sql.STREAM_SUMMARY, tenant_id)}
    return _tiles(
        [(r[0], int(r[1]), int(r[2])) for r in _rows(conn, sql.COMMITMENT_RANGES, tenant_id)], heads, "commitments"
    )


def projections_caught_up(conn: psycopg.Connection[Any], tenant_id: str) -> list[str]:
    return [f"projection on {r[0]} at {r[2]} of {r[1]}" for r in _rows(conn, sql.PROJECTION_BEHIND, tenant_id)]


def payment_batches_caught_up(conn: psycopg.Connection[Any], tenant_id: str) -> tuple[list[str], int, int]:
    """Every sequenced intent is in exactly one batch; batch ranges tile each stream's intents."""
    intents = _rows(conn, sql.PAYMENT_INTENT_STATES, tenant_id)
    batches = _rows(conn, sql.PAYMENT_BATCH_RANGES, tenant_id)
    heads: dict[str, int] = defaultdict(int)
    problems = []
    for intent_id, store, number, status, batch_id in intents:
        heads[store] = max(heads[store], int(number))
        if batch_id is None:
            problems.append(f"intent {intent_id} (#{number}, {status}) is in no batch")
    problems += _tiles([(r[0], int(r[1]), int(r[2])) for r in batches], dict(heads), "x402 batches")
    if sum(int(r[3]) for r in batches) != len(intents):
        problems.append(f"batches count {sum(int(r[3]) for r in batches)} payments for {len(intents)} intents")
    return problems, len(intents), len(batches)
