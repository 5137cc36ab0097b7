"""Anchoring commitment roots on an EVM chain with plain data transactions (web3.py).

An anchor is a transaction from the anchoring account to ``ANCHOR_TO_ADDRESS`` with value 0 whose
calldata is ``b"SSA1" || abi.encode(bytes32 stream_id, uint8 stream_kind, bytes16 batch_id,
uint64 sequence_start, uint64 sequence_end, bytes32 merkle_root, bytes32 new_state_root)``. No
contract is needed (no compiler at run time); verification reads the transaction and its receipt
back from the chain and decodes the calldata.

``ANCHOR_RPC_URL`` is an HTTP(S) JSON-RPC endpoint, or ``eth-tester://`` for an in-process py-evm
chain (development and tests: one per process, the anchoring account funded from its prefunded
accounts). Chain calls go through :func:`sequencer_project.resilience.retry_call` (backoff with
jitter) inside the ``anchor`` circuit breaker.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings

from commitments.selectors import CommitmentRow
from sequencer_project import local_chain
from sequencer_project.api.errors import SequencerError, ServiceUnavailableError
from sequencer_project.resilience import CircuitOpenError, all_breakers, get_breaker, retry_call
from ves.hashes import stream_id

if TYPE_CHECKING:
    from web3 import Web3

# web3, eth-abi and eth-account are imported inside the functions that use them: importing web3
# takes seconds, and this module is imported by the URLconf of every web process.

MAGIC = b"SSA1"
RECORD_TYPES = ["bytes32", "uint8", "bytes16", "uint64", "uint64", "bytes32", "bytes32"]
IN_PROCESS_URL = local_chain.IN_PROCESS_URL


def _transient() -> tuple[type[BaseException], ...]:
    from web3.exceptions import TimeExhausted, Web3Exception

    return (OSError, TimeoutError, TimeExhausted, Web3Exception)


class AnchoringUnconfiguredError(ServiceUnavailableError):
    code = "anchoring_unconfigured"
    title = "Anchoring is not configured (set ANCHOR_RPC_URL and ANCHOR_PRIVATE_KEY)"


class AnchorUnavailableError(ServiceUnavailableError):
    code = "anchor_unavailable"
    title = "The anchoring chain is unavailable"


class AnchorFailedError(SequencerError):
    code = "anchor_failed"
    http_status = 502
    title = "The anchoring transaction failed on chain"


@dataclass(frozen=True, slots=True)
class AnchorRecord:
    chain_id: int
    tx_hash: bytes
    block_number: int


@dataclass(frozen=True, slots=True)
class AnchorCheck:
    anchored_on_chain: bool
    reason: str


def anchoring_configured() -> bool:
    return bool(settings.ANCHOR_RPC_URL and settings.ANCHOR_PRIVATE_KEY)


def anchor_service_health() -> dict[str, Any] | None:
    """``components.anchor_service`` of ``/health/detailed`` as the reference derives it from the
    anchor circuit breaker; ``None`` (left out) when anchoring is not configured."""
    if not anchoring_configured():
        return None
    breaker = all_breakers().get("anchor")
    snapshot = breaker.snapshot() if breaker is not None else None
    if snapshot is None:
        status, message = "healthy", "Configured"
    elif snapshot["state"] == "open":
        status, message = "unhealthy", f"Circuit breaker open ({snapshot['failures']} failures)"
    elif snapshot["state"] == "half_open":
        status, message = "degraded", "Circuit breaker half-open (recovering)"
    else:
        status, message = "healthy", f"Operational ({snapshot['successes']} successes)"
    return {"name": "anchor_service", "status": status, "message": message}


def require_anchoring() -> None:
    if not anchoring_configured():
        raise AnchoringUnconfiguredError()


def anchor_calldata(c: CommitmentRow) -> bytes:
    """The calldata that anchors ``c``."""
    from eth_abi.abi import encode

    record = encode(
        RECORD_TYPES,
        [
            stream_id(c.tenant_id, c.store_id),
            int(c.stream_kind),
            c.batch_id.bytes,
            c.sequence_start,
            c.sequence_end,
            c.merkle_root,
            c.new_state_root,
        ],
    )
    return MAGIC + record


_in_process_lock = threading.Lock()


@functools.cache
def _in_process_web3() -> Web3:
    return local_chain.in_process_web3("ANCHOR_RPC_URL")  # only development and tests use it


def _web3() -> Web3:
    from web3 import Web3

    url = settings.ANCHOR_RPC_URL
    if url == IN_PROCESS_URL:
        with _in_process_lock:
            return _in_process_web3()
    return Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": settings.ANCHOR_RPC_TIMEOUT_SECONDS}))


def _account() -> Any:
    from eth_account import Account

    return Account.from_key(bytes.fromhex(settings.ANCHOR_PRIVATE_KEY.removeprefix("0x")))


def _fund_in_process(w3: Web3, address: str) -> None:
    if w3.eth.get_balance(address) < 10**17:  # type: ignore[arg-type]
        funded = w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": address, "value": 10**18})  # type: ignore[typeddict-item]
        w3.eth.wait_for_transaction_receipt(funded)


def _chain_call(fn: Any) -> Any:
    transient = _transient()
    breaker = get_breaker("anchor", failure_threshold=5, reset_timeout=60.0)
    try:
        return breaker.call(
            lambda: retry_call(
                fn,
                retry_on=transient,
                attempts=settings.ANCHOR_RETRY_ATTEMPTS,
                base_delay=0.5,
                max_delay=30.0,
            ),
            failure_types=transient,
        )
    except CircuitOpenError as exc:
        raise AnchorUnavailableError(
            "The anchoring circuit breaker is open after repeated chain failures.",
            headers={"Retry-After": str(max(1, int(exc.retry_after)))},
        ) from exc
    except transient as exc:
        raise AnchorUnavailableError(f"The anchoring chain did not answer: {type(exc).__name__}.") from exc


def anchor_send(c: CommitmentRow) -> AnchorRecord:
    """Send the anchor transaction of ``c``, wait for its receipt, return where it landed."""
    from web3 import Web3

    require_anchoring()
    account = _account()

    def send() -> AnchorRecord:
        w3 = _web3()
        if settings.ANCHOR_RPC_URL == IN_PROCESS_URL:
            _fund_in_process(w3, account.address)
        chain_id = w3.eth.chain_id
        base_fee = w3.eth.get_block("latest").get("baseFeePerGas", 0)
        tip = w3.eth.max_priority_fee
        tx = {
            "to": Web3.to_checksum_address(settings.ANCHOR_TO_ADDRESS),
            "value": 0,
            "data": anchor_calldata(c),
            "nonce": w3.eth.get_transaction_count(account.address, "pending"),
            "chainId": chain_id,
            "maxPriorityFeePerGas": tip,
            "maxFeePerGas": 2 * base_fee + tip,
        }
        tx["gas"] = w3.eth.estimate_gas({**tx, "from": account.address})  # type: ignore[typeddict-item]
        signed = account.sign_transaction(tx)
        tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=settings.ANCHOR_RECEIPT_TIMEOUT_SECONDS)
        if receipt["status"] != 1:
            raise AnchorFailedError(f"Anchor transaction {tx_hash.hex()} reverted.")
        return AnchorRecord(chain_id=chain_id, tx_hash=bytes(tx_hash), block_number=int(receipt["blockNumber"]))

    result: AnchorRecord = _chain_call(send)
    return result


def anchor_check(c: CommitmentRow) -> AnchorCheck:
    """Read ``c``'s recorded anchor transaction back from the chain and compare it with ``c``."""
    require_anchoring()
    if c.chain_tx_hash is None:
        return AnchorCheck(False, "the commitment has no anchor transaction")
    tx_hash = c.chain_tx_hash
    from eth_abi.abi import decode
    from hexbytes import HexBytes
    from web3.exceptions import TransactionNotFound

    def read() -> AnchorCheck:
        w3 = _web3()
        if w3.eth.chain_id != c.chain_id:
            return AnchorCheck(False, "the configured chain is not the chain the commitment was anchored on")
        try:
            tx = w3.eth.get_transaction(HexBytes(tx_hash))
            receipt = w3.eth.get_transaction_receipt(HexBytes(tx_hash))
        except TransactionNotFound:
            return AnchorCheck(False, "the transaction is not on chain")
        if receipt["status"] != 1 or int(receipt["blockNumber"]) != c.chain_block_number:
            return AnchorCheck(False, "the transaction failed or sits in another block")
        if (tx.get("to") or "").lower() != settings.ANCHOR_TO_ADDRESS.lower():
            return AnchorCheck(False, "the transaction was not sent to the anchor address")
        if str(tx["from"]).lower() != _account().address.lower():
            return AnchorCheck(False, "the transaction was not sent by the anchoring account")
        data = bytes(tx["input"])
        if not data.startswith(MAGIC) or data[len(MAGIC) :] != anchor_calldata(c)[len(MAGIC) :]:
            fields = decode(RECORD_TYPES, data[len(MAGIC) :]) if data.startswith(MAGIC) else None
            return AnchorCheck(False, f"the calldata does not record this commitment ({fields is not None})")
        return AnchorCheck(True, "ok")

    result: AnchorCheck = _chain_call(read)
    return result
