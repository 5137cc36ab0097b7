"""Helpers for tests with real parallel database sessions: work on a thread of its own (its own
connection), and waiting until sessions of this test's database wait on a lock."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from django.db import connection


def wait_for_lock_waiters(count: int = 1, timeout: float = 30) -> None:
    """Until ``count`` sessions of this database wait on a lock."""
    deadline = time.monotonic() + timeout
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            waiting = cursor.fetchone()[0]
        if waiting >= count:
            return
        assert time.monotonic() < deadline, f"only {waiting} of {count} sessions reached the lock"
        time.sleep(0.02)


def in_thread(work: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    """``work()`` on a thread of its own (its own database connection, closed after); the list
    receives its result or the exception it raised, for the test to assert on."""
    out: list[Any] = []

    def run() -> None:
        try:
            out.append(work())
        except Exception as exc:  # handed to the test, which asserts on it
            out.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out
