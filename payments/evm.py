"""The EVM side of settlement: connect, encode, sign, broadcast, replace, confirm, read back.

A settlement is a plain data transaction to ``X402_SETTLEMENT_ADDRESS`` whose calldata is a
contract-style call ``settleBatch(bytes16 batchId, bytes32 merkleRoot, bytes32 stateRoot,
uint64 paymentCount, uint64 sequenceStart, uint64 sequenceEnd, (string,uint256,uint64)[] totals)``
(4-byte selector + ABI encoding), so a settlement contract can later be deployed at that address
without changing the format. Anyone can verify a batch by reading the transaction back and
decoding its input (:func:`decode_settlement`).

``X402_EVM_RPC_URL=eth-tester://`` selects an in-process chain (eth-tester + py-evm), one per
process, used by tests and local runs; anything else is an HTTP JSON-RPC endpoint. Connections
and calls go through the shared web3 client (``sequencer_project/evm_client.py``).
"""

from __future__ import annotations

import contextlib
import functools
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings

# Re-exported: the settlement service, tasks and load tests name them payments.evm.*.
from sequencer_project.evm_client import IN_PROCESS_URL as IN_PROCESS_URL
from sequencer_project.evm_client import ChainUnavailableError as ChainUnavailableError
from sequencer_project.evm_client import NonceUsedError as NonceUsedError
from sequencer_project.evm_client import (
    TransactionRevertsError,
    TransactionSigned,
    receipt_wait,
    rpc_call,
    sender_lock,
    transaction_broadcast,
    transaction_sign,
    web3_connect,
)
from sequencer_project.resilience import CircuitBreaker, get_breaker

if TYPE_CHECKING:
    from web3 import Web3

# web3 and the eth-* libraries are imported inside the functions: importing web3 takes seconds,
# and this module sits on the URLconf's import path (views → settlement service).
SIGNATURE = "settleBatch(bytes16,bytes32,bytes32,uint64,uint64,uint64,(string,uint256,uint64)[])"
_TYPES = ["bytes16", "bytes32", "bytes32", "uint64", "uint64", "uint64", "(string,uint256,uint64)[]"]


class SettlementRevertedError(Exception):
    """The transaction was mined with status 0."""


@dataclass(frozen=True, slots=True)
class Settlement:
    batch_id: bytes
    merkle_root: bytes
    state_root: bytes
    payment_count: int
    sequence_start: int
    sequence_end: int
    totals: tuple[tuple[str, int, int], ...]


@dataclass(frozen=True, slots=True)
class SignedTransaction:
    """A settlement signed and not necessarily sent: the exact bytes to (re)broadcast."""

    tx_hash: str
    nonce: int
    max_fee_per_gas: int
    priority_fee: int
    raw_transaction: bytes
    chain_id: int


@dataclass(frozen=True, slots=True)
class MinedTransaction:
    tx_hash: str
    block_number: int
    gas_used: int


@functools.cache
def selector() -> bytes:
    """The 4-byte function selector of :data:`SIGNATURE`."""
    from eth_utils.crypto import keccak

    return keccak(text=SIGNATURE)[:4]


def encode_settlement(s: Settlement) -> bytes:
    from eth_abi.abi import encode

    return selector() + encode(
        _TYPES,
        [s.batch_id, s.merkle_root, s.state_root, s.payment_count, s.sequence_start, s.sequence_end, list(s.totals)],
    )


def decode_settlement(data: bytes) -> Settlement:
    """Parse settlement calldata; ``ValueError`` when it is not one."""
    from eth_abi.abi import decode

    if data[:4] != selector():
        raise ValueError("not a settleBatch call")
    values = decode(_TYPES, data[4:])
    return Settlement(
        batch_id=values[0],
        merkle_root=values[1],
        state_root=values[2],
        payment_count=values[3],
        sequence_start=values[4],
        sequence_end=values[5],
        totals=tuple((str(a), int(t), int(c)) for a, t, c in values[6]),
    )


def chain() -> Web3:
    """The configured chain connection (no network I/O here)."""
    return web3_connect(
        settings.X402_EVM_RPC_URL, timeout_seconds=settings.X402_EVM_RPC_TIMEOUT_SECONDS, setting="X402_EVM_RPC_URL"
    )


def _call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """One JSON-RPC call through the ``x402_chain`` circuit breaker, tried once: the settle task
    retries with backoff (:class:`ChainUnavailableError`) and replaces by nonce."""
    return rpc_call(fn, *args, breaker=_breaker(), **kwargs)


def _breaker() -> CircuitBreaker:
    return get_breaker("x402_chain", failure_threshold=5, reset_timeout=30.0)


