"""The psycopg pool behind Django's default database, as tests that exhaust it need it."""

from __future__ import annotations

import threading
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


def make_someone_wait(pool: Any, waiter: threading.Thread, held: list[Any]) -> None:
    """Hold every connection ``pool`` could still give (into ``held``), start ``waiter`` (a thread
    that asks the pool for one) and return once the pool counts it as waiting."""
    hold_until(pool, 0, held)
    waiter.start()
    while not pool.get_stats().get("requests_waiting"):
        threading.Event().wait(0.01)
