"""Fixtures of the payments tests: the in-process chain with a funded settlement key."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import override_settings
from eth_account import Account
from web3 import Web3
from web3.types import Wei

from payments import evm


@pytest.fixture
def chain() -> Iterator[Web3]:
    """The in-process chain (eth-tester + py-evm), a funded settlement key and the ``evm`` backend."""
    with override_settings(X402_EVM_RPC_URL=evm.IN_PROCESS_URL):
        w3 = evm.chain()
        account = Account.create()
        w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": account.address, "value": Wei(10**20)})
        with override_settings(
            X402_SETTLEMENT_PRIVATE_KEY=account.key.hex(),
            X402_SETTLEMENT_RECEIPT_TIMEOUT_SECONDS=5,
            X402_SETTLEMENT_CONFIRMATIONS=1,
            X402_SETTLEMENT_BACKEND="evm",
            X402_BATCH_MAX_WAIT_SECONDS=0,
        ):
            yield w3