def send_lock(w3: Web3) -> contextlib.AbstractContextManager[None]:
    """The settlement account's send lock (:func:`sequencer_project.evm_client.sender_lock`): held
    from :func:`sign` until :func:`broadcast`, so no other sender of the account reads the same
    pending nonce meanwhile."""
    from eth_account import Account

    return sender_lock(w3, Account.from_key(settings.X402_SETTLEMENT_PRIVATE_KEY).address)


def sign(w3: Web3, data: bytes, *, nonce: int | None = None, min_fee: int = 0, min_tip: int = 0) -> SignedTransaction:
    """Sign a settlement without sending it (the caller keeps it, then :func:`broadcast` s it);
    ``nonce`` + higher fees replace a stuck transaction. Caller holds :func:`send_lock`."""
    from eth_account import Account

    try:
        signed = transaction_sign(
            w3,
            Account.from_key(settings.X402_SETTLEMENT_PRIVATE_KEY),
            to=settings.X402_SETTLEMENT_ADDRESS,
            data=data,
            breaker=_breaker(),
            nonce=nonce,
            tip=max(int(settings.X402_SETTLEMENT_PRIORITY_FEE_WEI), min_tip),
            min_fee=min_fee,
        )
    except TransactionRevertsError as exc:
        raise SettlementRevertedError(str(exc)) from exc
    return signed_of(signed.raw_transaction)


def signed_of(raw_transaction: bytes) -> SignedTransaction:
    """A kept signed settlement read back from its bytes (an EIP-1559 transaction, whose hash is
    the keccak of the bytes). ``ValueError`` for anything else."""
    from eth_account.typed_transactions.typed_transaction import TypedTransaction
    from eth_utils.crypto import keccak
    from hexbytes import HexBytes

    fields = TypedTransaction.from_bytes(HexBytes(raw_transaction)).as_dict()
    return SignedTransaction(
        "0x" + keccak(raw_transaction).hex(),
        int(fields["nonce"]),
        int(fields["maxFeePerGas"]),
        int(fields["maxPriorityFeePerGas"]),
        raw_transaction,
        int(fields["chainId"]),
    )


def broadcast(w3: Web3, tx: SignedTransaction) -> bool:
    """Send ``tx``'s exact bytes once: ``True`` when the chain took them, ``False`` when it refused
    them because the nonce is taken (this very transaction sent before, or another one of that
    nonce: the caller looks for the receipts). :class:`ChainUnavailableError` when the chain did
    not answer (it may have taken them all the same). Caller holds :func:`send_lock`."""
    signed = TransactionSigned(tx.raw_transaction, bytes.fromhex(tx.tx_hash[2:]), tx.chain_id, tx.nonce)
    return transaction_broadcast(w3, signed, breaker=_breaker())


def known(w3: Web3, tx_hash: str) -> bool:
    """Whether the chain knows ``tx_hash`` (mined, or waiting in its pool)."""
    from web3.exceptions import TransactionNotFound

    try:
        _call(w3.eth.get_transaction, tx_hash)
    except TransactionNotFound:
        return False
    return True


def mined(w3: Web3, tx_hash: str, *, timeout: float) -> MinedTransaction | None:
    """The receipt of ``tx_hash`` if it is mined now (with confirmations); ``None`` otherwise."""
    from web3.exceptions import TransactionNotFound

    try:
        receipt = _call(w3.eth.get_transaction_receipt, tx_hash)
    except TransactionNotFound:
        return None
    return _confirmed(w3, tx_hash, receipt, timeout=timeout)


def wait_mined(w3: Web3, tx_hash: str, *, timeout: float) -> MinedTransaction | None:
    """The receipt once mined with the configured confirmations; ``None`` on timeout."""
    receipt = receipt_wait(w3, tx_hash, timeout=timeout, breaker=_breaker())
    if receipt is None:
        return None
    return _confirmed(w3, tx_hash, receipt, timeout=timeout)


def _confirmed(w3: Web3, tx_hash: str, receipt: Any, *, timeout: float) -> MinedTransaction:
    """Wait for ``X402_SETTLEMENT_CONFIRMATIONS`` on a mined receipt."""
    if receipt["status"] != 1:
        raise SettlementRevertedError(f"transaction {tx_hash} reverted")
    block = int(receipt["blockNumber"])
    needed = int(settings.X402_SETTLEMENT_CONFIRMATIONS)
    deadline = time.monotonic() + timeout
    while int(_call(lambda: w3.eth.block_number)) - block + 1 < needed:
        if time.monotonic() > deadline:
            raise ChainUnavailableError(f"{tx_hash} mined in block {block} but not yet {needed} confirmations")
        time.sleep(0.5)
    return MinedTransaction(tx_hash, block, int(receipt["gasUsed"]))


def read_back(w3: Web3, tx_hash: str) -> Settlement:
    """Decode the settlement a mined transaction carries."""
    tx = _call(w3.eth.get_transaction, tx_hash)
    return decode_settlement(bytes(cast(bytes, tx["input"])))
