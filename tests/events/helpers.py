"""Direct reads of the event tables, to assert what was (and was not) stored."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from celery import Celery
from django.conf import settings
from django.db import connection


def stored_sequences(tenant_id: uuid.UUID, store_id: uuid.UUID) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sequence_number FROM events WHERE tenant_id = %s AND store_id = %s ORDER BY 1",
            [tenant_id, store_id],
        )
        return [row[0] for row in cursor.fetchall()]


def head_of(tenant_id: uuid.UUID, store_id: uuid.UUID) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_sequence FROM sequence_counters WHERE tenant_id = %s AND store_id = %s AND stream_kind = 1",
            [tenant_id, store_id],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def rejection_reasons(tenant_id: uuid.UUID, store_id: uuid.UUID) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reason FROM rejected_events WHERE tenant_id = %s AND store_id = %s ORDER BY rejection_id",
            [tenant_id, store_id],
        )
        return [row[0] for row in cursor.fetchall()]


def count_rows(table: str, tenant_id: uuid.UUID) -> int:
    allowed = {"events", "entity_versions", "command_dedupe", "rejected_events", "sequence_counters"}
    assert table in allowed
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table} WHERE tenant_id = %s", [tenant_id])  # noqa: S608
        return int(cursor.fetchone()[0])


def tick_projections_until(
    done: Callable[[], bool], queue: str, worker: subprocess.Popen[bytes], log: Path, timeout: float, poll: float = 0.2
) -> None:
    """Send ``events.projection_run`` to ``queue`` every 2 s, as beat does, until ``done()``.

    One tick advances at most 500 due streams and the test database holds other tests'
    streams too, so the streams a test waits for may need a later tick.
    """
    sender = Celery("projection-test-sender", broker=settings.CELERY_BROKER_URL)
    sender.conf.task_serializer = "json"
    deadline, next_tick = time.monotonic() + timeout, 0.0
    while not done():
        assert time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
        assert worker.poll() is None, log.read_text(errors="replace")[-3000:]
        if time.monotonic() >= next_tick:
            sender.send_task("events.projection_run", queue=queue)
            next_tick = time.monotonic() + 2.0
        time.sleep(poll)
