"""Exactly once through a real Celery worker killed with SIGKILL in the middle of its work.

A ``celery worker`` process (solo pool) runs ``events.projection_run`` against the pytest test
database, with the broker on our Redis database and a queue of its own. It is SIGKILLed while
batches are being applied, restarted, and left to finish. Then:

* at the moment of the crash, what was committed is consistent: on every stream the entity
  versions add up to exactly the committed checkpoint (nothing applied without its checkpoint,
  no checkpoint without its writes);
* after recovery every entity's version equals its number of events, and the projected rows
  equal a from-scratch replay of the streams (rebuild + run in-process).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

from events.projections.entity_state import ENTITY_STATE
from events.services.projections import projection_rebuild
from tests.conftest import IngestPoster, Persona, legacy_event
from tests.events.helpers import tick_projections_until
from tests.events.projections.helpers import checkpoint_of, entity_rows

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[3]
STORES = 3
EVENTS_PER_STORE = 800
ENTITIES = 17


def _database_url() -> str:
    name = connection.settings_dict["NAME"]
    return f"postgres://{connection.settings_dict['USER']}@127.0.0.1:{connection.settings_dict['PORT'] or 5432}/{name}"


def _start_worker(queue: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "PROJECTION_BATCH_SIZE": "20",
        "PROJECTION_RUN_BUDGET_SECONDS": "240",
        "PROJECTION_RUN_SOFT_TIME_LIMIT": "280",
        "DB_POOL_MIN_SIZE": "1",
        "DB_POOL_MAX_SIZE": "2",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with log.open("ab") as sink:
        return subprocess.Popen(  # noqa: S603  (this interpreter's celery)
            [
                sys.executable, "-m", "celery", "-A", "sequencer_project", "worker", "-Q", queue,
                "--pool", "solo", "--loglevel", "INFO", "-n", f"{queue}@%h", "--without-heartbeat",
                "--without-gossip", "--without-mingle",
            ],
            cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip


def _progress(stores: list[uuid.UUID], tenant_id: uuid.UUID) -> int:
    return sum(checkpoint_of(ENTITY_STATE, tenant_id, store) for store in stores)


def _worker_transaction_open() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
        )
        return bool(cursor.fetchone()[0])


def _versions(tenant_id: uuid.UUID, store: uuid.UUID) -> int:
    return sum(row[0] for row in entity_rows(tenant_id, store).values())


def test_a_worker_killed_mid_batch_neither_skips_nor_double_applies(
    owner: Persona, post_ingest: IngestPoster, tmp_path: Path
) -> None:
    stores = [uuid.uuid4() for _ in range(STORES)]
    expected_versions: dict[tuple[uuid.UUID, str], int] = {}
    for store in stores:
        for start in range(0, EVENTS_PER_STORE, 400):
            events = []
            for i in range(start, start + 400):
                entity = f"e-{i % ENTITIES}"
                expected_versions[(store, entity)] = expected_versions.get((store, entity), 0) + 1
                events.append(legacy_event(owner.tenant_id, store, entity_id=entity, payload={"i": i, f"k{i % 5}": i}))
            assert post_ingest(owner.client, {"events": events}).status_code == 200
    total = STORES * EVENTS_PER_STORE
    queue = f"projections-test-{uuid.uuid4().hex[:8]}"
    log = tmp_path / "worker.log"

    worker = _start_worker(queue, log)
    try:
        deadline = time.monotonic() + 120
        tick_projections_until(lambda: _progress(stores, owner.tenant_id) >= total // 5, queue, worker, log, 120, 0.02)
        while not _worker_transaction_open():  # kill inside a batch's open transaction
            assert time.monotonic() < deadline, log.read_text()[-3000:]
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()

    at_crash = {store: checkpoint_of(ENTITY_STATE, owner.tenant_id, store) for store in stores}
    assert sum(at_crash.values()) < total, "the worker finished before it was killed"
    for store in stores:  # committed writes and committed checkpoint agree exactly
        assert _versions(owner.tenant_id, store) == at_crash[store]

    worker = _start_worker(queue, log)
    try:
        tick_projections_until(lambda: _progress(stores, owner.tenant_id) >= total, queue, worker, log, 180)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()

    recovered = {store: entity_rows(owner.tenant_id, store) for store in stores}
    for (store, entity), count in expected_versions.items():
        assert recovered[store][("order", entity)][0] == count
    with connection.cursor() as cursor:  # the real worker sealed every state (make run's settings)
        cursor.execute(
            "SELECT count(*) FILTER (WHERE state_sealed IS NULL), count(*) FROM entity_state WHERE tenant_id = %s",
            [owner.tenant_id],
        )
        plain, states = cursor.fetchone()
    assert (plain, states) == (0, len(expected_versions))
    for store in stores:
        projection_rebuild(
            projection=ENTITY_STATE, tenant_id=owner.tenant_id, store_id=store, batch_size=1000, actor="test"
        )
        assert entity_rows(owner.tenant_id, store) == recovered[store]
