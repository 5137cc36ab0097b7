"""Concurrent anchoring from threads, processes and a real Celery worker, on one chain.

The chain is an eth-tester chain served over HTTP JSON-RPC (:mod:`payments.devchain`), as a node
is: every thread and process reaches the same chain, so they share the anchoring account's nonce
and its send lock is the PostgreSQL advisory lock (``sequencer_project/evm_client.py``). Before
that lock, concurrent anchors read the same pending nonce and about one in four was refused by the
chain and lost. Every anchor here must land, each with its own nonce, without the chain refusing
a single one; an anchoring that failed while the chain was down lands once it is back.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from celery import Celery
from django.db import connection
from django.test import override_settings
from eth_account import Account
from hexbytes import HexBytes

from commitments.services.anchoring import AnchorResult, commitment_anchor
from payments.devchain import DevChain
from sequencer_project.resilience import get_breaker
from tests.commitments.anchor_helpers import (
    ANCHOR_KEY,
    anchor_state,
    anchored_count,
    child_told_to_go,
    insert_commitments,
)
from tests.sequencer_project.ops_helpers import ROOT, child_database_url, free_port, stop_process, throwaway_redis

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ANCHOR_ADDRESS = Account.from_key(ANCHOR_KEY).address
Keys = list[tuple[uuid.UUID, uuid.UUID]]

# A second process anchoring beside this one: it says "ready" once Django is set up, anchors the
# commitments it is given from four threads when told "go", and prints its transaction hashes and
# how many times a nonce it read was taken by another sender.
CHILD = """
import json, logging, sys, uuid
from concurrent.futures import ThreadPoolExecutor
import django
django.setup()
from django.db import connection
from commitments.services.anchoring import AnchorResult, commitment_anchor

taken = []
class Taken(logging.Handler):
    def emit(self, record):
        if " taken (" in record.getMessage():  # transaction_broadcast: a taken nonce
            taken.append(record.getMessage())
logging.getLogger("sequencer_project.evm_client").addHandler(Taken())
logging.getLogger("sequencer_project.evm_client").setLevel(logging.INFO)  # broadcast logs a taken nonce at INFO

def anchor(key):
    try:
        result = commitment_anchor(tenant_id=uuid.UUID(key[0]), batch_id=uuid.UUID(key[1]))
        return result.commitment.chain_tx_hash.hex()
    finally:
        connection.close()

