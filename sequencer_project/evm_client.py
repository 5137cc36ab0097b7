"""The one web3 client: connecting to an EVM chain and making JSON-RPC calls, for commitment
anchoring (``commitments/anchor_chain.py``) and x402 settlement (``payments/evm.py``).

Connections. ``eth-tester://`` (:data:`IN_PROCESS_URL`) is an in-process py-evm chain for
development and tests: one per process, created under a lock so that concurrent first callers
share it (system check ``sequencer.E037`` refuses it in production). Anything else is an HTTP(S)
JSON-RPC endpoint with a per-request timeout.

Calls. Every call goes through its caller's circuit breaker (``anchor``, ``x402_chain``; visible in
``/health/detailed`` and metrics). An unreachable or refusing chain (``OSError`` or a web3 error)
becomes :class:`ChainUnavailableError` and counts as a breaker failure; ``TimeExhausted`` and
``TransactionNotFound`` are answers, not outages, and pass through untouched. Once the breaker is
open, calls fail fast with :class:`ChainUnavailableError` carrying ``retry_after``.

Retries: a read may be retried, a send never. :func:`rpc_call` retries one idempotent read up to
``attempts`` times with full-jitter backoff (0.5 s doubling to 30 s) inside the breaker, so an
exhausted call is one breaker failure. :func:`rpc_send` sends a signed transaction exactly once.
Of the two policies this replaces, the x402 one (each call once, the settle task retries with
backoff and replaces by nonce) was the safe one; anchoring retried its whole
send-and-wait-for-receipt, so a receipt timeout sent a second anchor transaction for the same
commitment. Retrying only single reads keeps anchoring's resilience to a blip without that.

Transactions. Both callers send a plain EIP-1559 data transaction with value 0
(:func:`transaction_sign`: chain id, base fee, tip, pending nonce, ``maxFeePerGas = 2 * base fee
+ tip``, estimated gas, signed locally; :func:`transaction_broadcast`: sent once) and wait for its
receipt (:func:`receipt_wait`). What the receipt means (a reverted transaction, confirmations, a
timeout) stays with the caller: anchoring answers 503/502 problems, settlement replaces the
transaction by nonce. A chain refusing a transaction because its nonce is taken raises
:class:`NonceUsedError` when signing a given nonce, and makes :func:`transaction_broadcast` answer
``False``.

One account sends one transaction at a time. Reading the pending nonce, estimating, signing and
sending run under :func:`sender_lock`: the session-level PostgreSQL advisory lock
``(LockNamespace.EVM_SENDER, sender_lock_key(address))`` for a chain other processes can reach (every
thread and process of every node: anchoring workers, x402 settlement, web requests), a lock of
this process for the in-process chain (no other process can reach it). Two concurrent senders
therefore never read the same pending nonce. A nonce taken anyway (a transaction of the account
sent by something else, a load-balanced node whose pending count lags) is the caller's to handle.

Signing apart from sending. Each caller keeps the signed transaction in its own rows before it is
sent, so that an attempt killed between the two leaves the bytes behind and a later attempt sends
exactly those (same nonce, same hash: mined at most once) instead of a second transaction. It
holds :func:`sender_lock` itself across :func:`transaction_sign`, its own commit and
:func:`transaction_broadcast`, so the nonce read stays unique across processes as above.

Messages. A :class:`ChainUnavailableError` names the failure's type and, for a JSON-RPC error
answer, the node's own message, never the text of a transport error: requests and urllib3 put
the endpoint's URL in theirs (``HTTPConnectionPool(host=…, port=…) … url: /…``), and a hosted
endpoint's URL often carries an API key. The original exception is the ``__cause__``, for the
server's log.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sequencer_project import local_chain
from sequencer_project.db.locks import LockNamespace, session_lock_release, session_lock_try
from sequencer_project.resilience import CircuitBreaker, CircuitOpenError, retry_call

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount
    from web3 import Web3
    from web3.types import TxReceipt

# web3 and the eth-* libraries are imported inside the functions: importing web3 takes seconds,
# and the modules using this one sit on the URLconf's import path.
IN_PROCESS_URL = local_chain.IN_PROCESS_URL
_RETRY_BASE_DELAY_SECONDS = 0.5
_RETRY_MAX_DELAY_SECONDS = 30.0

# How long a send waits for another send of the same account before giving up (retry later).
SENDER_LOCK_WAIT_SECONDS = 60.0

logger = logging.getLogger(__name__)


class ChainUnavailableError(Exception):
    """The RPC endpoint could not be reached or refused the call, or its breaker is open; retry
    later (after ``retry_after`` seconds when the breaker said so)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NonceUsedError(ChainUnavailableError):
    """The chain refused a transaction because its nonce is taken ("nonce too low", "already
    known"): usually the transaction it replaces was mined meanwhile. Look for that receipt."""


