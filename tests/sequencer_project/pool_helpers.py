"""The psycopg pool behind Django's default database, as tests that exhaust it need it."""

from __future__ import annotations

from typing import Any

from django.db import connection


def default_pool() -> Any:
    """The psycopg pool behind Django's PostgreSQL backend (its ``pool`` property)."""
    return getattr(connection, "pool")  # noqa: B009  (the base wrapper type does not declare it)


def obtainable(pool: Any) -> int:
    """Connections ``pool`` could give now without waiting: idle ones and room to open more."""
    stats = pool.get_stats()
    return int(stats["pool_available"] + pool.max_size - stats["pool_size"])


def hold_until(pool: Any, left: int, held: list[Any]) -> None:
    """Check connections out into ``held`` until only ``left`` could still be had without
    waiting, whatever else the test process holds (a live server's thread idle on a keep-alive
    connection keeps one)."""
    while obtainable(pool) > left:
        held.append(pool.getconn(timeout=5))
