"""No double send when an anchoring dies between signing and recording (docs/commitments.md,
"Anchoring").

The anchor transaction is signed, kept on the commitment's row (hash, signed bytes, nonce) and
committed before it is sent. An attempt that dies after that commit (before its send reaches the
chain, or after) leaves the bytes behind; the next attempt sends exactly those bytes again or
waits for them, so the chain holds ONE anchor transaction. A new one is signed only when the
chain never saw the kept one and its nonce went to another transaction.

On the real in-process chain (eth-tester + py-evm), and over HTTP (:mod:`payments.devchain`) for
a worker process killed with SIGKILL while its send is on the way.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings
from eth_account import Account
from hexbytes import HexBytes
from web3.exceptions import TransactionNotFound

from commitments.anchor_chain import _account, _fund_in_process, _web3, anchor_broadcast
from commitments.services import anchoring
from commitments.services.anchoring import commitment_anchor
from payments.devchain import DevChain
from sequencer_project.resilience import get_breaker
from tests.commitments.anchor_helpers import ANCHOR_KEY, CHAIN, anchor_state, child_told_to_go, insert_commitments
from tests.sequencer_project.ops_helpers import child_database_url, free_port

pytestmark = pytest.mark.django_db


class _Killed(BaseException):
    """The worker dies here (SIGKILL, an OOM kill): nothing after this point runs."""


@pytest.fixture(autouse=True)
def _closed_breaker() -> Iterator[None]:
    get_breaker("anchor", failure_threshold=5, reset_timeout=60.0).reset()
    yield
    get_breaker("anchor", failure_threshold=5, reset_timeout=60.0).reset()


def _sent_count() -> int:
    """Transactions the anchoring account has had mined (its nonce)."""
    w3 = _web3()
    address = _account().address
    _fund_in_process(w3, address)
    return int(w3.eth.get_transaction_count(address))


def _die_at_broadcast(monkeypatch: pytest.MonkeyPatch, *, after_sending: bool) -> None:
    def broadcast(signed: Any) -> Any:
        if after_sending:
            anchor_broadcast(signed)
        raise _Killed

    monkeypatch.setattr(anchoring, "anchor_broadcast", broadcast)


@override_settings(**CHAIN)
def test_an_attempt_dead_before_sending_leaves_the_bytes_and_the_next_sends_exactly_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tenant_id, batch_id), *_ = insert_commitments(1)
    before = _sent_count()
    _die_at_broadcast(monkeypatch, after_sending=False)
    with pytest.raises(_Killed):
        commitment_anchor(tenant_id=tenant_id, batch_id=batch_id)
    kept = anchor_state(tenant_id, batch_id)
    assert kept.pending_tx_hash is not None  # committed before the send
    assert kept.signed_tx is not None
    assert kept.tx_nonce == before
    assert _sent_count() == before  # nothing reached the chain
    monkeypatch.undo()

    result = commitment_anchor(tenant_id=tenant_id, batch_id=batch_id)

    assert result.commitment.chain_tx_hash == kept.pending_tx_hash  # the very bytes kept
    assert _sent_count() == before + 1  # ONE anchor transaction
    state = anchor_state(tenant_id, batch_id)
    assert (state.pending_tx_hash, state.signed_tx, state.tx_nonce, state.attempts) == (None, None, None, None)


@override_settings(**CHAIN)
def test_an_attempt_dead_after_sending_is_waited_for_never_sent_again(monkeypatch: pytest.MonkeyPatch) -> None:
    (tenant_id, batch_id), *_ = insert_commitments(1)
    before = _sent_count()
    _die_at_broadcast(monkeypatch, after_sending=True)
    with pytest.raises(_Killed):
        commitment_anchor(tenant_id=tenant_id, batch_id=batch_id)
    kept = anchor_state(tenant_id, batch_id).pending_tx_hash
    assert _sent_count() == before + 1  # on chain, not recorded
    monkeypatch.undo()

    first = commitment_anchor(tenant_id=tenant_id, batch_id=batch_id)
    again = commitment_anchor(tenant_id=tenant_id, batch_id=batch_id)

    assert first.commitment.chain_tx_hash == kept
    assert (again.already_anchored, again.commitment.chain_tx_hash) == (True, kept)
    assert _sent_count() == before + 1


@override_settings(**CHAIN)
def test_a_kept_transaction_whose_nonce_another_took_is_replaced_by_one_new_transaction(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tenant_id, batch_id), (other_tenant, other_batch) = insert_commitments(2)
    before = _sent_count()
    _die_at_broadcast(monkeypatch, after_sending=False)
    with pytest.raises(_Killed):
        commitment_anchor(tenant_id=tenant_id, batch_id=batch_id)
    monkeypatch.undo()
    kept = anchor_state(tenant_id, batch_id)
    other = commitment_anchor(tenant_id=other_tenant, batch_id=other_batch)  # takes the kept nonce
    assert _web3().eth.get_transaction(HexBytes(other.commitment.chain_tx_hash or b""))["nonce"] == kept.tx_nonce

    result = commitment_anchor(tenant_id=tenant_id, batch_id=batch_id)

    assert result.commitment.chain_tx_hash not in (None, kept.pending_tx_hash)
    with pytest.raises(TransactionNotFound):  # the kept one never reached the chain, and never will
        _web3().eth.get_transaction(HexBytes(kept.pending_tx_hash or b""))
    assert _sent_count() == before + 2  # one anchor each
    assert anchor_state(tenant_id, batch_id).attempts is None  # not a failed send


def _keep_gapped(tenant_id: Any, batch_id: Any, w3: Any, *, gap: int = 5) -> tuple[bytes, bytes, int]:
    """Keep on the row an anchor transaction of the anchoring account signed with a nonce ``gap``
    above its pending nonce, as an attempt leaves it when the node then dropped the account's
    earlier transactions (or another node answered the nonce read); its raw bytes, hash, nonce."""
    account = Account.from_key(ANCHOR_KEY)
    nonce = int(w3.eth.get_transaction_count(account.address, "pending")) + gap
    signed = account.sign_transaction(
        {
            "type": 2,
            "chainId": int(w3.eth.chain_id),
            "nonce": nonce,
            "to": w3.to_checksum_address(settings.ANCHOR_TO_ADDRESS),
            "value": 0,
            "data": b"SSA1" + bytes(32),
            "gas": 100_000,
            "maxFeePerGas": 10**11,
            "maxPriorityFeePerGas": 10**9,
        }
    )
    raw, tx_hash = bytes(signed.raw_transaction), bytes(signed.hash)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE commitments SET anchor_pending_tx_hash = %s, anchor_signed_tx = %s, anchor_tx_nonce = %s"
            " WHERE tenant_id = %s AND batch_id = %s",
            [tx_hash, raw, nonce, tenant_id, batch_id],
        )
    return raw, tx_hash, nonce


@override_settings(**CHAIN)
def test_a_kept_transaction_above_the_pending_nonce_is_replaced_by_one_at_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The in-process chain refuses a transaction whose nonce leaves a gap: sending the kept one
    again would fail at every attempt (before: 503 anchor_unavailable, forever)."""
    (tenant_id, batch_id), *_ = insert_commitments(1)
    before = _sent_count()
    _, gapped, nonce = _keep_gapped(tenant_id, batch_id, _web3())
    assert nonce == before + 5

    with caplog.at_level(logging.WARNING, logger="commitments.anchor_chain"):
        result = commitment_anchor(tenant_id=tenant_id, batch_id=batch_id)

    assert result.commitment.chain_tx_hash not in (None, gapped)
    mined = _web3().eth.get_transaction(HexBytes(result.commitment.chain_tx_hash or b""))
    assert mined["nonce"] == before  # the pending nonce
    assert _sent_count() == before + 1
    with pytest.raises(TransactionNotFound):
        _web3().eth.get_transaction(HexBytes(gapped))
    state = anchor_state(tenant_id, batch_id)
    assert (state.pending_tx_hash, state.signed_tx, state.tx_nonce, state.attempts) == (None, None, None, None)
    [warning] = [r for r in caplog.records if "above the account's pending nonce" in r.getMessage()]
    assert warning.levelno == logging.WARNING
    assert f"nonce {nonce}, above the account's pending nonce {before}" in warning.getMessage()