class SenderBusyError(ChainUnavailableError):
    """Another transaction of the account was being sent for :data:`SENDER_LOCK_WAIT_SECONDS`;
    retry later."""


class TransactionRevertsError(Exception):
    """The chain's gas estimate says the transaction reverts (an answer about the transaction, not
    an outage): sending it would pay gas for a revert."""


# How geth, erigon, anvil, Nethermind and eth-tester word a taken nonce (lower case).
_NONCE_USED = ("nonce too low", "already known", "known transaction", "invalid transaction nonce", "nonce is too low")


# How nodes and eth-tester word an estimate of a reverting call (lower case).
_REVERTS = ("execution reverted", "transaction failed", "vm exception while processing transaction: revert")


@dataclass(frozen=True, slots=True)
class TransactionSigned:
    """A transaction signed and not sent yet: the exact bytes to (re)send and their hash."""

    raw_transaction: bytes
    tx_hash: bytes
    chain_id: int
    nonce: int


_in_process_lock = threading.Lock()


@functools.cache
def _in_process_web3(setting: str) -> Web3:
    return local_chain.in_process_web3(setting)  # only development and tests use the in-process chain


def web3_connect(url: str, *, timeout_seconds: float, setting: str) -> Web3:
    """The chain at ``url``, read from ``setting`` (no network I/O here)."""
    from web3 import Web3

    if url == IN_PROCESS_URL:
        with _in_process_lock:
            return _in_process_web3(setting)
    return Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": timeout_seconds}))


def _public_text(exc: BaseException) -> str:
    """What a message may say of a failed call (see the module's docstring, "Messages")."""
    from web3.exceptions import Web3RPCError

    if isinstance(exc, Web3RPCError):
        error = (exc.rpc_response or {}).get("error")
        message = error.get("message") if isinstance(error, dict) else None
        said = f": {message[:300]}" if isinstance(message, str) else ""
        return f"the RPC endpoint refused the call ({type(exc).__name__}{said})"
    if isinstance(exc, OSError):
        return f"the RPC endpoint did not answer ({type(exc).__name__})"
    return f"the RPC call failed ({type(exc).__name__})"


