"""Migration 0013 rebuilds ``rejected_events_rejected_at_idx`` when an interrupted concurrent build
left it INVALID (``CREATE INDEX CONCURRENTLY IF NOT EXISTS`` alone would keep it: the retention
job would read the whole table at every batch); ``sequencer_project/db/rerunnable_ddl.py``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

INDEX = "rejected_events_rejected_at_idx"
MIGRATION = "0013_rejected_events_rejected_at_index"


def _migrate(targets: list[tuple[str, str]]) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


@pytest.fixture
def before_0013() -> Iterator[None]:
    """The schema before 0013; every migration applied again after the test, as other tests need
    (as ``tests/commitments/test_log_tiles_migration.py`` does)."""
    _migrate([("events", "0012_drop_events_created_at_index")])
    yield
    _migrate(list(MigrationExecutor(connection).loader.graph.leaf_nodes()))


def _valid(name: str) -> bool | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", [name])
        row = cursor.fetchone()
    return None if row is None else bool(row[0])


def _applied() -> bool:
    return ("events", MIGRATION) in MigrationExecutor(connection).loader.applied_migrations


def test_a_run_interrupted_during_the_build_leaves_a_valid_index_when_migrate_runs_again(before_0013: None) -> None:
    assert _valid(INDEX) is None
    assert not _applied()
    with connection.cursor() as cursor:  # the interrupted run: its build, left invalid
        cursor.execute(f"CREATE INDEX CONCURRENTLY {INDEX} ON rejected_events (rejected_at)")
        # what an interrupted CREATE INDEX CONCURRENTLY leaves (the test database's user is the
        # superuser postgres, who may write the catalog)
        cursor.execute("UPDATE pg_index SET indisvalid = false WHERE indexrelid = to_regclass(%s)", [INDEX])
    assert _valid(INDEX) is False

    call_command("migrate", "events", verbosity=0)

    assert _applied()
    assert _valid(INDEX) is True


def test_a_valid_index_is_kept_as_it_is(before_0013: None) -> None:
    call_command("migrate", "events", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)::oid", [INDEX])
        before = cursor.fetchone()
        _migrate([("events", "0012_drop_events_created_at_index")])  # recorded undone, index gone
        cursor.execute(f"CREATE INDEX CONCURRENTLY {INDEX} ON rejected_events (rejected_at)")  # a valid one
        cursor.execute("SELECT to_regclass(%s)::oid", [INDEX])
        kept = cursor.fetchone()
        assert kept != before

        call_command("migrate", "events", verbosity=0)

        cursor.execute("SELECT to_regclass(%s)::oid", [INDEX])
        assert cursor.fetchone() == kept
    assert _valid(INDEX) is True
