"""The reliability suite's checks find what they claim to find (a check that never fails proves nothing)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from reliability import checks
from reliability.load import Ack, Ledger
from tests.conftest import legacy_event
from tests.events.services.test_event_ingest import _ingest
from tests.sequencer_project.ops_helpers import child_database_url
from ves.legacy_json import payload_hash


def test_ranges_must_tile_one_to_head() -> None:
    heads = {"s": 6}
    assert checks._tiles([("s", 1, 3), ("s", 4, 6)], heads, "c") == []
    assert len(checks._tiles([("s", 1, 3), ("s", 3, 6)], heads, "c")) == 1  # sealed twice
    assert len(checks._tiles([("s", 1, 3), ("s", 5, 6)], heads, "c")) == 1  # gap
    assert len(checks._tiles([("s", 1, 3)], heads, "c")) == 1  # behind the head
    assert len(checks._tiles([], heads, "c")) == 1


@pytest.fixture
def conn() -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(child_database_url(), autocommit=True) as connection:
        yield connection


@pytest.mark.django_db(transaction=True)
def test_a_lost_or_renumbered_acknowledged_event_and_a_gap_are_reported(conn: psycopg.Connection[Any]) -> None:
    tenant, store = uuid.uuid4(), uuid.uuid4()
    events = [legacy_event(tenant, store, entity_id="e", base_version=i) for i in range(3)]
    result = _ingest(events)
    ledger = Ledger(str(tenant), "unused")
    for event, receipt in zip(events, result.receipts, strict=True):
        ledger.acks[event["event_id"]] = Ack(str(store), receipt.sequence_number, payload_hash(event["payload"]), "e")

    assert checks.streams_gap_free(conn, str(tenant))[0] == []
    assert checks.acknowledged_events_stored(conn, ledger) == ([], 0)
    assert checks.versions_in_order(conn, str(tenant)) == []

    renumbered = events[0]["event_id"]
    ledger.acks[renumbered] = Ack(str(store), 3, ledger.acks[renumbered].payload_hash, "e")
    ledger.acks[str(uuid.uuid4())] = Ack(str(store), 4, b"", "e")  # acknowledged, never stored
    conn.execute("DELETE FROM events WHERE tenant_id = %s AND sequence_number = 2", [tenant])

    assert len(checks.streams_gap_free(conn, str(tenant))[0]) == 1
    problems, _ = checks.acknowledged_events_stored(conn, ledger)
    assert len(problems) == 3  # renumbered, deleted, never stored
    assert len(checks.versions_in_order(conn, str(tenant))) == 1  # base_version 2 is now the 2nd event
