"""The projection tables leave room on each page for their in-place updates (migration
``events/0014``, docs/operations.md "Planner statistics (autovacuum)")."""

from __future__ import annotations

import pytest
from django.db import connection


@pytest.mark.django_db
def test_projection_tables_are_migrated_with_room_for_hot_updates() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reloptions FROM pg_class"
            " WHERE relname IN ('entity_state', 'projection_checkpoints') AND relkind = 'r'"
        )
        options = dict(cursor.fetchall())
    assert options == {"entity_state": ["fillfactor=70"], "projection_checkpoints": ["fillfactor=80"]}
