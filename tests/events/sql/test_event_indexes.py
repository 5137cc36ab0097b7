"""The legacy events table carries the indexes its statements read, and no more.

Every index costs each inserted event a B-tree entry and its WAL. ``events_created_at_idx`` was
read by no statement and, without planner statistics, drew the by-id lookup away from the
unique key (migration ``events/0012_drop_events_created_at_index``); an index added here
should name the statement that reads it in that statement's ``Index:`` header.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection

import events.sql

pytestmark = pytest.mark.django_db

# index -> a statement that reads it
READ_BY = {
    "events_pkey": "select_event_range.sql",  # also the counter's gap checks and appends' uniqueness
    "events_tenant_event_id_key": "select_event_by_id.sql",  # also event-id uniqueness per tenant
    "events_entity_idx": "select_entity_events.sql",
}


def test_events_has_exactly_the_indexes_its_statements_read() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'events'")
        names = {row[0] for row in cursor.fetchall()}
    assert names == set(READ_BY)


@pytest.mark.parametrize(("index", "statement"), sorted(READ_BY.items()))
def test_each_index_is_named_by_the_statement_that_reads_it(index: str, statement: str) -> None:
    header = (Path(events.sql.__file__).parent / statement).read_text()
    name = "events primary key" if index == "events_pkey" else index
    assert name in header
