"""Batch assembly through real Celery workers and a real broker (own redis-server).

Two ``celery worker`` processes consume the ``payments`` queue and receive several
``payments.batches_assemble`` ticks at once: exactly one batch must come out, holding every
intent once, in sequence order. The workers use pytest-django's test database (transactional_db).
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery

from payments.models import IntentStatus, PaymentBatch, PaymentIntent
from tests.conftest import Persona
from tests.payments.helpers import Payer, post_intent
from tests.sequencer_project.ops_helpers import ROOT, child_database_url, throwaway_redis

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def broker() -> Iterator[str]:
    with throwaway_redis() as port:
        yield f"redis://127.0.0.1:{port}/0"


def _start_worker(broker_url: str, log: Path, name: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": child_database_url(),
        "REDIS_URL": broker_url,
        "CELERY_BROKER_URL": broker_url,
        "X402_BATCH_MAX_WAIT_SECONDS": "0",
        "X402_BATCH_NETWORKS": "set_chain",
        "X402_SETTLEMENT_BACKEND": "record",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with log.open("ab") as sink:
        return subprocess.Popen(  # noqa: S603  (our own virtualenv's celery)
            [
                str(ROOT / ".venv" / "bin" / "celery"), "-A", "sequencer_project", "worker",
                "-Q", "payments", "--pool", "solo", "--loglevel", "INFO", "-n", f"{name}@%h",
            ],
            cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip


def _wait_ready(logs: list[Path], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not all(log.exists() and "ready." in log.read_text() for log in logs):
        assert time.monotonic() < deadline, "workers never became ready:\n" + "\n".join(
            log.read_text()[-2000:] for log in logs if log.exists()
        )
        time.sleep(0.2)


def test_two_workers_racing_assemble_exactly_one_batch(broker: str, owner: Persona, tmp_path: Path) -> None:
    logs = [tmp_path / "w1.log", tmp_path / "w2.log"]
    workers = [_start_worker(broker, log, f"pay{i}-{uuid.uuid4().hex[:6]}") for i, log in enumerate(logs)]
    try:
        _wait_ready(logs)
        payer = Payer(owner).register()
        ids = []
        for nonce in range(6):
            response = post_intent(owner.client, payer.intent(nonce=nonce))
            assert response.status_code == 201
            ids.append(response.json()["intent_id"])
        submitted_at = time.monotonic()
        sender = Celery("x402-test-sender", broker=broker)
        sender.conf.task_serializer = "json"
        for _ in range(4):
            sender.send_task("payments.batches_assemble", queue="payments")
        deadline = time.monotonic() + 60
        while PaymentIntent.objects.filter(tenant_id=owner.tenant_id, status=IntentStatus.SEQUENCED).exists():
            assert time.monotonic() < deadline, "\n".join(log.read_text()[-3000:] for log in logs)
            time.sleep(0.05)
        assembly_seconds = time.monotonic() - submitted_at
        time.sleep(2)  # let the remaining ticks run: they must find nothing to batch
        batches = list(PaymentBatch.objects.filter(tenant_id=owner.tenant_id))
        assert len(batches) == 1
        batch = batches[0]
        assert (batch.payment_count, batch.sequence_start, batch.sequence_end) == (6, 1, 6)
        members = PaymentIntent.objects.filter(batch_id=batch.batch_id).order_by("sequence_number")
        assert [str(i.intent_id) for i in members] == ids
        for log in logs:  # both workers took ticks: the race really happened
            assert "payments.batches_assemble" in log.read_text(), log.read_text()[-2000:]
        assert assembly_seconds < 5, f"batch committed {assembly_seconds:.2f} s after the last submission"
        print(f"x402 batch assembly through a real worker: {assembly_seconds * 1000:.0f} ms")  # noqa: T201
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
