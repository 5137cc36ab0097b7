"""A payload jsonb cannot hold, end to end through a REAL Celery worker (ADR 0016).

Before, a legacy event whose payload held ``\\u0000`` was accepted, then dead-lettered in the
``entity_state`` projection (``DataError: unsupported Unicode escape sequence``), leaving the
entity's state wrong for good. Now ingest rejects that event alone (``InvalidPayload``, in the
rejection log); a ``celery worker`` child process on the pytest test database runs
``events.projection_run`` and projects the other events, with no dead letter.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from events.models import ProjectionDeadLetter
from events.projections.entity_state import ENTITY_STATE
from tests.conftest import IngestPoster, Persona, legacy_event
from tests.events.helpers import tick_projections_until
from tests.events.projections.helpers import checkpoint_of
from tests.sequencer_project.ops_helpers import ROOT, child_database_url, stop_process

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _start_worker(queue: str, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": child_database_url(), "DB_POOL_MIN_SIZE": "1", "DB_POOL_MAX_SIZE": "2"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with log.open("wb") as sink:
        return subprocess.Popen(  # noqa: S603  (our own virtualenv's celery)
            [
                sys.executable, "-m", "celery", "-A", "sequencer_project", "worker", "-Q", queue, "--pool", "solo",
                "--loglevel", "INFO", "-n", f"{queue}@%h", "--without-heartbeat", "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip


def test_a_nul_payload_is_rejected_at_ingest_and_the_worker_projects_the_rest(
    owner: Persona, post_ingest: IngestPoster, tmp_path: Path
) -> None:
    def event(entity: str, payload: object) -> dict[str, object]:
        return legacy_event(owner.tenant_id, owner.store_id, entity_id=entity, payload=payload)

    events = [
        event("order-1", {"status": "new", "total": 10}),
        event("order-1", {"note": "bad\x00byte"}),
        event("order-2", {"status": "new"}),
        event("order-1", {"status": "paid"}),
    ]
    response = post_ingest(owner.client, {"events": events})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["events_accepted"] == 3
    assert [(r["event_id"], r["reason"]) for r in body["rejections"]] == [(events[1]["event_id"], "InvalidPayload")]

    queue = f"unstorable-test-{uuid.uuid4().hex[:8]}"
    log = tmp_path / "worker.log"
    worker = _start_worker(queue, log)
    try:
        tick_projections_until(
            lambda: checkpoint_of(ENTITY_STATE, owner.tenant_id, owner.store_id) >= 3, queue, worker, log, 90
        )
    finally:
        stop_process(worker)

    query = f"?tenant_id={owner.tenant_id}&store_id={owner.store_id}"
    first = owner.client.get(f"/api/v1/entities/order/order-1/state{query}").json()
    second = owner.client.get(f"/api/v1/entities/order/order-2/state{query}").json()
    assert (first["version"], first["state"]) == (2, {"status": "paid", "total": 10})
    assert (second["version"], second["state"]) == (1, {"status": "new"})
    assert not ProjectionDeadLetter.objects.filter(tenant_id=owner.tenant_id).exists()
