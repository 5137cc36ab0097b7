"""A prefork Celery worker keeps its PostgreSQL connections between tasks, and replaces dead ones.

Celery's Django fixup closed every connection around each task and, in a prefork child, the
whole psycopg pool, so every task opened a new backend (ADR 0025). The worker here is a real
``celery worker`` (prefork, one child, as deployed) on its own redis-server, against the test
database; each probe task records the backend that served it.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from celery import Celery
from django.db import connection

from tests.sequencer_project.ops_helpers import child_database_url, start_probe_worker, throwaway_redis

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def broker() -> Iterator[str]:
    with throwaway_redis() as port:
        yield f"redis://127.0.0.1:{port}/0"


def _start_worker(broker_url: str, log: Path) -> subprocess.Popen[bytes]:
    return start_probe_worker(broker_url, log, ["--concurrency", "1"], {"DATABASE_URL": child_database_url()})


def _backends(broker_url: str, client: redis.Redis[bytes], token: str, count: int, log: Path) -> list[int]:
    sender = Celery("probe-sender", broker=broker_url)
    sender.conf.task_serializer = "json"
    key = f"probe:backends:{token}"
    before = client.llen(key)
    for _ in range(count):
        sender.send_task("tests.probe_backend", args=[token], queue="maintenance")
    deadline = time.monotonic() + 90
    while client.llen(key) < before + count:
        assert time.monotonic() < deadline, "the probes never ran:\n" + log.read_text()[-3000:]
        time.sleep(0.1)
    return [int(pid) for pid in client.lrange(key, before, -1)]


def test_tasks_share_one_backend_and_a_killed_one_is_replaced(broker: str, tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    client = redis.Redis.from_url(broker)
    worker = _start_worker(broker, log)
    token = uuid.uuid4().hex
    try:
        first = _backends(broker, client, token, 12, log)
        # The child's pool (one connection, a second if a task asked before the first was
        # ready) served every task; Celery's default opened a backend per task.
        assert len(set(first)) <= 2, first

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", [sorted(set(first))])
        after = _backends(broker, client, token, 4, log)
    finally:
        worker.terminate()
        worker.wait(60)

    assert not set(after) & set(first), after  # no task was handed a dead connection
    assert len(set(after)) <= 2, after
    assert "ERROR" not in log.read_text(), log.read_text()[-3000:]