class _QueueingNode:
    """A node that accepts a transaction whose nonce leaves a gap and queues it (as geth does):
    it answers for it as waiting in its pool (no block) and never mines it."""

    def __init__(self, chain: DevChain) -> None:
        self._chain = chain
        self._real = chain._request
        self.queued: dict[str, dict[str, Any]] = {}
        chain._request = self._request

    def _request(self, method: str, params: Any) -> Any:
        if method == "eth_sendRawTransaction":
            from eth_account.typed_transactions.typed_transaction import TypedTransaction
            from eth_utils.crypto import keccak

            tx = TypedTransaction.from_bytes(HexBytes(params[0]))
            sender = Account.recover_transaction(params[0])
            fields = tx.as_dict()
            if int(fields["nonce"]) > self._chain.w3.eth.get_transaction_count(sender, "pending"):
                tx_hash = "0x" + keccak(HexBytes(params[0])).hex()
                self.queued[tx_hash] = {
                    "hash": tx_hash,
                    "nonce": hex(int(fields["nonce"])),
                    "from": sender,
                    "to": self._chain.w3.to_checksum_address(fields["to"]),
                    "value": "0x0",
                    "gas": hex(int(fields["gas"])),
                    "input": "0x" + bytes(fields["data"]).hex(),
                    "blockHash": None,
                    "blockNumber": None,
                    "transactionIndex": None,
                }
                return {"jsonrpc": "2.0", "result": tx_hash}
        if method == "eth_getTransactionByHash" and str(params[0]).lower() in self.queued:
            return {"jsonrpc": "2.0", "result": self.queued[str(params[0]).lower()]}
        return self._real(method, params)


