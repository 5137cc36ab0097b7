"""Statements prepared on a test's database session, by name, as tests of prepared appends need them.

Only the named statements are ever deallocated: ``DEALLOCATE ALL`` would also drop what psycopg
prepared for Django's own queries on the same pooled session, and those would fail later in the
test or its teardown (``prepared statement "_pg3_…" does not exist``; it failed CI once).
"""

from __future__ import annotations

from typing import Any


def prepared_names(connection: Any, like: str) -> list[str]:
    """Names of the statements prepared on ``connection``'s session (Django's ``connection`` or a
    psycopg connection) that match the SQL ``LIKE`` pattern ``like``."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements WHERE name LIKE %s ORDER BY name", [like])
        return [name for (name,) in cursor.fetchall()]


def deallocate_prepared(connection: Any, like: str) -> None:
    """Forget the statements :func:`prepared_names` lists, as a pooler resetting the session would."""
    names = prepared_names(connection, like)
    with connection.cursor() as cursor:
        for name in names:
            cursor.execute(f'DEALLOCATE "{name}"')
