"""Migrations 0006 and 0007 rebuild an index that an interrupted concurrent build left INVALID
(``CREATE INDEX CONCURRENTLY IF NOT EXISTS`` alone would keep it), and the sweep reads 0007's."""

from __future__ import annotations

import importlib
from collections.abc import Iterator

import pytest
from django.db import connection
from django.db.migrations import RunPython, RunSQL
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


def _run(steps: list[RunPython | RunSQL]) -> None:
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
