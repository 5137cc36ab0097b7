"""The kept psycopg cursor of the hot statements: reused, replaced with its connection, and still
seen by Django's error mapping, query log and statement metrics (``sequencer_project.db.kept_cursor``)."""

from __future__ import annotations

import pytest
from django.db import ProgrammingError, connection
from django.test.utils import CaptureQueriesContext
from prometheus_client import REGISTRY

from sequencer_project.db.kept_cursor import fetch, kept_cursor
from sequencer_project.metrics import TALLY

pytestmark = pytest.mark.django_db(transaction=True)


def test_one_cursor_serves_a_connection_and_a_new_connection_gets_its_own() -> None:
    assert fetch("SELECT %(n)s::int", {"n": 1}) == [(1,)]
    first = kept_cursor(connection)
    assert fetch("SELECT %(n)s::int", {"n": 2}) == [(2,)]
    assert kept_cursor(connection) is first

    connection.close()
    assert fetch("SELECT %(n)s::int", {"n": 3}) == [(3,)]
    second = kept_cursor(connection)

    assert second is not first
    assert second.connection is connection.connection
    assert first.connection is not connection.connection


def test_a_failed_statement_raises_djangos_error_and_the_connection_goes_on() -> None:
    with pytest.raises(ProgrammingError):
        fetch("SELECT * FROM no_such_table_here", {})

    assert fetch("SELECT %(n)s::int", {"n": 4}) == [(4,)]


def test_binary_rows_are_asked_for_each_statement_and_read_to_the_same_values() -> None:
    text = fetch("SELECT %(n)s::bigint, %(s)s::text", {"n": 5, "s": "x"})
    binary = fetch("SELECT %(n)s::bigint, %(s)s::text", {"n": 5, "s": "x"}, binary=True)
    after = fetch("SELECT %(n)s::bigint", {"n": 6})

    assert text == binary == [(5, "x")]
    assert after == [(6,)]
    assert kept_cursor(connection).format == 0  # text again, as asked


def test_statements_are_in_djangos_query_log_and_timed_by_kind() -> None:
    def timed() -> float:
        TALLY.flush()
        return REGISTRY.get_sample_value("db_query_duration_seconds_count", {"statement": "select"}) or 0.0

    before = timed()
    with CaptureQueriesContext(connection) as captured:
        fetch("SELECT %(n)s::int", {"n": 7})

    assert [query["sql"] for query in captured.captured_queries] == ["SELECT %(n)s::int"]
    assert timed() == before + 1
