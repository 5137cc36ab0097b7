"""The in-process EVM chain that ``eth-tester://`` names in place of a JSON-RPC URL.

``X402_EVM_RPC_URL`` (x402 settlement, ``payments.evm``) and ``ANCHOR_RPC_URL`` (commitment
anchoring, ``commitments.anchor_chain``) may be ``eth-tester://`` in development and tests: web3's
``EthereumTesterProvider`` on eth-tester and py-evm, one chain per process. Those two come only
with the ``local-chain`` extra (pre-releases, kept out of production installs: ADR 0023), so
without it such a URL is a configuration error: system check ``sequencer.E038`` says so at
start-up, and :func:`in_process_web3` raises :class:`LocalChainMissingError` instead of an
ImportError from inside web3.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from web3 import Web3

IN_PROCESS_URL = "eth-tester://"
EXTRA = "stateset-sequencer[local-chain]"


class LocalChainMissingError(ImproperlyConfigured):
    """An RPC URL names the in-process chain but the ``local-chain`` extra is not installed."""


def local_chain_installed() -> bool:
    """Whether eth-tester can be imported (found without importing it: that takes a while)."""
    return importlib.util.find_spec("eth_tester") is not None


def missing_message(setting: str) -> str:
    return (
        f"{setting}={IN_PROCESS_URL} names the in-process chain, which needs the local-chain extra "
        f"(pip install '{EXTRA}'); outside development and tests set {setting} to a JSON-RPC URL."
    )


def in_process_web3(setting: str) -> Web3:
    """A new in-process chain for the URL in ``setting`` (callers keep one per process)."""
    if not local_chain_installed():
        raise LocalChainMissingError(missing_message(setting))
    from web3 import EthereumTesterProvider, Web3

    return Web3(EthereumTesterProvider())
