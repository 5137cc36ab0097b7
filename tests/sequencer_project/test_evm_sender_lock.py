"""One account sends one transaction at a time (``sequencer_project/evm_client.py``).

A chain other processes reach (:mod:`payments.devchain` serves an eth-tester chain over HTTP
JSON-RPC, as a node does) is guarded by the account's PostgreSQL advisory lock; the in-process
chain by a lock of this process. Concurrent senders get consecutive nonces without the chain
ever refusing one; a taken nonce is recognised in a JSON-RPC error; and no message names the
RPC endpoint.
"""

from __future__ import annotations

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
    ChainUnavailableError,
    NonceUsedError,
    SenderBusyError,
    TransactionSigned,
    rpc_call,
    sender_lock,
    transaction_broadcast,
    transaction_sign,
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


def _sign(w3: Web3, account: Any, breaker: CircuitBreaker, **options: Any) -> TransactionSigned:
    return transaction_sign(w3, account, to=TO, data=DATA, breaker=breaker, **options)


def _send(w3: Web3, account: Any, breaker: CircuitBreaker, **options: Any) -> tuple[TransactionSigned, bool]:
    """Signed and broadcast under the account's send lock, as the callers do; and whether the
    chain took it."""
    with sender_lock(w3, account.address):
        signed = _sign(w3, account, breaker, **options)
        return signed, transaction_broadcast(w3, signed, breaker=breaker)


def _closing(fn: Callable[[], Any]) -> Callable[[Any], Any]:
    """``fn`` for a pool thread, which closes the thread's database connection afterwards."""

    def run(_: Any) -> Any:
        try:
            return fn()
        finally:
            connection.close()

    return run


@pytest.mark.django_db(transaction=True)
def test_concurrent_sends_of_one_account_take_consecutive_nonces_without_a_refusal(
    devchain: DevChain, http_chain: Web3, breaker: CircuitBreaker
) -> None:
    account = _funded(http_chain, devchain.fund)

    with ThreadPoolExecutor(max_workers=8) as pool:
        sent = list(pool.map(_closing(lambda: _send(http_chain, account, breaker)), range(24)))

    assert [taken for _, taken in sent] == [True] * 24  # serialised: no sender read a nonce another one took
    assert sorted(s.nonce for s, _ in sent) == list(range(24))
    assert http_chain.eth.get_transaction_count(account.address) == 24
    assert {int(http_chain.eth.get_transaction(HexBytes(s.tx_hash))["nonce"]) for s, _ in sent} == set(range(24))


def test_concurrent_sends_on_the_in_process_chain_take_consecutive_nonces_under_the_process_lock(
    in_process_chain: Web3, breaker: CircuitBreaker
) -> None:
    w3 = in_process_chain
    account = _funded(w3, lambda address: _fund_in_process(w3, address))

    with ThreadPoolExecutor(max_workers=4) as pool:
        sent = list(pool.map(lambda _: _send(w3, account, breaker), range(8)))

    assert [taken for _, taken in sent] == [True] * 8
    assert sorted(s.nonce for s, _ in sent) == list(range(8))
    assert w3.eth.get_transaction_count(account.address) == 8


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
        assert http_chain.eth.get_transaction_count(account.address, "pending") == 0  # nothing was sent
    finally:
        release.set()
        holder.join(10)
    signed, taken = _send(http_chain, account, breaker)  # the lock was released
    assert (signed.nonce, taken) == (0, True)


@pytest.mark.django_db(transaction=True)
def test_a_taken_nonce_is_recognised_through_a_json_rpc_error(
    devchain: DevChain, http_chain: Web3, breaker: CircuitBreaker
) -> None:
    account = _funded(http_chain, devchain.fund)
    first = _sign(http_chain, account, breaker)
    other = _sign(http_chain, account, breaker, tip=int(http_chain.eth.max_priority_fee) + 1)  # nonce 0 too
    assert transaction_broadcast(http_chain, first, breaker=breaker)  # mined at once

    assert transaction_broadcast(http_chain, other, breaker=breaker) is False
    assert transaction_broadcast(http_chain, first, breaker=breaker) is False  # this very one, sent before
    with pytest.raises(NonceUsedError, match=r"^nonce 0: ") as caught:
        _sign(http_chain, account, breaker, nonce=0)  # a replacement's nonce, taken meanwhile
    assert "nonce" in str(caught.value.__cause__).lower()
    assert http_chain.eth.get_transaction_count(account.address) == 1


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
