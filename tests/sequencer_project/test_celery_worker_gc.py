"""A real prefork Celery worker tunes its processes' garbage collector after they start
(``sequencer_project.celery``, ``WORKER_GC_GEN0_THRESHOLD``): the started heap is frozen and the
youngest generation is collected less often; 0 leaves Python's collector as it is."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from celery import Celery

from tests.sequencer_project.ops_helpers import (
    bare_interpreter_collector,
    child_database_url,
    start_probe_worker,
    throwaway_redis,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def broker() -> Iterator[str]:
    with throwaway_redis() as port:
        yield f"redis://127.0.0.1:{port}/0"


@pytest.mark.parametrize(("setting", "tuned"), [("12345", True), ("0", False)])
def test_worker_processes_freeze_their_started_heap_and_collect_less_often(
    broker: str, tmp_path: Path, setting: str, tuned: bool
) -> None:
    log = tmp_path / "worker.log"
    env = {"DATABASE_URL": child_database_url(), "WORKER_GC_GEN0_THRESHOLD": setting}
    worker = start_probe_worker(broker, log, ["--concurrency", "1"], env)
    token = uuid.uuid4().hex
    client = redis.Redis.from_url(broker)
    try:
        sender = Celery("probe-sender", broker=broker)
        sender.conf.task_serializer = "json"
        sender.send_task("tests.probe_gc", args=[token], queue="maintenance")
        deadline = time.monotonic() + 90
        while not (answer := client.lpop(f"probe:gc:{token}")):
            assert time.monotonic() < deadline, "the probe never ran:\n" + log.read_text()[-3000:]
            time.sleep(0.1)
    finally:
        worker.terminate()
        worker.wait(60)

    threshold, frozen = (int(part) for part in answer.split())
    if tuned:
        assert threshold == 12345
        assert frozen > 10_000  # Django, Celery and the tasks' modules
    else:
        assert (threshold, frozen) == bare_interpreter_collector()  # Python's defaults
