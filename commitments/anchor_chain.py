"""Anchoring commitment roots on an EVM chain with plain data transactions (web3.py).

An anchor is a transaction from the anchoring account to ``ANCHOR_TO_ADDRESS`` with value 0 whose
calldata is ``b"SSA1" || abi.encode(bytes32 stream_id, uint8 stream_kind, bytes16 batch_id,
uint64 sequence_start, uint64 sequence_end, bytes32 merkle_root, bytes32 new_state_root)``. No
contract is needed (no compiler at run time); verification reads the transaction and its receipt
back from the chain and decodes the calldata.

``ANCHOR_RPC_URL`` is an HTTP(S) JSON-RPC endpoint, or ``eth-tester://`` for an in-process py-evm
chain (development and tests: one per process, the anchoring account funded from its prefunded
accounts). Chain calls go through the shared web3 client (``sequencer_project/evm_client.py``)
inside the ``anchor`` circuit breaker: each read is retried up to ``ANCHOR_RETRY_ATTEMPTS``
times with jittered backoff. Under the anchoring account's send lock (:func:`anchor_send_lock`)
:func:`anchor_plan` decides which transaction to send: the one signed earlier and kept on the
commitment's row (its exact bytes, so the chain mines it at most once), or a new one signed now
(:class:`AnchorSigned`), which the service stores and commits before :func:`anchor_broadcast`
sends it; its receipt is awaited apart (:func:`anchor_receipt`). A new one is signed only when
there is none, when the chain has not mined the kept one and its nonce was taken by another
transaction, or when the kept one's nonce is above the account's pending nonce (a gap the node
may never fill).

Problems never carry the chain's exception text or the RPC URL (a hosted endpoint's URL often
holds an API key): the 503 details are fixed sentences and the exception goes to the log.

The anchoring service, which locks the commitment and records the transaction, is
``commitments/services/anchoring.py``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings

from commitments.errors import AnchorFailedError, AnchoringUnconfiguredError, AnchorUnavailableError
from commitments.selectors import CommitmentRow
from sequencer_project.evm_client import (
    IN_PROCESS_URL,
    ChainUnavailableError,
    NonceUsedError,
    SenderBusyError,
    TransactionRevertsError,
    TransactionSigned,
    receipt_wait,
    rpc_call,
    sender_lock,
    transaction_broadcast,
    transaction_sign,
    web3_connect,
)
from sequencer_project.resilience import CircuitBreaker, all_breakers, get_breaker
from ves.hashes import stream_id

if TYPE_CHECKING:
    from web3 import Web3

# web3, eth-abi and eth-account are imported inside the functions that use them: importing web3
# takes seconds, and this module is imported by the URLconf of every web process.

MAGIC = b"SSA1"
RECORD_TYPES = ["bytes32", "uint8", "bytes16", "uint64", "uint64", "bytes32", "bytes32"]

logger = logging.getLogger(__name__)

# The details of 503 anchor_unavailable: fixed, so no URL or exception text reaches a client.
CHAIN_DOWN = "The anchoring chain's RPC endpoint did not answer or refused the call; try again later."
BREAKER_OPEN = "The anchoring circuit breaker is open after repeated chain failures."
SENDER_BUSY = "Another transaction of the anchoring account is being sent; try again later."
NONCE_TAKEN = "The anchoring account's nonce was taken by other transactions each time; try again later."


@dataclass(frozen=True, slots=True)
class AnchorRecord:
    chain_id: int
    tx_hash: bytes
    block_number: int


@dataclass(frozen=True, slots=True)
class AnchorSent:
    """An anchor transaction sent (now, or earlier and still known to the chain)."""

    tx_hash: bytes
    chain_id: int


@dataclass(frozen=True, slots=True)
class AnchorSigned:
    """An anchor transaction signed and not sent yet: the service keeps it on the row, commits,
    then :func:`anchor_broadcast` sends exactly these bytes."""

    raw_transaction: bytes
    tx_hash: bytes
    nonce: int
    chain_id: int


@dataclass(frozen=True, slots=True)
class AnchorKept:
    """What a commitment's row keeps of its anchor transaction: its hash and, when it was signed
    by this release, its signed bytes and nonce (``None`` for a hash kept by an older one)."""

    tx_hash: bytes
    raw_transaction: bytes | None
    nonce: int | None


@dataclass(frozen=True, slots=True)
class AnchorUnconfirmed:
    """An anchor transaction was sent but its receipt was not seen (not mined within
    ``ANCHOR_RECEIPT_TIMEOUT_SECONDS``, or the chain stopped answering meanwhile)."""

    tx_hash: bytes
    detail: str


@dataclass(frozen=True, slots=True)
class AnchorCheck:
    anchored_on_chain: bool
    reason: str


def anchoring_configured() -> bool:
    return bool(settings.ANCHOR_RPC_URL and settings.ANCHOR_PRIVATE_KEY)


def anchor_service_health() -> dict[str, Any] | None:
    """``components.anchor_service`` of ``/health/detailed`` as the reference derives it from the
    anchor circuit breaker, ``degraded`` (at least) while commitments are given up after
    ``ANCHOR_MAX_ATTEMPTS`` failed sends, their count in the message; ``None`` (left out) when
    anchoring is not configured."""
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
    # Imported here: the anchoring service imports this module.
    from commitments.services.anchoring import commitment_anchor_given_up_count

    given_up = commitment_anchor_given_up_count()
    if given_up:
        status = "unhealthy" if status == "unhealthy" else "degraded"
        message += (
            f"; {given_up} commitment{'s' if given_up != 1 else ''} given up after ANCHOR_MAX_ATTEMPTS failed sends"
            " (re-arm with manage.py anchor_rearm)"
        )
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


def _web3() -> Web3:
    return web3_connect(
        settings.ANCHOR_RPC_URL, timeout_seconds=settings.ANCHOR_RPC_TIMEOUT_SECONDS, setting="ANCHOR_RPC_URL"
    )


def _account() -> Any:
    from eth_account import Account

    return Account.from_key(bytes.fromhex(settings.ANCHOR_PRIVATE_KEY.removeprefix("0x")))


def _fund_in_process(w3: Web3, address: str) -> None:
    if w3.eth.get_balance(address) < 10**17:  # type: ignore[arg-type]
        funded = w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": address, "value": 10**18})  # type: ignore[typeddict-item]
        w3.eth.wait_for_transaction_receipt(funded)


def _breaker() -> CircuitBreaker:
    return get_breaker("anchor", failure_threshold=5, reset_timeout=60.0)


def _read(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """One chain read through the ``anchor`` breaker, retried up to ``ANCHOR_RETRY_ATTEMPTS`` times."""
    return rpc_call(fn, *args, breaker=_breaker(), attempts=settings.ANCHOR_RETRY_ATTEMPTS, **kwargs)


def _unavailable(exc: ChainUnavailableError) -> AnchorUnavailableError:
    """The 503 for ``exc``, with a fixed detail; ``exc`` (and the error it came from, which may
    name the RPC URL) goes to the log."""
    logger.warning("anchoring chain unavailable: %s", exc, exc_info=exc)
    if exc.retry_after is not None:
        return AnchorUnavailableError(BREAKER_OPEN, headers={"Retry-After": str(max(1, int(exc.retry_after)))})
    if isinstance(exc, SenderBusyError):
        return AnchorUnavailableError(SENDER_BUSY)
    if isinstance(exc, NonceUsedError):
        return AnchorUnavailableError(NONCE_TAKEN)
    return AnchorUnavailableError(CHAIN_DOWN)


def _chain_transaction(w3: Web3, tx_hash: bytes) -> Any | None:
    """The chain's view of ``tx_hash`` (mined: ``blockNumber`` set; waiting in its pool: ``None``
    there), or ``None`` when it does not know it."""
    from hexbytes import HexBytes
    from web3.exceptions import TransactionNotFound

    try:
        return _read(w3.eth.get_transaction, HexBytes(tx_hash))
    except TransactionNotFound:
        return None


def _still_known(w3: Web3, tx_hash: bytes) -> bool:
    """Whether the chain knows ``tx_hash`` (mined or waiting in its pool)."""
    return _chain_transaction(w3, tx_hash) is not None


@contextlib.contextmanager
def anchor_send_lock() -> Iterator[None]:
    """The anchoring account's send lock (``sequencer_project/evm_client.py``, :func:`sender_lock`)
    until the block exits: held from before :func:`anchor_plan` until :func:`anchor_broadcast` has
    sent, across the caller's commit in between. :class:`AnchorUnavailableError` when another
    send of the account kept it past its wait."""
    require_anchoring()
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(sender_lock(_web3(), _account().address))
        except ChainUnavailableError as exc:
            raise _unavailable(exc) from exc
        yield


def _sign(c: CommitmentRow, w3: Web3, account: Any) -> AnchorSigned:
    try:
        signed = transaction_sign(
            w3,
            account,
            to=settings.ANCHOR_TO_ADDRESS,
            data=anchor_calldata(c),
            breaker=_breaker(),
            attempts=settings.ANCHOR_RETRY_ATTEMPTS,
        )
    except TransactionRevertsError as exc:
        logger.warning("anchor transaction of commitment %s would revert: %s", c.batch_id, exc, exc_info=exc)
        raise AnchorFailedError(f"The anchor transaction of commitment {c.batch_id} would revert.") from exc
    return AnchorSigned(signed.raw_transaction, signed.tx_hash, signed.nonce, signed.chain_id)


def anchor_plan(c: CommitmentRow, *, kept: AnchorKept | None) -> AnchorSent | AnchorSigned:
    """The anchor transaction of ``c`` to wait for (:class:`AnchorSent`) or to send
    (:class:`AnchorSigned`). Caller holds ``c``'s row lock and :func:`anchor_send_lock`.

    - ``kept`` mined, or waiting in the chain's pool with a nonce it can reach: wait for it.
    - ``kept`` with its signed bytes, unknown to the chain, its nonce the account's pending nonce:
      send exactly those bytes again (an attempt that died between storing and sending them).
    - Otherwise: a new one, signed now at the pending nonce, which the service keeps on the row
      in place of the kept one. That is when nothing is kept; a hash without bytes the chain
      forgot; the chain has not mined the kept one and its nonce was taken by another
      transaction; or the kept one's nonce is *above* the pending nonce (a gap: the node dropped
      earlier transactions of the account, or another node answered the nonce read), whether
      the chain queues it or not. A node holds such a transaction until the gap is filled, which
      may be never, so waiting for it or sending it again would hold the commitment (and every
      later attempt) forever; logged as a WARNING. The gapped one may still be mined once the
      account's nonce reaches it: a second anchor of the same root, harmless (the row records
      the new one), and its nonce taken from a later transaction, which is then signed anew.

    :class:`AnchorUnavailableError` when the chain did not answer (nothing sent),
    :class:`AnchorFailedError` when the new one's gas estimate says it reverts (nothing sent).
    """
    require_anchoring()
    account = _account()
    w3 = _web3()
    try:
        if settings.ANCHOR_RPC_URL == IN_PROCESS_URL:
            _fund_in_process(w3, account.address)
        if kept is not None:
            known = _chain_transaction(w3, kept.tx_hash)
            mined = known is not None and known.get("blockNumber") is not None
            nonce = kept.nonce if kept.nonce is not None else (int(known["nonce"]) if known is not None else None)
            next_nonce = None
            if not mined and nonce is not None:
                next_nonce = int(_read(w3.eth.get_transaction_count, account.address, "pending"))
            if next_nonce is not None and nonce is not None and nonce > next_nonce:
                logger.warning(
                    "anchor transaction 0x%s of commitment %s has nonce %d, above the account's pending nonce %d "
                    "(%s; the node dropped earlier transactions of the account): never mined until that gap is "
                    "filled, so signing a new one at the pending nonce",
                    kept.tx_hash.hex(),
                    c.batch_id,
                    nonce,
                    next_nonce,
                    "queued by the chain" if known is not None else "unknown to the chain",
                )
                return _sign(c, w3, account)
            if known is not None:
                return AnchorSent(kept.tx_hash, int(_read(lambda: w3.eth.chain_id)))
            if kept.raw_transaction is not None and kept.nonce is not None and next_nonce is not None:
                if kept.nonce == next_nonce:
                    return AnchorSigned(
                        kept.raw_transaction, kept.tx_hash, kept.nonce, int(_read(lambda: w3.eth.chain_id))
                    )
                logger.warning(
                    "anchor transaction 0x%s of commitment %s was never mined and its nonce %d was taken by another "
                    "transaction; signing a new one",
                    kept.tx_hash.hex(),
                    c.batch_id,
                    kept.nonce,
                )
        return _sign(c, w3, account)
    except ChainUnavailableError as exc:
        raise _unavailable(exc) from exc


def anchor_broadcast(signed: AnchorSigned) -> AnchorSent:
    """Send ``signed``'s exact bytes. Caller holds :func:`anchor_send_lock` and has committed the
    row that keeps them. A refusal because the nonce is taken is no error when the chain knows
    this very transaction (sent before: wait for it); else :class:`AnchorUnavailableError` (the
    next attempt signs a new one, :func:`anchor_plan`), as when the chain did not answer."""
    w3 = _web3()
    try:
        if transaction_broadcast(
            w3,
            TransactionSigned(signed.raw_transaction, signed.tx_hash, signed.chain_id, signed.nonce),
            breaker=_breaker(),
        ) or _still_known(w3, signed.tx_hash):
            return AnchorSent(signed.tx_hash, signed.chain_id)
    except ChainUnavailableError as exc:
        raise _unavailable(exc) from exc
    raise _unavailable(NonceUsedError(f"nonce {signed.nonce} of anchor transaction 0x{signed.tx_hash.hex()} taken"))


def anchor_receipt(sent: AnchorSent) -> AnchorRecord | AnchorUnconfirmed:
    """Wait up to ``ANCHOR_RECEIPT_TIMEOUT_SECONDS`` for ``sent``'s receipt: where it landed, or
    :class:`AnchorUnconfirmed` when it was not seen mined (not in time, or the chain stopped
    answering); :class:`AnchorFailedError` when it reverted."""
    tx_hash = sent.tx_hash
    try:
        receipt = receipt_wait(
            _web3(),
            tx_hash,
            timeout=settings.ANCHOR_RECEIPT_TIMEOUT_SECONDS,
            breaker=_breaker(),
            attempts=settings.ANCHOR_RETRY_ATTEMPTS,
        )
    except ChainUnavailableError as exc:
        logger.warning("anchor transaction 0x%s: no receipt: %s", tx_hash.hex(), exc, exc_info=exc)
        return AnchorUnconfirmed(
            tx_hash, f"The anchor transaction 0x{tx_hash.hex()} was sent but the chain stopped answering."
        )
    if receipt is None:
        return AnchorUnconfirmed(
            tx_hash,
            f"The anchor transaction 0x{tx_hash.hex()} was sent but not mined within ANCHOR_RECEIPT_TIMEOUT_SECONDS.",
        )
    if receipt["status"] != 1:
        raise AnchorFailedError(f"Anchor transaction 0x{tx_hash.hex()} reverted.")
    return AnchorRecord(chain_id=sent.chain_id, tx_hash=tx_hash, block_number=int(receipt["blockNumber"]))


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
        if _read(lambda: w3.eth.chain_id) != c.chain_id:
            return AnchorCheck(False, "the configured chain is not the chain the commitment was anchored on")
        try:
            tx = _read(w3.eth.get_transaction, HexBytes(tx_hash))
            receipt = _read(w3.eth.get_transaction_receipt, HexBytes(tx_hash))
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

    try:
        return read()
    except ChainUnavailableError as exc:
        raise _unavailable(exc) from exc
