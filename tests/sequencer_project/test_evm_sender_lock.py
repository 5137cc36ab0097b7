"""One account sends one transaction at a time (``sequencer_project/evm_client.py``).

A chain other processes reach (:mod:`payments.devchain` serves an eth-tester chain over HTTP
JSON-RPC, as a node does) is guarded by the account's PostgreSQL advisory lock; the in-process
chain by a lock of this process. Concurrent senders get consecutive nonces without the chain
ever refusing one; a pending nonce that is stale anyway is read again; and no message names the
RPC endpoint.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection
from eth_account import Account
from hexbytes import HexBytes
from web3 import Web3
from web3.types import Wei

from payments.devchain import DevChain
from sequencer_project import evm_client, local_chain
from sequencer_project.evm_client import (
    NONCE_ATTEMPTS,
    ChainUnavailableError,
    NonceUsedError,
    SenderBusyError,
    TransactionSent,
    rpc_call,
    sender_lock,
    transaction_send,
    web3_connect,
)
from sequencer_project.resilience import CircuitBreaker
from tests.sequencer_project.ops_helpers import closed_port, free_port

TO = "0x" + "cd" * 20
DATA = b"SSA1" + bytes(range(40))


@pytest.fixture
def breaker() -> CircuitBreaker:
    return CircuitBreaker("evm_sender_lock_test", failure_threshold=1000, reset_timeout=60.0)


@pytest.fixture(scope="module")
def devchain() -> Iterator[DevChain]:
    with DevChain(port=free_port()).serving() as chain:
        yield chain


@pytest.fixture
def http_chain(devchain: DevChain) -> Web3:
    return web3_connect(devchain.url, timeout_seconds=10, setting="EVM_SENDER_LOCK_TEST_RPC_URL")


@pytest.fixture(scope="module")
def in_process_chain() -> Web3:
    return local_chain.in_process_web3("EVM_SENDER_LOCK_TEST_RPC_URL")


def _funded(w3: Web3, fund: Callable[[str], object]) -> Any:
    account = Account.create()
    fund(account.address)
    assert w3.eth.get_balance(account.address) > 0
    return account


def _fund_in_process(w3: Web3, address: str) -> None:
    w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": address, "value": Wei(10**20)})


def _send(w3: Web3, account: Any, breaker: CircuitBreaker, **options: Any) -> TransactionSent:
    return transaction_send(w3, account, to=TO, data=DATA, breaker=breaker, **options)


def _closing(fn: Callable[[], Any]) -> Callable[[Any], Any]:
    """``fn`` for a pool thread, which closes the thread's database connection afterwards."""

    def run(_: Any) -> Any:
        try:
            return fn()
        finally:
            connection.close()

    return run


def _retried_nonces(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "was taken meanwhile" in r.getMessage()]


@pytest.mark.django_db(transaction=True)
def test_concurrent_sends_of_one_account_take_consecutive_nonces_without_a_refusal(
    devchain: DevChain, http_chain: Web3, breaker: CircuitBreaker, caplog: pytest.LogCaptureFixture
) -> None:
    account = _funded(http_chain, devchain.fund)
    caplog.set_level(logging.WARNING, logger="sequencer_project.evm_client")

    with ThreadPoolExecutor(max_workers=8) as pool:
        sent = list(pool.map(_closing(lambda: _send(http_chain, account, breaker)), range(24)))

    assert sorted(s.nonce for s in sent) == list(range(24))
    assert http_chain.eth.get_transaction_count(account.address) == 24
    assert {int(http_chain.eth.get_transaction(HexBytes(s.tx_hash))["nonce"]) for s in sent} == set(range(24))
    assert _retried_nonces(caplog) == []  # serialised: no sender ever read a nonce another one took


