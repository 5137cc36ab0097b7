"""A Celery worker on SIGTERM (warm shutdown) finishes the task it is running, then exits 0.

The test runs its own redis-server as the broker and a real ``celery worker`` process.
(Redelivery of a SIGKILLed worker's task relies on acks_late and the broker visibility timeout,
CELERY_VISIBILITY_TIMEOUT = 3600 s by default; it is Celery's own behaviour and too slow to test here.)
"""

from __future__ import annotations

import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from celery import Celery

from tests.sequencer_project.ops_helpers import start_probe_worker, throwaway_redis

pytestmark = pytest.mark.slow


@pytest.fixture
def broker() -> Iterator[str]:
    with throwaway_redis() as port:
        yield f"redis://127.0.0.1:{port}/0"


def start_worker(broker_url: str, log: Path) -> subprocess.Popen[bytes]:
    limits = {"CELERY_TASK_SOFT_TIME_LIMIT": "20", "CELERY_TASK_TIME_LIMIT": "30", "CELERY_VISIBILITY_TIMEOUT": "60"}
    return start_probe_worker(broker_url, log, ["--pool", "solo"], limits)


def send(broker_url: str, token: str, seconds: float) -> None:
    sender = Celery("probe-sender", broker=broker_url)
    sender.conf.task_serializer = "json"
    sender.send_task("tests.probe_slow", args=[token, seconds], queue="maintenance")


def wait_for(client: redis.Redis[bytes], key: str, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while not client.get(key):
        assert time.monotonic() < deadline, f"{key} never set:\n" + log.read_text()[-3000:]
        time.sleep(0.1)


def test_sigterm_lets_the_running_task_finish(broker: str, tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    client = redis.Redis.from_url(broker)
    worker = start_worker(broker, log)
    try:
        token = uuid.uuid4().hex
        send(broker, token, 3.0)
        wait_for(client, f"probe:started:{token}", 60, log)
        worker.send_signal(signal.SIGTERM)
        exit_code = worker.wait(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()

    assert exit_code == 0, log.read_text()[-3000:]
    assert client.get(f"probe:done:{token}") == b"1"  # finished, not cut off
    assert client.get(f"probe:started:{token}") == b"1"  # and ran once