@pytest.mark.django_db(transaction=True)
def test_a_kept_transaction_the_chain_queues_behind_a_gap_is_replaced_not_waited_for(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Before, the chain "knowing" the queued transaction made every attempt wait for it: 503
    after ANCHOR_RECEIPT_TIMEOUT_SECONDS, forever."""
    (tenant_id, batch_id), *_ = insert_commitments(1)
    address = Account.from_key(ANCHOR_KEY).address
    with DevChain(port=free_port()).serving() as chain:
        chain.fund(address)
        node = _QueueingNode(chain)
        raw, gapped, nonce = _keep_gapped(tenant_id, batch_id, chain.w3)
        chain.call({"jsonrpc": "2.0", "id": 1, "method": "eth_sendRawTransaction", "params": ["0x" + raw.hex()]})
        assert "0x" + gapped.hex() in node.queued  # sent before, queued behind the gap

        with (
            override_settings(
                ANCHOR_RPC_URL=chain.url,
                ANCHOR_PRIVATE_KEY=ANCHOR_KEY,
                ANCHOR_RETRY_ATTEMPTS=1,
                ANCHOR_RECEIPT_TIMEOUT_SECONDS=3,
            ),
            caplog.at_level(logging.WARNING, logger="commitments.anchor_chain"),
        ):
            result = commitment_anchor(tenant_id=tenant_id, batch_id=batch_id)

        assert result.commitment.chain_tx_hash not in (None, gapped)
        assert chain.w3.eth.get_transaction_count(address) == nonce - 5 + 1  # mined at the pending nonce
    assert anchor_state(tenant_id, batch_id).pending_tx_hash is None
    assert any("queued by the chain" in r.getMessage() for r in caplog.records)


# A worker process: says "ready" once Django is set up, then anchors one commitment when told
# "go". The test kills it with SIGKILL while its send is held at the chain.
CHILD = """
import sys, uuid
import django
django.setup()
from commitments.services.anchoring import commitment_anchor
print("ready", flush=True)
sys.stdin.readline()
commitment_anchor(tenant_id=uuid.UUID(sys.argv[1]), batch_id=uuid.UUID(sys.argv[2]))
print("anchored", flush=True)
"""


class _HeldSend:
    """Holds the chain's answer to ``eth_sendRawTransaction`` until :meth:`release`; the
    transaction reaches the chain (``deliver``) or is dropped (its sender died first)."""

    def __init__(self, chain: DevChain, *, deliver: bool) -> None:
        self.arrived = threading.Event()
        self._released = threading.Event()
        self._chain = chain
        self._real = chain._request
        self._deliver = deliver
        chain._request = self._request

    def _request(self, method: str, params: Any) -> Any:
        if method != "eth_sendRawTransaction":
            return self._real(method, params)
        answer = self._real(method, params) if self._deliver else None
        self.arrived.set()
        self._released.wait(60)
        if not self._deliver:
            raise ConnectionAbortedError("the sender is gone")
        return answer

    def release(self) -> None:
        """Answer the held send, and let every later one through untouched."""
        self._chain._request = self._real
        self._released.set()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("delivered", [False, True], ids=["killed-before-the-send", "killed-after-the-send"])
def test_a_worker_killed_during_its_send_leaves_one_anchor_transaction_on_chain(delivered: bool) -> None:
    (tenant_id, batch_id), *_ = insert_commitments(1)
    address = Account.from_key(ANCHOR_KEY).address
    with DevChain(port=free_port()).serving() as chain:
        chain.fund(address)
        held = _HeldSend(chain, deliver=delivered)
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "sequencer_project.settings",
            "DATABASE_URL": child_database_url(),
            "ANCHOR_RPC_URL": chain.url,
            "ANCHOR_PRIVATE_KEY": ANCHOR_KEY,
            "ANCHOR_RETRY_ATTEMPTS": "1",
            "ANCHOR_RPC_TIMEOUT_SECONDS": "60",
        }
        child = child_told_to_go(CHILD, [str(tenant_id), str(batch_id)], env)
        try:
            assert held.arrived.wait(120), "the worker never sent"
            kept = anchor_state(tenant_id, batch_id)  # committed before the send left the worker
            assert kept.pending_tx_hash is not None
            assert kept.signed_tx is not None
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
        finally:
            held.release()
            if child.poll() is None:
                child.kill()
            child.communicate(timeout=30)
        assert child.returncode == -signal.SIGKILL
        assert chain.w3.eth.get_transaction_count(address) == (1 if delivered else 0)

        with override_settings(ANCHOR_RPC_URL=chain.url, ANCHOR_PRIVATE_KEY=ANCHOR_KEY, ANCHOR_RETRY_ATTEMPTS=1):
            result = commitment_anchor(tenant_id=tenant_id, batch_id=batch_id)

        assert result.commitment.chain_tx_hash == kept.pending_tx_hash
        assert chain.w3.eth.get_transaction_count(address) == 1  # exactly ONE anchor transaction
        assert anchor_state(tenant_id, batch_id).pending_tx_hash is None