@pytest.mark.django_db(transaction=True)
def test_a_send_waits_for_the_accounts_lock_held_by_another_session(
    devchain: DevChain, http_chain: Web3, breaker: CircuitBreaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = _funded(http_chain, devchain.fund)
    held, release = threading.Event(), threading.Event()

    def hold() -> None:  # another database session, as another process's would be
        try:
            with sender_lock(http_chain, account.address):
                held.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(10)
        monkeypatch.setattr(evm_client, "SENDER_LOCK_WAIT_SECONDS", 0.5)
        with pytest.raises(SenderBusyError):
            _send(http_chain, account, breaker)
        assert http_chain.eth.get_transaction_count(account.address) == 0  # nothing was sent
    finally:
        release.set()
        holder.join(10)
    assert _send(http_chain, account, breaker).nonce == 0  # the lock was released


@pytest.mark.django_db(transaction=True)
def test_a_taken_nonce_is_recognised_through_a_json_rpc_error(
    devchain: DevChain, http_chain: Web3, breaker: CircuitBreaker
) -> None:
    account = _funded(http_chain, devchain.fund)
    _send(http_chain, account, breaker)

    with pytest.raises(NonceUsedError, match=r"^nonce 0: ") as caught:
        _send(http_chain, account, breaker, nonce=0)  # a replacement's nonce: never read again
    assert "nonce" in str(caught.value.__cause__).lower()


def test_a_stale_pending_nonce_is_read_again(
    in_process_chain: Web3, breaker: CircuitBreaker, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    w3 = in_process_chain
    account = _funded(
        w3, lambda a: w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": a, "value": Wei(10**20)})
    )
    _send(w3, account, breaker)  # nonce 0 is taken
    reads = _lagging_nonce_reads(w3, monkeypatch, stale_reads=1)  # a load-balanced node behind by one

    sent = _send(w3, account, breaker)

    assert sent.nonce == 1
    assert reads == ["pending", "pending"]
    assert len(_retried_nonces(caplog)) == 1
    monkeypatch.undo()
    assert w3.eth.get_transaction_count(account.address) == 2


def test_a_nonce_taken_every_time_gives_up_after_the_bounded_reads(
    in_process_chain: Web3, breaker: CircuitBreaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    w3 = in_process_chain
    account = _funded(
        w3, lambda a: w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": a, "value": Wei(10**20)})
    )
    _send(w3, account, breaker)
    reads = _lagging_nonce_reads(w3, monkeypatch, stale_reads=NONCE_ATTEMPTS + 5)

    with pytest.raises(NonceUsedError, match=r"^nonce 0: "):
        _send(w3, account, breaker)

    assert len(reads) == NONCE_ATTEMPTS
    monkeypatch.undo()  # the node's true answer again
    assert w3.eth.get_transaction_count(account.address) == 1


def _lagging_nonce_reads(w3: Web3, monkeypatch: pytest.MonkeyPatch, *, stale_reads: int) -> list[str]:
    """Make the node answer the first ``stale_reads`` nonce reads one behind (as a load-balanced
    endpoint whose backends lag does); the blocks asked for, as read."""
    real = w3.eth.get_transaction_count
    reads: list[str] = []

    def lagging(address: Any, block: Any = "latest") -> int:
        reads.append(str(block))
        count = int(real(address, block))
        return count - 1 if len(reads) <= stale_reads else count

    monkeypatch.setattr(w3.eth, "get_transaction_count", lagging)
    return reads


def test_an_unreachable_endpoint_is_named_by_the_failure_never_by_its_url(breaker: CircuitBreaker) -> None:
    port = closed_port()
    w3 = web3_connect(f"http://127.0.0.1:{port}/v3/s3cr3t-api-key", timeout_seconds=1, setting="TEST_RPC_URL")

    with pytest.raises(ChainUnavailableError) as caught:
        rpc_call(lambda: w3.eth.chain_id, breaker=breaker)

    message = str(caught.value)
    assert message.startswith("the RPC endpoint did not answer (")
    for secret in ("s3cr3t-api-key", "127.0.0.1", str(port), "HTTPConnectionPool", "url"):
        assert secret not in message
    assert "s3cr3t-api-key" in str(caught.value.__cause__)  # kept for the server's log
