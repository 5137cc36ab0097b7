"""DDL that a non-atomic migration can run again after an interruption (STYLE rule 26).

Django records a non-atomic migration only after its last step, so an interrupted one runs every
step again: columns are added ``IF NOT EXISTS``, a ``NOT VALID`` check only when pg_constraint
lacks it (:func:`check_added_once`), and an index built concurrently after dropping what an
interrupted build left (below).

``CREATE INDEX CONCURRENTLY`` that is interrupted (a cancelled or killed migration, a deadlock, a
unique violation) leaves an INVALID index of its name behind, which ``CREATE INDEX CONCURRENTLY
IF NOT EXISTS`` then keeps: the migration "succeeds" with an index the planner never uses but
every write still maintains. So each such build is preceded by a RunPython step that drops an
index of that name marked invalid in pg_index (``DROP INDEX CONCURRENTLY``: neither in a
transaction nor in a DO block, hence Python in a non-atomic migration). Used by the migrations
``commitments`` 0006 and 0007 and ``events`` 0013.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sequencer_project.sql import SELECT_INVALID_INDEX


def check_added_once(table: str, name: str, check: str) -> str:
    """The statement adding ``CONSTRAINT name CHECK (check) NOT VALID`` to ``table`` unless
    pg_constraint already has ``name`` there (a DO block: one statement, its own transaction in a
    non-atomic migration). Arguments are the migration's own constants, never input."""
    # S608: identifiers and the check are the migration's constants; DDL binds no parameters.
    return f"""
DO $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_constraint WHERE conrelid = '{table}'::regclass AND conname = '{name}'
    ) THEN
        ALTER TABLE {table} ADD CONSTRAINT {name} CHECK ({check}) NOT VALID;
    END IF;
END
$$
"""  # noqa: S608


def drop_invalid_index(schema_editor: Any, *, name: str, drop: str) -> bool:
    """Run ``drop`` (a ``DROP INDEX CONCURRENTLY`` of ``name``) when an index ``name`` exists and
    pg_index marks it invalid; whether it did. ``schema_editor`` is a non-atomic migration's."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(SELECT_INVALID_INDEX, {"name": name})
        invalid = cursor.fetchone() is not None
    if invalid:
        schema_editor.execute(drop)
    return invalid


def invalid_index_dropper(*, name: str, drop: str) -> Callable[[Any, Any], None]:
    """A RunPython function running :func:`drop_invalid_index` for ``name``, to place before the
    ``CREATE INDEX CONCURRENTLY IF NOT EXISTS`` of ``name``."""

    def step(apps: Any, schema_editor: Any) -> None:
        drop_invalid_index(schema_editor, name=name, drop=drop)

    step.__name__ = f"drop_invalid_{name}"
    step.__doc__ = f"Drop ``{name}`` when an interrupted concurrent build left it invalid."
    return step
