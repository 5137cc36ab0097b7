"""The shared EVM transaction steps (``transaction_sign``, ``transaction_broadcast``,
``receipt_wait``) on a real in-process chain (eth-tester + py-evm): what goes on chain, a taken
nonce, a receipt that does not come."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from eth_account import Account
from eth_account.typed_transactions.typed_transaction import TypedTransaction
from hexbytes import HexBytes
from web3 import Web3
from web3.types import Wei

from sequencer_project import local_chain
from sequencer_project.evm_client import (
    NonceUsedError,
    TransactionSigned,
    receipt_wait,
    sender_lock,
    transaction_broadcast,
    transaction_sign,
)
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


def _sign(chain: Web3, account: Any, breaker: CircuitBreaker, **options: Any) -> TransactionSigned:
    return transaction_sign(chain, account, to=TO, data=DATA, breaker=breaker, **options)


def _send(chain: Web3, account: Any, breaker: CircuitBreaker, **options: Any) -> TransactionSigned:
    """Signed and broadcast under the account's send lock, as the callers do."""
    with sender_lock(chain, account.address):
        signed = _sign(chain, account, breaker, **options)
        assert transaction_broadcast(chain, signed, breaker=breaker)
    return signed


def test_it_signs_one_eip1559_data_transaction_with_the_chains_fees_and_pending_nonce(
    chain: Web3, account: Any, breaker: CircuitBreaker
) -> None:
    base_fee = int(chain.eth.get_block("latest")["baseFeePerGas"])

    signed = _sign(chain, account, breaker)

    assert chain.eth.get_transaction_count(account.address, "pending") == 0  # signing sends nothing
    assert (signed.nonce, signed.chain_id) == (0, chain.eth.chain_id)
    assert transaction_broadcast(chain, signed, breaker=breaker)
    receipt = receipt_wait(chain, signed.tx_hash, timeout=5, breaker=breaker)
    assert receipt is not None
    assert receipt["status"] == 1
    tx = chain.eth.get_transaction(HexBytes(signed.tx_hash))
    assert bytes(tx["hash"]) == signed.tx_hash
    assert (tx["from"], tx["to"], tx["value"], bytes(tx["input"])) == (
        account.address,
        Web3.to_checksum_address(TO),
        0,
        DATA,
    )
    assert (tx["type"], tx["nonce"], tx["chainId"]) == (2, 0, chain.eth.chain_id)
    assert tx["maxPriorityFeePerGas"] == chain.eth.max_priority_fee
    assert tx["maxFeePerGas"] == 2 * base_fee + tx["maxPriorityFeePerGas"]
    assert tx["gas"] == chain.eth.estimate_gas(
        {"from": account.address, "to": Web3.to_checksum_address(TO), "data": DATA}
    )
    assert chain.eth.get_transaction_count(account.address) == 1
    assert _sign(chain, account, breaker).nonce == 1  # the next pending nonce


def test_a_given_tip_and_fee_floor_set_the_fees(chain: Web3, account: Any, breaker: CircuitBreaker) -> None:
    sent = _send(chain, account, breaker, tip=7, min_fee=10**15)

    tx = chain.eth.get_transaction(HexBytes(sent.tx_hash))
    assert (tx["maxPriorityFeePerGas"], tx["maxFeePerGas"]) == (7, 10**15)


def test_signing_a_taken_nonce_is_refused_as_nonce_used(chain: Web3, account: Any, breaker: CircuitBreaker) -> None:
    _send(chain, account, breaker)  # mined at once: nonce 0 is taken

    with pytest.raises(NonceUsedError, match=r"^nonce 0: "):
        _sign(chain, account, breaker, nonce=0)  # refused at the gas estimate: the given nonce is used
    assert chain.eth.get_transaction_count(account.address) == 1
    assert _sign(chain, account, breaker).nonce == 1


def test_broadcasting_a_taken_nonce_answers_false(chain: Web3, account: Any, breaker: CircuitBreaker) -> None:
    first = _sign(chain, account, breaker)
    other = _sign(chain, account, breaker, tip=int(chain.eth.max_priority_fee) + 1)  # the same pending nonce
    assert other.nonce == first.nonce == 0
    assert other.tx_hash != first.tx_hash
    assert transaction_broadcast(chain, first, breaker=breaker)  # mined at once

    assert transaction_broadcast(chain, other, breaker=breaker) is False  # another transaction of nonce 0
    assert transaction_broadcast(chain, first, breaker=breaker) is False  # this very one, sent before
    assert chain.eth.get_transaction_count(account.address) == 1
    assert receipt_wait(chain, first.tx_hash, timeout=5, breaker=breaker) is not None


def test_a_replacement_with_the_same_nonce_and_higher_fees_is_the_one_mined(
    chain: Web3, account: Any, breaker: CircuitBreaker, miner_stopped: Any
) -> None:
    first = _send(chain, account, breaker)
    assert receipt_wait(chain, first.tx_hash, timeout=0.3, breaker=breaker) is None  # not mined in time
    pending = chain.eth.get_transaction(HexBytes(first.tx_hash))

    second = _send(
        chain,
        account,
        breaker,
        nonce=first.nonce,
        min_fee=int(pending["maxFeePerGas"]) * 2,
        tip=int(pending["maxPriorityFeePerGas"]) * 2,
    )
    miner_stopped.mine_blocks(1)

    receipt = receipt_wait(chain, second.tx_hash, timeout=5, breaker=breaker)
    assert receipt is not None
    assert receipt["status"] == 1
    assert second.nonce == TypedTransaction.from_bytes(HexBytes(second.raw_transaction)).as_dict()["nonce"] == 0
    assert second.tx_hash != first.tx_hash
    assert first.nonce == 0
    assert chain.eth.get_transaction_count(account.address) == 1
