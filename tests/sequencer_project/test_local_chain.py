"""``eth-tester://`` without the local-chain extra is a configuration error, not an ImportError.

The extra is installed here (the dev extra pulls it in), so its absence is simulated the way
Python itself records a module that must not import: ``sys.modules["eth_tester"] = None``.
"""

from __future__ import annotations

import sys

import pytest
from django.test import override_settings

from sequencer_project import evm_client
from sequencer_project.checks import check_local_chain
from sequencer_project.local_chain import IN_PROCESS_URL, LocalChainMissingError, local_chain_installed


@pytest.fixture
def without_local_chain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "eth_tester", None)
    assert not local_chain_installed()


def check_ids() -> list[str]:
    return [message.id or "" for message in check_local_chain(None)]


@pytest.mark.usefixtures("without_local_chain")
def test_it_refuses_evm_settlement_on_the_in_process_chain_without_the_extra() -> None:
    with override_settings(X402_SETTLEMENT_BACKEND="evm", X402_EVM_RPC_URL=IN_PROCESS_URL):
        [message] = check_local_chain(None)
    assert message.id == "sequencer.E038"
    assert message.msg.startswith("X402_EVM_RPC_URL=eth-tester:// ")
    assert "stateset-sequencer[local-chain]" in message.msg


@pytest.mark.usefixtures("without_local_chain")
def test_it_refuses_anchoring_on_the_in_process_chain_without_the_extra() -> None:
    with override_settings(ANCHOR_RPC_URL=IN_PROCESS_URL, X402_SETTLEMENT_BACKEND="record"):
        [message] = check_local_chain(None)
    assert message.msg.startswith("ANCHOR_RPC_URL=eth-tester:// ")


@pytest.mark.usefixtures("without_local_chain")
def test_it_ignores_the_default_settlement_url_under_the_record_backend() -> None:
    with override_settings(X402_SETTLEMENT_BACKEND="record", X402_EVM_RPC_URL=IN_PROCESS_URL, ANCHOR_RPC_URL=""):
        assert check_ids() == []


@pytest.mark.usefixtures("without_local_chain")
def test_it_accepts_json_rpc_urls_without_the_extra() -> None:
    with override_settings(
        X402_SETTLEMENT_BACKEND="evm", X402_EVM_RPC_URL="http://chain:8545", ANCHOR_RPC_URL="http://chain:8545"
    ):
        assert check_ids() == []


def test_it_accepts_the_in_process_chain_when_the_extra_is_installed() -> None:
    with override_settings(
        X402_SETTLEMENT_BACKEND="evm", X402_EVM_RPC_URL=IN_PROCESS_URL, ANCHOR_RPC_URL=IN_PROCESS_URL
    ):
        assert check_ids() == []


@pytest.mark.usefixtures("without_local_chain")
def test_asking_for_the_in_process_chain_without_the_extra_names_the_setting_and_the_extra() -> None:
    # __wrapped__: past the per-process cache, which may already hold a chain from another test.
    with pytest.raises(LocalChainMissingError, match=r"^X402_EVM_RPC_URL=eth-tester:// .*\[local-chain\]"):
        evm_client._in_process_web3.__wrapped__("X402_EVM_RPC_URL")
    with pytest.raises(LocalChainMissingError, match=r"^ANCHOR_RPC_URL=eth-tester:// "):
        evm_client._in_process_web3.__wrapped__("ANCHOR_RPC_URL")
