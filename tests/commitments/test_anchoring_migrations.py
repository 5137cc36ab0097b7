"""Migrations 0006 and 0007 rebuild an index that an interrupted concurrent build left INVALID
(``CREATE INDEX CONCURRENTLY IF NOT EXISTS`` alone would keep it), and the sweep reads 0007's.

They are not atomic, so Django records them only after their last step, and a run interrupted
after any step (or during an index build) is run again from the first: every step is idempotent,
and ``migrate`` then completes with valid indexes and validated checks."""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Sequence

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations import RunPython, RunSQL
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.operations.base import Operation
from django.db.migrations.state import ProjectState

from commitments.sql import schema_0006, schema_0007

pytestmark = pytest.mark.django_db(transaction=True)


def _valid(name: str) -> bool | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", [name])
        row = cursor.fetchone()
    return None if row is None else bool(row[0])


def _invalidate(name: str) -> None:
    """What an interrupted ``CREATE INDEX CONCURRENTLY`` leaves (the test database's user is the
    superuser ``postgres``, who may write the catalog)."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE pg_index SET indisvalid = false WHERE indexrelid = to_regclass(%s)", [name])
    assert _valid(name) is False


def _create_steps(migration: str, build: str) -> list[RunPython | RunSQL]:
    """The migration's RunPython step that drops an invalid index and the build right after it."""
    operations = importlib.import_module(f"commitments.migrations.{migration}").Migration.operations
    [at] = [i for i, op in enumerate(operations) if isinstance(op, RunSQL) and op.sql == build]
    assert isinstance(operations[at - 1], RunPython)
    return [operations[at - 1], operations[at]]


def _run(steps: Sequence[Operation]) -> None:
    """Apply ``steps`` as ``migrate`` does (non-atomic: no transaction around them)."""
    state = ProjectState()  # the steps read no model state
    with connection.schema_editor(atomic=False) as editor:
        for step in steps:
            step.database_forwards("commitments", editor, state, state)


@pytest.fixture
def unanchored_index() -> Iterator[None]:
    """0006's index, which 0007 dropped, back for the test; dropped again after it."""
    with connection.schema_editor(atomic=False) as editor:
        editor.execute(schema_0006.BUILD_INDEX)
    yield
    with connection.schema_editor(atomic=False) as editor:
        editor.execute(schema_0006.DROP_INDEX)


def test_0006_rebuilds_an_invalid_sweep_index(unanchored_index: None) -> None:
    name = "commitments_unanchored_idx"
    _invalidate(name)

    _run(_create_steps("0006_anchoring_state", schema_0006.BUILD_INDEX))

    assert _valid(name) is True


@pytest.mark.parametrize(
    ("name", "build"),
    [
        ("commitments_anchor_due_idx", schema_0007.BUILD_DUE_INDEX),
        ("commitments_anchor_given_up_idx", schema_0007.BUILD_GIVEN_UP_INDEX),
    ],
)
def test_0007_rebuilds_its_invalid_indexes(name: str, build: str) -> None:
    assert _valid(name) is True
    _invalidate(name)

    _run(_create_steps("0007_anchor_signed_tx_and_attempts", build))

    assert _valid(name) is True


def test_a_valid_index_is_kept_as_it_is() -> None:
    name = "commitments_anchor_due_idx"
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)::oid", [name])
        before = cursor.fetchone()

        _run(_create_steps("0007_anchor_signed_tx_and_attempts", schema_0007.BUILD_DUE_INDEX))

        cursor.execute("SELECT to_regclass(%s)::oid", [name])
        assert cursor.fetchone() == before
    assert _valid(name) is True
    assert _valid("commitments_unanchored_idx") is None  # replaced by 0007


# An interrupted run: migrate back to before the migration, run its first steps by hand (the last
# of them, when it is an index build, left INVALID as an interrupted build leaves it), then
# ``migrate`` runs it again from its first step.

MIGRATIONS = {
    "0006_anchoring_state": "0005_tenant_keys",
    "0007_anchor_signed_tx_and_attempts": "0006_anchoring_state",
}
INDEXES = {
    "0006_anchoring_state": ["commitments_unanchored_idx"],
    "0007_anchor_signed_tx_and_attempts": ["commitments_anchor_due_idx", "commitments_anchor_given_up_idx"],
}
CHECKS = {
    "0006_anchoring_state": ["commitments_anchor_pending_tx_hash_check"],
    "0007_anchor_signed_tx_and_attempts": ["commitments_anchor_signed_tx_check", "commitments_anchor_attempts_check"],
}


def _migrate(targets: list[tuple[str, str]]) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


@pytest.fixture
def latest_schema_afterwards() -> Iterator[None]:
    """The test moves the schema back; every migration is applied again after it, as other tests
    need (as ``tests/commitments/test_log_tiles_migration.py`` does)."""
    yield
    _migrate(list(MigrationExecutor(connection).loader.graph.leaf_nodes()))


def _operations(migration: str) -> list[Operation]:
    return list(importlib.import_module(f"commitments.migrations.{migration}").Migration.operations)


def _built_index(op: Operation) -> str | None:
    """The index ``op`` builds concurrently, if it is such a build."""
    if isinstance(op, RunSQL) and isinstance(op.sql, str) and op.sql.startswith("CREATE INDEX CONCURRENTLY"):
        return op.sql.split()[6]  # CREATE INDEX CONCURRENTLY IF NOT EXISTS <name>
    return None


def _applied(migration: str) -> bool:
    return ("commitments", migration) in MigrationExecutor(connection).loader.applied_migrations


def _checks_validated(names: list[str]) -> dict[str, bool]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, convalidated FROM pg_constraint"
            " WHERE conrelid = 'commitments'::regclass AND conname = ANY(%s)",
            [names],
        )
        return {name: bool(valid) for name, valid in cursor.fetchall()}


def _cases() -> list[tuple[str, int]]:
    return [(migration, done) for migration in MIGRATIONS for done in range(1, len(_operations(migration)) + 1)]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("migration", "done"), _cases(), ids=[f"{m[:4]}-after-step-{d}" for m, d in _cases()])
def test_a_run_interrupted_after_any_step_completes_when_migrate_runs_again(
    latest_schema_afterwards: None, migration: str, done: int
) -> None:
    _migrate([("commitments", MIGRATIONS[migration])])
    assert not _applied(migration)
    steps = _operations(migration)[:done]
    _run(steps)  # what the interrupted run did
    interrupted_build = _built_index(steps[-1])
    if interrupted_build is not None:
        _invalidate(interrupted_build)  # interrupted during the build
    assert not _applied(migration)  # not atomic: recorded only after its last step

    call_command("migrate", "commitments", migration, verbosity=0)

    assert _applied(migration)
    for name in INDEXES[migration]:
        assert _valid(name) is True, name
    assert _checks_validated(CHECKS[migration]) == dict.fromkeys(CHECKS[migration], True)

    call_command("migrate", "commitments", verbosity=0)  # to the end

    assert _applied("0007_anchor_signed_tx_and_attempts")
    assert _valid("commitments_anchor_due_idx") is True
    assert _valid("commitments_anchor_given_up_idx") is True
    assert _valid("commitments_unanchored_idx") is None  # replaced by 0007
    every_check = CHECKS["0006_anchoring_state"] + CHECKS["0007_anchor_signed_tx_and_attempts"]
    assert _checks_validated(every_check) == dict.fromkeys(every_check, True)