keys = json.loads(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
with ThreadPoolExecutor(4) as pool:
    hashes = list(pool.map(anchor, keys))
print(json.dumps({"hashes": hashes, "taken": taken}), flush=True)
"""


@pytest.fixture(autouse=True)
def _closed_breaker() -> Iterator[None]:
    get_breaker("anchor", failure_threshold=5, reset_timeout=60.0).reset()
    yield
    get_breaker("anchor", failure_threshold=5, reset_timeout=60.0).reset()


def _anchor_env(url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": child_database_url(),
        "ANCHOR_RPC_URL": url,
        "ANCHOR_PRIVATE_KEY": ANCHOR_KEY,
        "ANCHOR_RETRY_ATTEMPTS": "1",
        "ANCHOR_RPC_TIMEOUT_SECONDS": "2",
    }


def _nonces(chain: DevChain, keys: Keys) -> list[int]:
    """The nonce of each commitment's recorded anchor transaction, read from the chain."""
    nonces = []
    for tenant_id, batch_id in keys:
        tx_hash = anchor_state(tenant_id, batch_id).chain_tx_hash
        assert tx_hash is not None, batch_id
        nonces.append(int(chain.w3.eth.get_transaction(HexBytes(tx_hash))["nonce"]))
    return nonces


def _wait_for(predicate: Callable[[], bool], timeout: float, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, log.read_text()[-6000:] if log else "timed out"
        time.sleep(0.2)


def test_anchors_from_threads_of_two_processes_all_land_with_distinct_nonces(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ours, theirs = insert_commitments(12), insert_commitments(12)
    caplog.set_level(logging.INFO, logger="sequencer_project.evm_client")
    with DevChain(port=free_port()).serving() as chain:
        chain.fund(ANCHOR_ADDRESS)
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "sequencer_project.settings", **_anchor_env(chain.url)}
        child = child_told_to_go(CHILD, [json.dumps([[str(t), str(b)] for t, b in theirs])], env)
        try:

            def anchor(key: tuple[uuid.UUID, uuid.UUID]) -> str:
                try:
                    result = commitment_anchor(tenant_id=key[0], batch_id=key[1])
                    assert result.commitment.chain_tx_hash is not None
                    return result.commitment.chain_tx_hash.hex()
                finally:
                    connection.close()

            with (
                override_settings(ANCHOR_RPC_URL=chain.url, ANCHOR_PRIVATE_KEY=ANCHOR_KEY),
                ThreadPoolExecutor(4) as pool,
            ):
                our_hashes = list(pool.map(anchor, ours))
            out, err = child.communicate(timeout=180)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        assert child.returncode == 0, err[-3000:]
        report = json.loads(out.strip().splitlines()[-1])

        assert len(set(our_hashes) | set(report["hashes"])) == 24
        assert anchored_count(ours + theirs) == 24
        assert sorted(_nonces(chain, ours + theirs)) == list(range(24))
        assert chain.w3.eth.get_transaction_count(ANCHOR_ADDRESS) == 24
    # one account, one send at a time across both processes: no nonce was ever read twice
    assert report["taken"] == []
    assert [r for r in caplog.records if " taken (" in r.getMessage()] == []


def test_a_second_attempt_during_a_receipt_wait_waits_for_the_same_transaction() -> None:
    """No database transaction stays open while a receipt is awaited: the transaction's hash is on
    the row before the wait, so another attempt (the API, a retry, the sweep) meanwhile finds it
    and waits for it too, instead of sending a second anchor."""
    (tenant_id, batch_id), *_ = insert_commitments(1)
    with DevChain(port=free_port()).serving() as chain:
        chain.fund(ANCHOR_ADDRESS)
        tester = chain.w3.provider.ethereum_tester  # type: ignore[attr-defined]
        tester.disable_auto_mine_transactions()
        chain_settings = override_settings(
            ANCHOR_RPC_URL=chain.url, ANCHOR_PRIVATE_KEY=ANCHOR_KEY, ANCHOR_RECEIPT_TIMEOUT_SECONDS=30
        )
        try:

            def anchor() -> AnchorResult:
                try:
                    return commitment_anchor(tenant_id=tenant_id, batch_id=batch_id)
                finally:
                    connection.close()

            # Settings are process-wide: overridden once around the threads, never inside them.
            with chain_settings, ThreadPoolExecutor(2) as pool:
                first = pool.submit(anchor)
                _wait_for(lambda: anchor_state(tenant_id, batch_id).pending_tx_hash is not None, 30)
                pending = anchor_state(tenant_id, batch_id).pending_tx_hash  # committed before the wait
                second = pool.submit(anchor)
                time.sleep(1.0)  # the second attempt is waiting for the same receipt now
                assert not first.done()
                assert not second.done()
                with chain._lock:  # DevChain answers one request at a time under this lock
                    tester.mine_blocks(1)
                results = [first.result(timeout=60), second.result(timeout=60)]
        finally:
            tester.enable_auto_mine_transactions()
        assert chain.w3.eth.get_transaction_count(ANCHOR_ADDRESS) == 1  # one anchor transaction in all
    assert {r.commitment.chain_tx_hash for r in results} == {pending}
    assert sorted(r.already_anchored for r in results) == [False, True]
    assert anchor_state(tenant_id, batch_id).pending_tx_hash is None


def _start_worker(broker: str, log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A real ``celery worker`` on the ``commitments`` queue, three prefork processes."""
    child_env = {**os.environ, "REDIS_URL": broker, "CELERY_BROKER_URL": broker, **env}
    child_env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with log.open("ab") as sink:
        return subprocess.Popen(  # noqa: S603  (this interpreter's celery)
            [
                sys.executable, "-m", "celery", "-A", "sequencer_project", "worker", "-Q", "commitments",
                "--pool", "prefork", "--concurrency", "3", "--loglevel", "INFO",
                "-n", f"anchor-{uuid.uuid4().hex[:6]}@%h",
            ],
            cwd=ROOT, env=child_env, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip


def _send_anchors(sender: Celery, keys: Keys) -> None:
    for tenant_id, batch_id in keys:
        sender.send_task("commitments.commitment_anchor", args=[str(tenant_id), str(batch_id)], queue="commitments")


def test_a_worker_retries_through_an_outage_anchors_concurrently_and_sweeps_what_was_lost(tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    port = free_port()  # nothing listens yet: the chain is down
    during_outage, burst = insert_commitments(3), insert_commitments(12)
    lost = insert_commitments(1, committed_seconds_ago=3600)  # its message never reached a worker
    with throwaway_redis() as redis_port:
        broker = f"redis://127.0.0.1:{redis_port}/0"
        worker = _start_worker(broker, log, _anchor_env(f"http://127.0.0.1:{port}"))
        sender = Celery("anchor-test-sender", broker=broker)
        sender.conf.task_serializer = "json"
        try:
            _wait_for(lambda: log.exists() and "ready." in log.read_text(), 120, log)

            # 1. The chain is down: the tasks fail and are retried with backoff.
            _send_anchors(sender, during_outage)
            _wait_for(lambda: all(anchor_state(t, b).error_at is not None for t, b in during_outage), 90, log)
            _wait_for(lambda: "retry: Retry in" in log.read_text(), 30, log)
            assert anchored_count(during_outage) == 0
            with DevChain(port=port).serving() as chain:
                chain.fund(ANCHOR_ADDRESS)
                # ... and once it is back, the retries anchor them.
                _wait_for(lambda: anchored_count(during_outage) == 3, 180, log)

                # 2. Twelve at once on three worker processes: every one lands.
                _send_anchors(sender, burst)
                _wait_for(lambda: anchored_count(burst) == 12, 180, log)

                # 3. A commitment whose task was lost is found by the sweep.
                sender.send_task("commitments.anchor_sweep", queue="commitments")
                _wait_for(lambda: anchored_count(lost) == 1, 120, log)

                everything = during_outage + burst + lost
                assert sorted(_nonces(chain, everything)) == list(range(16))
                assert chain.w3.eth.get_transaction_count(ANCHOR_ADDRESS) == 16
        finally:
            stop_process(worker)
    text = log.read_text()
    assert " taken (" not in text  # transaction_broadcast found no nonce taken
    assert "NonceUsedError" not in text
    assert anchor_state(*lost[0]).swept_at is not None
