"""Batch assembly and settlement through real Celery workers and a real broker (own redis-server).

Two ``celery worker`` processes consume the ``payments`` queue and receive several
``payments.batches_assemble`` ticks at once: exactly one batch must come out, holding every
intent once, in sequence order. A worker with the ``evm`` backend settles on an eth-tester
chain that this test process serves over HTTP JSON-RPC (:mod:`payments.devchain`).
The workers use pytest-django's test database (transactional_db).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery
from eth_account import Account
from eth_typing import HexStr

from payments import evm
from payments.devchain import DevChain
from payments.models import BatchStatus, IntentStatus, PaymentBatch, PaymentIntent
from payments.receipts import receipt_verify
from tests.conftest import Persona
from tests.payments.helpers import Payer, assembled_batch, post_intent
from tests.sequencer_project.ops_helpers import ROOT, child_database_url, throwaway_redis

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def broker() -> Iterator[str]:
    with throwaway_redis() as port:
        yield f"redis://127.0.0.1:{port}/0"


def _start_worker(
    broker_url: str, log: Path, name: str, extra_env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": child_database_url(),
        "REDIS_URL": broker_url,
        "CELERY_BROKER_URL": broker_url,
        "X402_BATCH_MAX_WAIT_SECONDS": "0",
        "X402_BATCH_NETWORKS": "set_chain",
        "X402_SETTLEMENT_BACKEND": "record",
        **(extra_env or {}),
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with log.open("ab") as sink:
        return subprocess.Popen(  # noqa: S603  (this interpreter's celery)
            [
                sys.executable, "-m", "celery", "-A", "sequencer_project", "worker",
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
            assert response.status_code == 200
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
        _stop(workers)


def _stop(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        worker.terminate()
    for worker in workers:
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def _start_evm_worker(broker_url: str, log: Path, name: str, chain: DevChain, key: str) -> subprocess.Popen[bytes]:
    """A worker settling with the ``evm`` backend on ``chain`` (served over HTTP) with ``key``."""
    return _start_worker(
        broker_url,
        log,
        f"{name}-{uuid.uuid4().hex[:6]}",
        {
            "X402_SETTLEMENT_BACKEND": "evm",
            "X402_EVM_RPC_URL": chain.url,
            "X402_SETTLEMENT_PRIVATE_KEY": key,
            "X402_SETTLEMENT_CONFIRMATIONS": "1",
            "X402_SETTLEMENT_RECEIPT_TIMEOUT_SECONDS": "10",
        },
    )


def _chain_port() -> int:
    """A free port of this worktree's range (8160-8169)."""
    for port in range(8160, 8170):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise AssertionError("no free port in 8160-8169")


def test_a_worker_assembles_and_settles_on_a_chain_over_http(broker: str, owner: Persona, tmp_path: Path) -> None:
    log = tmp_path / "settle.log"
    settlement_key = Account.create()
    with DevChain(port=_chain_port()).serving() as chain:
        chain.fund(settlement_key.address)
        worker = _start_evm_worker(broker, log, "settle", chain, settlement_key.key.hex())
        try:
            _wait_ready([log])
            payer = Payer(owner).register()
            ids = [
                post_intent(owner.client, payer.intent(nonce=n, amount=10 + n)).json()["intent_id"] for n in range(5)
            ]
            sender = Celery("x402-test-sender", broker=broker)
            sender.conf.task_serializer = "json"
            sender.send_task("payments.batches_assemble", queue="payments")
            deadline = time.monotonic() + 90
            while not PaymentBatch.objects.filter(tenant_id=owner.tenant_id, status=BatchStatus.SETTLED).exists():
                assert time.monotonic() < deadline, log.read_text()[-4000:]
                time.sleep(0.1)
        finally:
            _stop([worker])
        batch = PaymentBatch.objects.get(tenant_id=owner.tenant_id)
        assert (batch.payment_count, batch.sequence_start, batch.sequence_end) == (5, 1, 5)
        assert batch.tx_hash is not None
        receipt = chain.w3.eth.get_transaction_receipt(HexStr(batch.tx_hash))
        assert (receipt["status"], receipt["blockNumber"], receipt["gasUsed"]) == (
            1,
            batch.block_number,
            batch.gas_used,
        )
        on_chain = evm.read_back(chain.w3, batch.tx_hash)
    assert on_chain.batch_id == batch.batch_id.bytes
    assert on_chain.totals == (("usdc", 10 + 11 + 12 + 13 + 14, 5),)
    for intent_id in ids:
        body = owner.client.get(f"/api/v1/x402/payments/{intent_id}/receipt").json()["receipt"]
        assert (body["batch_status"], body["tx_hash"]) == ("settled", batch.tx_hash)
        assert receipt_verify(body, root=on_chain.merkle_root)
    assert "payments.batch_settle" in log.read_text()


def test_a_worker_settles_tasks_of_both_argument_shapes(broker: str, owner: Persona, tmp_path: Path) -> None:
    """``(tenant_id, batch_id)`` as sent today, and ``(batch_id,)`` as queued by the previous release."""
    log = tmp_path / "shapes.log"
    settlement_key = Account.create()
    old_shape, new_shape = assembled_batch(owner), assembled_batch(owner)
    with DevChain(port=_chain_port()).serving() as chain:
        chain.fund(settlement_key.address)
        worker = _start_evm_worker(broker, log, "shapes", chain, settlement_key.key.hex())
        try:
            _wait_ready([log])
            sender = Celery("x402-test-sender", broker=broker)
            sender.conf.task_serializer = "json"
            sender.send_task("payments.batch_settle", args=[str(old_shape.batch_id)], queue="payments")
            sender.send_task(
                "payments.batch_settle", args=[str(owner.tenant_id), str(new_shape.batch_id)], queue="payments"
            )
            deadline = time.monotonic() + 90
            while PaymentBatch.objects.filter(tenant_id=owner.tenant_id, status=BatchStatus.SETTLED).count() < 2:
                assert time.monotonic() < deadline, log.read_text()[-4000:]
                time.sleep(0.1)
        finally:
            _stop([worker])
    assert log.read_text().count("payments.batch_settle") >= 2