def _once(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    from web3.exceptions import TimeExhausted, TransactionNotFound, Web3Exception

    try:
        return fn(*args, **kwargs)
    except (OSError, Web3Exception) as exc:
        if isinstance(exc, TimeExhausted | TransactionNotFound):  # answers, not outages
            raise
        logger.debug("chain call failed: %s: %s", type(exc).__name__, exc)
        raise ChainUnavailableError(_public_text(exc)) from exc


def _through(breaker: CircuitBreaker, call: Callable[[], Any]) -> Any:
    try:
        return breaker.call(call, failure_types=(ChainUnavailableError,))
    except CircuitOpenError as exc:
        raise ChainUnavailableError(str(exc), retry_after=exc.retry_after) from exc


def rpc_call(fn: Callable[..., Any], *args: Any, breaker: CircuitBreaker, attempts: int = 1, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``, one idempotent JSON-RPC read, tried up to ``attempts`` times."""
    return _through(
        breaker,
        lambda: retry_call(
            lambda: _once(fn, *args, **kwargs),
            retry_on=(ChainUnavailableError,),
            attempts=attempts,
            base_delay=_RETRY_BASE_DELAY_SECONDS,
            max_delay=_RETRY_MAX_DELAY_SECONDS,
        ),
    )


def rpc_send(w3: Web3, raw_transaction: bytes, *, breaker: CircuitBreaker) -> bytes:
    """Send a signed transaction, exactly once; its hash."""
    return bytes(_through(breaker, lambda: _once(w3.eth.send_raw_transaction, raw_transaction)))


def sender_lock_key(address: str) -> int:
    """A stable signed 32-bit key for a sending account (the second argument of the two-key form)."""
    digest = hashlib.sha256(b"evm-sender:" + address.lower().encode()).digest()
    return int.from_bytes(digest[:4], "big", signed=True)


_local_sender_locks: dict[str, threading.Lock] = {}
_local_sender_locks_guard = threading.Lock()


@contextlib.contextmanager
def _local_sender_lock(address: str, wait_seconds: float) -> Iterator[None]:
    with _local_sender_locks_guard:
        lock = _local_sender_locks.setdefault(address.lower(), threading.Lock())
    if not lock.acquire(timeout=wait_seconds):
        raise SenderBusyError(f"another transaction of {address} is being sent; retry later")
    try:
        yield
    finally:
        lock.release()


@contextlib.contextmanager
def _database_sender_lock(address: str, wait_seconds: float) -> Iterator[None]:
    """The session-level advisory lock of ``address`` on this thread's default connection, polled
    with ``pg_try_advisory_lock`` (so the wait is bounded, in or out of the caller's transaction)
    and released in ``finally``; PostgreSQL releases it too if the connection drops. When the
    unlock fails the session is discarded, which frees the lock (``db.locks.session_lock_release``)."""
    from django.db import connection

    key = sender_lock_key(address)
    deadline = time.monotonic() + wait_seconds
    delay = 0.005
    while not session_lock_try(connection, LockNamespace.EVM_SENDER, key):
        if time.monotonic() >= deadline:
            raise SenderBusyError(f"another transaction of {address} is being sent; retry later")
        time.sleep(random.uniform(delay / 2, delay))  # noqa: S311  (jitter, not cryptography)
        delay = min(delay * 2, 0.2)
    try:
        yield
    finally:
        session_lock_release(connection, LockNamespace.EVM_SENDER, key, what=f"sender lock of {address}")


def sender_lock(
    w3: Web3, address: str, *, wait_seconds: float | None = None
) -> contextlib.AbstractContextManager[None]:
    """A context manager holding the send lock of ``address`` on ``w3``'s chain (see the module's
    docstring); :class:`SenderBusyError` after ``wait_seconds`` (:data:`SENDER_LOCK_WAIT_SECONDS`)
    of waiting."""
    from web3 import EthereumTesterProvider

    wait = SENDER_LOCK_WAIT_SECONDS if wait_seconds is None else wait_seconds
    if isinstance(w3.provider, EthereumTesterProvider):  # this process's own chain
        return _local_sender_lock(address, wait)
    return _database_sender_lock(address, wait)


def _nonce_taken(exc: BaseException) -> bool:
    """Whether ``exc`` or an exception it was raised from says the nonce is taken."""
    seen: BaseException | None = exc
    while seen is not None:
        if any(words in str(seen).lower() for words in _NONCE_USED):
            return True
        seen = seen.__cause__
    return False


def _reverts(exc: BaseException) -> bool:
    """Whether ``exc`` or an exception it was raised from says the call reverts."""
    from web3.exceptions import ContractLogicError

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ContractLogicError) or type(seen).__name__ == "TransactionFailed":  # eth-tester's
            return True
        if any(words in str(seen).lower() for words in _REVERTS):
            return True
        seen = seen.__cause__
    return False


def transaction_sign(
    w3: Web3,
    account: LocalAccount,
    *,
    to: str,
    data: bytes,
    breaker: CircuitBreaker,
    attempts: int = 1,
    nonce: int | None = None,
    tip: int | None = None,
    min_fee: int = 0,
) -> TransactionSigned:
    """Sign a data transaction (value 0, EIP-1559) from ``account`` to ``to`` with the account's
    pending nonce and an estimated gas; nothing is sent. Fees: ``tip`` when given, else the
    chain's, and ``maxFeePerGas = 2 * base fee + tip``, at least ``min_fee``. ``nonce``, when
    given, is signed instead of the pending nonce (a replacement of a kept transaction, with
    higher fees); :class:`NonceUsedError` when the estimate says it is taken.

    The caller holds ``sender_lock(w3, account.address)`` from before this call until the
    transaction is sent (:func:`transaction_broadcast`) or given up, so no other sender reads the
    same pending nonce meanwhile. :class:`TransactionRevertsError` when the estimate says it
    reverts; :class:`ChainUnavailableError` when the chain does not answer.
    """
    from web3 import Web3

    def read(fn: Callable[..., Any], *args: Any) -> int:
        return int(rpc_call(fn, *args, breaker=breaker, attempts=attempts))

    chain_id = read(lambda: w3.eth.chain_id)
    base_fee = int(rpc_call(w3.eth.get_block, "latest", breaker=breaker, attempts=attempts).get("baseFeePerGas", 0))
    if tip is None:
        tip = read(lambda: w3.eth.max_priority_fee)
    tx: dict[str, Any] = {
        "to": Web3.to_checksum_address(to),
        "value": 0,
        "data": data,
        "chainId": chain_id,
        "maxPriorityFeePerGas": tip,
        "maxFeePerGas": max(2 * base_fee + tip, min_fee),
        "nonce": nonce if nonce is not None else read(w3.eth.get_transaction_count, account.address, "pending"),
    }
    try:
        tx["gas"] = read(w3.eth.estimate_gas, {**tx, "from": account.address})
    except Exception as exc:
        # The in-process chain raises eth-tester's TransactionFailed, RPC nodes an error response.
        if _reverts(exc):
            raise TransactionRevertsError(f"the gas estimate of a transaction to {to} reverts") from exc
        if nonce is not None and _nonce_taken(exc):  # the transaction it replaces was mined meanwhile
            raise NonceUsedError(f"nonce {nonce}: {exc}") from exc
        raise
    signed = account.sign_transaction(tx)
    return TransactionSigned(bytes(signed.raw_transaction), bytes(signed.hash), chain_id, int(tx["nonce"]))


def transaction_broadcast(w3: Web3, signed: TransactionSigned, *, breaker: CircuitBreaker) -> bool:
    """Send ``signed`` once, exactly its bytes: ``True`` when the chain took it, ``False`` when it
    refused it because its nonce is taken ("already known", "nonce too low": this very
    transaction sent before, or another one of that nonce; the caller asks the chain which).
    :class:`ChainUnavailableError` when the chain does not answer. Caller holds the send lock."""
    try:
        rpc_send(w3, signed.raw_transaction, breaker=breaker)
    except Exception as exc:
        # The in-process chain raises eth_utils' ValidationError, RPC nodes an error response.
        if not _nonce_taken(exc):
            raise
        logger.info("transaction 0x%s: nonce %d taken (%s)", signed.tx_hash.hex(), signed.nonce, exc)
        return False
    return True


def receipt_wait(
    w3: Web3, tx_hash: bytes | str, *, timeout: float, breaker: CircuitBreaker, attempts: int = 1
) -> TxReceipt | None:
    """The receipt of ``tx_hash`` once it is mined (whatever its status), polled every 0.1 s
    through ``breaker``; ``None`` when it is not mined within ``timeout`` seconds."""
    from web3.exceptions import TimeExhausted

    try:
        receipt: TxReceipt = rpc_call(
            w3.eth.wait_for_transaction_receipt,
            tx_hash,
            timeout=timeout,
            poll_latency=0.1,
            breaker=breaker,
            attempts=attempts,
        )
    except TimeExhausted:
        return None
    return receipt
