"""The shared EVM transaction steps (``transaction_send``, ``receipt_wait``) on a real in-process
chain (eth-tester + py-evm): what goes on chain, a taken nonce, a receipt that does not come."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from eth_account import Account
from hexbytes import HexBytes
from web3 import Web3
from web3.types import Wei

from sequencer_project import local_chain
from sequencer_project.evm_client import NonceUsedError, TransactionSent, receipt_wait, transaction_send
from sequencer_project.resilience import CircuitBreaker

TO = "0x" + "ab" * 20
DATA = b"SSA1" + bytes(range(40))


@pytest.fixture(scope="module")
def chain() -> Web3:
    """A chain of this module's own, so that stopping its miner touches no other test's chain."""
    return local_chain.in_process_web3("EVM_CLIENT_TEST_RPC_URL")


@pytest.fixture
def account(chain: Web3) -> Any:
    account = Account.create()
    chain.eth.send_transaction({"from": chain.eth.accounts[0], "to": account.address, "value": Wei(10**20)})
    return account


@pytest.fixture
def breaker() -> CircuitBreaker:
    return CircuitBreaker("evm_client_test", failure_threshold=5, reset_timeout=60.0)


@pytest.fixture
def miner_stopped(chain: Web3) -> Iterator[Any]:
    tester = chain.provider.ethereum_tester  # type: ignore[attr-defined]
    tester.disable_auto_mine_transactions()
    try:
        yield tester
    finally:
        tester.enable_auto_mine_transactions()


def _send(chain: Web3, account: Any, breaker: CircuitBreaker, **options: Any) -> TransactionSent:
    return transaction_send(chain, account, to=TO, data=DATA, breaker=breaker, **options)


def test_it_sends_one_eip1559_data_transaction_with_the_chains_fees_and_pending_nonce(
    chain: Web3, account: Any, breaker: CircuitBreaker
) -> None:
    base_fee = int(chain.eth.get_block("latest")["baseFeePerGas"])

    sent = _send(chain, account, breaker)

    receipt = receipt_wait(chain, sent.tx_hash, timeout=5, breaker=breaker)
    assert receipt is not None
    assert receipt["status"] == 1
    tx = chain.eth.get_transaction(HexBytes(sent.tx_hash))
    assert (tx["from"], tx["to"], tx["value"], bytes(tx["input"])) == (
        account.address,
        Web3.to_checksum_address(TO),
        0,
        DATA,
    )
    assert (tx["type"], tx["nonce"], tx["chainId"]) == (2, 0, chain.eth.chain_id)
    assert sent.chain_id == chain.eth.chain_id
    assert sent.priority_fee == tx["maxPriorityFeePerGas"] == chain.eth.max_priority_fee
    assert sent.max_fee_per_gas == tx["maxFeePerGas"] == 2 * base_fee + sent.priority_fee
    assert tx["gas"] == chain.eth.estimate_gas(
        {"from": account.address, "to": Web3.to_checksum_address(TO), "data": DATA}
    )
    assert chain.eth.get_transaction_count(account.address) == 1


def test_a_given_tip_and_fee_floor_set_the_fees(chain: Web3, account: Any, breaker: CircuitBreaker) -> None:
    sent = _send(chain, account, breaker, tip=7, min_fee=10**15)

    tx = chain.eth.get_transaction(HexBytes(sent.tx_hash))
    assert (tx["maxPriorityFeePerGas"], tx["maxFeePerGas"]) == (7, 10**15)
    assert (sent.priority_fee, sent.max_fee_per_gas) == (7, 10**15)


def test_a_taken_nonce_is_refused_as_nonce_used(chain: Web3, account: Any, breaker: CircuitBreaker) -> None:
    _send(chain, account, breaker)  # mined at once: nonce 0 is taken

    with pytest.raises(NonceUsedError, match=r"^nonce 0: "):
        _send(chain, account, breaker, nonce=0)
    assert chain.eth.get_transaction_count(account.address) == 1


def test_a_replacement_with_the_same_nonce_and_higher_fees_is_the_one_mined(
    chain: Web3, account: Any, breaker: CircuitBreaker, miner_stopped: Any
) -> None:
    first = _send(chain, account, breaker)
    assert receipt_wait(chain, first.tx_hash, timeout=0.3, breaker=breaker) is None  # not mined in time

    second = _send(
        chain, account, breaker, nonce=first.nonce, min_fee=first.max_fee_per_gas * 2, tip=first.priority_fee * 2
    )
    miner_stopped.mine_blocks(1)

    receipt = receipt_wait(chain, second.tx_hash, timeout=5, breaker=breaker)
    assert receipt is not None
    assert receipt["status"] == 1
    assert second.nonce == first.nonce == 0
    assert chain.eth.get_transaction_count(account.address) == 1
