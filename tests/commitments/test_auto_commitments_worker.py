"""Automatic commitments through a REAL Celery beat and worker on the Redis broker (REDIS_URL).

Both run as child processes against the pytest-django test database, so the test sees exactly
what a deployment does: beat ticks ``commitments.commitment_tick`` on the ``commitments`` queue,
the worker fans out ``commitments.stream_commit`` and seals the new events.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from commitments.lag import read_published_lag
from commitments.selectors import commitment_list
from streams.kinds import StreamKind
from tests.commitments.helpers import ingest_ves_case
from tests.sequencer_project.ops_helpers import ROOT, child_database_url
from tests.ves.ves_case_vectors import CASES

pytestmark = pytest.mark.django_db(transaction=True)


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(  # noqa: S603  (our own virtualenv's celery)
            [sys.executable, "-m", "celery", "-A", "sequencer_project", *args],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


@pytest.fixture
def beat_and_worker(tmp_path: Path) -> Iterator[None]:
    # The published lag is the largest of any stream in the database. Stream counters are raw
    # tables that the transactional tests' flush leaves behind, so counters of earlier tests'
    # streams (never sealed: no worker ran then) would keep it above 0: start without them.
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM sequence_counters")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sequencer_project.settings",
        "DATABASE_URL": child_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.REDIS_URL,
        "COMMITMENT_INTERVAL_SECONDS": "1",
        "COMMITMENT_MAX_EVENTS": "5",
    }
    worker = _spawn(
        ["worker", "-Q", "commitments", "--pool", "solo", "-l", "INFO", "-n", f"commit-test-{uuid.uuid4().hex[:6]}@%h"],
        env,
        tmp_path / "worker.log",
    )
    beat = _spawn(["beat", "-l", "INFO", "-s", str(tmp_path / "beat-schedule")], env, tmp_path / "beat.log")
    try:
        yield
    finally:
        for process in (beat, worker):
            process.terminate()
        for process in (beat, worker):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        for name in ("worker.log", "beat.log"):
            sys.stdout.write(f"--- {name}\n{(tmp_path / name).read_text(errors='replace')[-3000:]}\n")


def _ranges(tenant_id: str, store_id: str) -> list[tuple[int, int]]:
    rows = commitment_list(
        kind=StreamKind.VES,
        tenant_id=uuid.UUID(tenant_id),
        store_id=uuid.UUID(store_id),
        anchored=None,
        limit=100,
        offset=0,
    )
    return [(c.sequence_start, c.sequence_end) for c in rows]


def _wait_for(predicate: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail("no commitment appeared in time")
        time.sleep(0.25)


def test_beat_and_worker_seal_freshly_ingested_events(admin_client: APIClient, beat_and_worker: None) -> None:
    case = CASES[3]  # 9 VES events
    ingest_ves_case(admin_client, case)
    t, s = case["tenant_id"], case["store_id"]

    # COMMITMENT_MAX_EVENTS=5: the first tick seals 1..5, the next 6..9.
    _wait_for(lambda: _ranges(t, s) == [(1, 5), (6, 9)], timeout=90)

    body = admin_client.get(f"/api/v1/ves/commitments?tenant_id={t}&store_id={s}").json()
    first, second = body["commitments"]
    assert second["prev_state_root"] == first["new_state_root"]
    proof = admin_client.get(f"/api/v1/ves/proofs/7?tenant_id={t}&store_id={s}").json()
    assert proof["batch_id"] == second["batch_id"]
    assert proof["leaf_hash"] == case["events"][6]["leaf_hash"]
    # each tick publishes the commitment lag for /metrics; once everything is sealed it is 0
    _wait_for(lambda: read_published_lag() == 0.0, timeout=30)
