"""The Celery worker's own ``/metrics`` reports its processes' psycopg pools
(``sequencer_project.worker_metrics``).

Before: the pool gauges were sampled only after web requests and web scrapes, so the worker's
``db_pool_*`` and ``sequencer_pool_utilization`` stayed 0 and its checkouts that gave up were
never counted. The worker here is a real ``celery worker`` (prefork, one child, as deployed)
on its own redis-server, against the test database, serving its metrics from a
``PROMETHEUS_MULTIPROC_DIR`` of its own as ``make run`` and compose do.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import redis
from celery import Celery
from prometheus_client import CollectorRegistry, generate_latest, multiprocess
from prometheus_client.parser import text_string_to_metric_families

from tests.sequencer_project.ops_helpers import (
    child_database_url,
    free_port,
    parent_pid,
    running_pids,
    start_probe_worker,
    throwaway_redis,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

POOL_MAX = 3


@pytest.fixture
def broker() -> Iterator[str]:
    with throwaway_redis() as port:
        yield f"redis://127.0.0.1:{port}/0"


def _values(text: str) -> dict[str, float]:
    """Unlabelled samples of a Prometheus text page by name."""
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if not sample.labels
    }


def _scrape(url: str) -> dict[str, float]:
    try:
        return _values(httpx.get(url, timeout=2).text)
    except httpx.TransportError:
        return {}


def _until(what: str, check: Callable[[], bool], log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"{what} did not happen:\n" + log.read_text()[-3000:]
        time.sleep(0.2)


def _worker_setup(tmp_path: Path, **settings: str) -> tuple[Path, Path, str, dict[str, str]]:
    """The log, metrics directory, ``/metrics`` URL and environment of a probe worker serving its
    metrics from a directory of its own on a free port, as ``make run`` does."""
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    port = free_port()
    env = {
        "DATABASE_URL": child_database_url(),
        "DB_POOL_MAX_SIZE": str(POOL_MAX),
        "WORKER_METRICS_PORT": str(port),
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        **settings,
    }
    return tmp_path / "worker.log", metrics_dir, f"http://127.0.0.1:{port}/metrics", env


def test_the_worker_exports_its_pool_and_counts_its_checkouts_that_gave_up(broker: str, tmp_path: Path) -> None:
    log, metrics_dir, url, env = _worker_setup(tmp_path, DB_POOL_TIMEOUT_SECONDS="0.5")
    client = redis.Redis.from_url(broker)
    sender = Celery("probe-sender", broker=broker)
    sender.conf.task_serializer = "json"
    token = uuid.uuid4().hex
    worker = start_probe_worker(broker, log, ["--concurrency", "1"], env)
    try:
        _until("the worker's /metrics", lambda: "db_pool_max_connections" in _scrape(url), log)
        assert _scrape(url)["db_pool_max_connections"] == 0  # no task has run: nothing sampled

        sender.send_task("tests.probe_backend", args=[token], queue="maintenance")
        _until("the pool's sample", lambda: _scrape(url).get("db_pool_max_connections") == POOL_MAX, log)
        pool = _scrape(url)
        # Sampled before the task's connection went back to the pool: the child's one in use (a
        # second while the pool opens one more for a task that asked before the first was ready).
        assert pool["db_pool_active_connections"] in {1, 2}
        assert pool["sequencer_pool_utilization"] == pytest.approx(pool["db_pool_active_connections"] / POOL_MAX)
        assert pool["db_pool_waiting_requests"] == 0
        assert pool["sequencer_pool_timed_out_acquisitions"] == 0

        sender.send_task("tests.probe_pool_exhausted", args=[token], queue="maintenance")
        _until("the exhausted pool's probe", lambda: client.llen(f"probe:pool:{token}") == 1, log)
        assert client.lpop(f"probe:pool:{token}") == b"timed out"

        def counted() -> bool:
            if _scrape(url).get("sequencer_pool_timed_out_acquisitions") == 1:
                return True
            # Samples are at most a second apart: a later task's sample counts it.
            sender.send_task("tests.probe_backend", args=[token], queue="maintenance")
            time.sleep(0.5)
            return False

        _until("the checkout that gave up", counted, log)
    finally:
        worker.terminate()
        worker.wait(60)

    # The exited child's count stays; its live pool gauges went with it.
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(metrics_dir))  # type: ignore[no-untyped-call]
    left = _values(generate_latest(registry).decode())
    assert left["sequencer_pool_timed_out_acquisitions"] == 1
    assert left.get("db_pool_max_connections", 0) == 0
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]


def _children(pid: int) -> set[int]:
    """The processes whose parent is ``pid``."""
    return {child for child in running_pids() if parent_pid(child) == pid}


def test_a_killed_pool_child_leaves_the_live_gauges_at_the_next_scrape(broker: str, tmp_path: Path) -> None:
    """A child killed with SIGKILL (the OOM killer) never runs ``worker_process_shutdown``: its pool
    and memory stayed in the live gauges until the worker restarted. The scrape drops them."""
    log, metrics_dir, url, env = _worker_setup(tmp_path)
    sender = Celery("probe-sender", broker=broker)
    sender.conf.task_serializer = "json"
    worker = start_probe_worker(broker, log, ["--concurrency", "1"], env)
    try:
        _until("the worker's /metrics", lambda: "db_pool_max_connections" in _scrape(url), log)
        sender.send_task("tests.probe_backend", args=[uuid.uuid4().hex], queue="maintenance")
        _until("the pool's sample", lambda: _scrape(url).get("db_pool_max_connections") == POOL_MAX, log)
        (child,) = _children(worker.pid)
        assert any(path.name.endswith(f"_{child}.db") for path in metrics_dir.glob("gauge_live*.db"))

        os.kill(child, signal.SIGKILL)
        _until("a new pool child", lambda: _children(worker.pid) - {child} != set(), log)

        _until("the dead child's pool gone", lambda: _scrape(url).get("db_pool_max_connections") == 0, log)
        assert not any(path.name.endswith(f"_{child}.db") for path in metrics_dir.glob("gauge_live*.db"))
        assert f'pid="{child}"' not in httpx.get(url, timeout=2).text  # its memory and CPU series
    finally:
        worker.terminate()
        worker.wait(60)
