"""EVM settlement keeps its signed transaction before broadcasting it (docs/payments.md).

On the in-process chain (eth-tester + py-evm): a broadcast whose answer is lost after the chain
took it, and a worker killed between recording and broadcasting, both end in exactly one mined
settlement transaction of the batch; replacements keep the nonce. Also: the record endpoint
refuses under the evm backend, the sweep re-enqueues stale in-flight batches through the real
broker, and an upper-case tx_hash is the same hash to the record backend.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
import requests
from django.conf import settings
from django.test import override_settings
from eth_account import Account
from eth_utils.crypto import keccak
from web3 import Web3

from payments import evm
from payments.models import AttemptOutcome, BatchStatus, PaymentBatch, SettlementAttempt, SettlementDeadLetter
from payments.services.settlement import batch_settle_evm
from payments.tasks import batch_settle, settlement_sweep
from tests.conftest import Persona
from tests.payments.helpers import assembled_batch, take_queued_settlements

pytestmark = pytest.mark.django_db


def _settlements_of(w3: Web3, batch: PaymentBatch) -> list[str]:
    """Hashes of the mined transactions whose calldata settles ``batch``."""
    found = []
    for number in range(w3.eth.block_number + 1):
        for tx_hash in w3.eth.get_block(number)["transactions"]:
            assert isinstance(tx_hash, bytes)
            try:
                settled = evm.decode_settlement(bytes(w3.eth.get_transaction(tx_hash)["input"]))
            except ValueError:
                continue
            if settled.batch_id == batch.batch_id.bytes:
                found.append("0x" + tx_hash.hex())
    return found


def _sender_nonce(w3: Web3) -> int:
    return w3.eth.get_transaction_count(Account.from_key(str(settings.X402_SETTLEMENT_PRIVATE_KEY)).address)


def test_a_broadcast_timing_out_after_the_chain_took_it_settles_once(
    owner: Persona, chain: Web3, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proxy holds eth_sendRawTransaction's answer past the timeout: the chain mined it, the
    sender saw ReadTimeout. The retry must find that transaction, not sign a second one."""
    batch = assembled_batch(owner)
    real_send = chain.eth.send_raw_transaction
    seen_at_broadcast: list[tuple[bool, str | None, str]] = []

    def forward_then_time_out(raw: Any) -> Any:
        tx_hash = "0x" + keccak(bytes(raw)).hex()
        kept = SettlementAttempt.objects.filter(batch_id=batch.batch_id, tx_hash=tx_hash).first()
        state = PaymentBatch.objects.get(batch_id=batch.batch_id)
        seen_at_broadcast.append(
            (kept is not None and bytes(kept.raw_transaction or b"") == bytes(raw), state.tx_hash, state.status)
        )
        real_send(raw)
        raise requests.exceptions.ReadTimeout("the proxy held the answer")

    monkeypatch.setattr(chain.eth, "send_raw_transaction", forward_then_time_out)
    with pytest.raises(evm.ChainUnavailableError):
        batch_settle_evm(tenant_id=batch.tenant_id, batch_id=batch.batch_id)
    monkeypatch.setattr(chain.eth, "send_raw_transaction", real_send)

    assert len(seen_at_broadcast) == 1
    recorded, batch_hash, status = seen_at_broadcast[0]
    assert recorded, "the attempt row must carry the tx hash and signed bytes before the broadcast"
    assert status == BatchStatus.SUBMITTED
    assert batch_hash is not None
    batch.refresh_from_db()
    assert (batch.status, batch.tx_hash) == (BatchStatus.SUBMITTED, batch_hash)

    settled = batch_settle_evm(tenant_id=batch.tenant_id, batch_id=batch.batch_id)  # the task's retry
    assert settled.status == BatchStatus.SETTLED
    assert _settlements_of(chain, batch) == [settled.tx_hash]
    assert settled.tx_hash == batch_hash
    assert _sender_nonce(chain) == 1


class _Killed(BaseException):
    """The worker dies (SIGKILL) right after the recording transaction committed."""


def test_a_recorded_transaction_never_broadcast_is_broadcast_again(
    owner: Persona, chain: Web3, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = assembled_batch(owner, count=2)

    def killed(*args: Any, **kwargs: Any) -> bool:
        raise _Killed

    monkeypatch.setattr(evm, "broadcast", killed)
    with pytest.raises(_Killed):
        batch_settle_evm(tenant_id=batch.tenant_id, batch_id=batch.batch_id)
    monkeypatch.undo()

    batch.refresh_from_db()
    attempt = SettlementAttempt.objects.get(batch_id=batch.batch_id)
    assert (batch.status, batch.tx_hash) == (BatchStatus.SUBMITTED, attempt.tx_hash)
    assert attempt.raw_transaction is not None
    assert attempt.tx_nonce == 0
    assert not evm.known(chain, attempt.tx_hash or "")  # never sent

    settled = batch_settle.apply(args=(str(batch.tenant_id), str(batch.batch_id))).get()
    assert settled == BatchStatus.SETTLED
    batch.refresh_from_db()
    assert batch.tx_hash == attempt.tx_hash  # the same bytes, not a new transaction
    assert _settlements_of(chain, batch) == [attempt.tx_hash]
    assert _sender_nonce(chain) == 1
    assert list(SettlementAttempt.objects.filter(batch_id=batch.batch_id).values_list("outcome", flat=True)) == [
        AttemptOutcome.CONFIRMED
    ]


def test_a_stuck_transaction_is_replaced_with_the_same_nonce_signed_and_recorded_first(
    owner: Persona, chain: Web3, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = assembled_batch(owner, count=2)
    tester = chain.provider.ethereum_tester  # type: ignore[attr-defined]
    replaced = threading.Event()
    real_broadcast = evm.broadcast

    def observed(w3: Web3, tx: evm.SignedTransaction) -> bool:
        took = real_broadcast(w3, tx)
        if SettlementAttempt.objects.filter(batch_id=batch.batch_id, tx_hash=tx.tx_hash).get().outcome == "replaced":
            replaced.set()
        return took

    monkeypatch.setattr(evm, "broadcast", observed)

    def mine_after_replacement() -> None:
        if replaced.wait(timeout=30):
            tester.mine_blocks(1)

    tester.disable_auto_mine_transactions()
    miner = threading.Thread(target=mine_after_replacement)
    try:
        with override_settings(X402_SETTLEMENT_RECEIPT_TIMEOUT_SECONDS=1):
            miner.start()
            settled = batch_settle_evm(tenant_id=batch.tenant_id, batch_id=batch.batch_id)
    finally:
        replaced.set()
        miner.join()
        tester.enable_auto_mine_transactions()
    attempts = list(SettlementAttempt.objects.filter(batch_id=batch.batch_id).order_by("attempt"))
    assert [a.outcome for a in attempts] == [AttemptOutcome.SUBMITTED, AttemptOutcome.CONFIRMED]
    assert attempts[0].tx_nonce == attempts[1].tx_nonce
    assert (attempts[1].max_fee_per_gas or 0) > (attempts[0].max_fee_per_gas or 0)
    assert settled.tx_hash == attempts[1].tx_hash
    assert _settlements_of(chain, batch) == [settled.tx_hash]


def test_the_record_endpoint_is_refused_under_the_evm_backend(owner: Persona, chain: Web3) -> None:
    batch = assembled_batch(owner, count=1)
    body = orjson.dumps({"batch_id": str(batch.batch_id), "tx_hash": "0x" + "ab" * 32, "block_number": 3})
    response = owner.client.post("/api/v1/x402/batches/settle", data=body, content_type="application/json")
    assert response.status_code == 409
    assert response["Content-Type"].startswith("application/problem+json")
    assert (response.json()["code"], response.json()["status"]) == ("settlement_by_chain", 409)
    batch.refresh_from_db()
    assert (batch.status, batch.tx_hash) == (BatchStatus.COMMITTED, None)


def test_no_evm_write_overwrites_a_batch_that_is_no_longer_in_flight(owner: Persona, chain: Web3) -> None:
    """A batch an operator failed (dead letter) while its transaction was mined stays failed."""
    batch = assembled_batch(owner, count=1)
    PaymentBatch.objects.filter(batch_id=batch.batch_id).update(status=BatchStatus.FAILED)
    with pytest.raises(Exception, match="failed batch cannot be settled"):
        batch_settle_evm(tenant_id=batch.tenant_id, batch_id=batch.batch_id)
    settled = assembled_batch(owner, count=1)
    PaymentBatch.objects.filter(batch_id=settled.batch_id).update(
        status=BatchStatus.SETTLED, tx_hash="0x" + "11" * 32, block_number=1
    )
    from payments.services.settlement import batch_settlement_fail

    assert batch_settlement_fail(tenant_id=owner.tenant_id, batch_id=settled.batch_id, reason="x", attempts=1) is None
    assert PaymentBatch.objects.get(batch_id=settled.batch_id).status == BatchStatus.SETTLED
    assert not SettlementDeadLetter.objects.filter(batch_id=settled.batch_id).exists()


def _age(batch: PaymentBatch, seconds: float) -> None:
    past = datetime.now(UTC) - timedelta(seconds=seconds)
    PaymentBatch.objects.filter(batch_id=batch.batch_id).update(created_at=past, committed_at=past)


def test_the_sweep_enqueues_stale_in_flight_batches_only(
    owner: Persona, chain: Web3, django_capture_on_commit_callbacks: Any
) -> None:
    stale_committed, stale_submitted, fresh, settled, recently_tried = (
        assembled_batch(owner, count=1) for _ in range(5)
    )
    for batch in (stale_committed, stale_submitted, settled, recently_tried):
        _age(batch, 3600)
    past = datetime.now(UTC) - timedelta(seconds=3600)
    PaymentBatch.objects.filter(batch_id=stale_submitted.batch_id).update(
        status=BatchStatus.SUBMITTED, tx_hash="0x" + "22" * 32, submitted_at=past
    )
    PaymentBatch.objects.filter(batch_id=settled.batch_id).update(status=BatchStatus.SETTLED)
    SettlementAttempt.objects.create(
        batch_id=recently_tried.batch_id,
        tenant_id=owner.tenant_id,
        attempt=1,
        backend="evm",
        outcome=AttemptOutcome.ERROR,
        error="chain down",
    )

    with override_settings(X402_SETTLEMENT_BACKEND="record"), django_capture_on_commit_callbacks(execute=True):
        assert settlement_sweep.apply().get() == 0
    with (
        override_settings(X402_SETTLEMENT_SWEEP_AFTER_SECONDS=600),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert (settlement_sweep.apply().get() or 0) >= 2

    wanted = {str(stale_committed.batch_id), str(stale_submitted.batch_id)}
    queued = take_queued_settlements(wanted)
    assert sorted(queued) == sorted((str(owner.tenant_id), b) for b in wanted)
    others = {str(b.batch_id) for b in (fresh, settled, recently_tried)}
    assert take_queued_settlements(others, timeout=1.0) == []

    # The enqueued task is the ordinary, idempotent settle: the stale committed batch settles once.
    assert batch_settle.apply(args=(str(owner.tenant_id), str(stale_committed.batch_id))).get() == BatchStatus.SETTLED
    assert batch_settle.apply(args=(str(owner.tenant_id), str(stale_committed.batch_id))).get() == BatchStatus.SETTLED
    assert len(_settlements_of(chain, stale_committed)) == 1


def test_an_upper_case_tx_hash_is_the_same_settlement(owner: Persona) -> None:
    batch = assembled_batch(owner, count=1)
    tx = "0x" + "ab" * 32

    def settle(data: dict[str, object]) -> Any:
        body = orjson.dumps({"batch_id": str(batch.batch_id), **data})
        return owner.client.post("/api/v1/x402/batches/settle", data=body, content_type="application/json")

    assert settle({"tx_hash": tx.upper().replace("0X", "0x")}).json()["status"] == "submitted"
    assert PaymentBatch.objects.get(batch_id=batch.batch_id).tx_hash == tx  # stored in lower case
    confirmed = settle({"tx_hash": tx, "block_number": 7})
    assert confirmed.json()["status"] == "settled", confirmed.content
    for spelling in (tx.upper().replace("0X", "0x"), tx.upper(), tx.removeprefix("0x"), tx.upper()[2:]):
        again = settle({"tx_hash": spelling, "block_number": 7})  # a bare hash too: the same hash
        assert again.status_code == 200, (spelling, again.content)
        assert again.json()["status"] == "settled"


def test_a_bare_tx_hash_is_stored_with_its_prefix(owner: Persona) -> None:
    batch = assembled_batch(owner, count=1)
    body = orjson.dumps({"batch_id": str(batch.batch_id), "tx_hash": "CD" * 32, "block_number": 3})
    response = owner.client.post("/api/v1/x402/batches/settle", data=body, content_type="application/json")
    assert response.status_code == 200, response.content
    assert PaymentBatch.objects.get(batch_id=batch.batch_id).tx_hash == "0x" + "cd" * 32


def test_a_replacement_refused_because_the_original_was_mined_settles_with_the_original(
    owner: Persona, chain: Web3, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The original lands between the stuck check and its replacement: the chain refuses the
    replacement's nonce (taken), the task finds the original's receipt and settles."""
    batch = assembled_batch(owner, count=2)
    tester = chain.provider.ethereum_tester  # type: ignore[attr-defined]
    real_sign = evm.sign

    def sign_after_the_original_is_mined(*args: Any, **kwargs: Any) -> evm.SignedTransaction:
        if kwargs.get("nonce") is not None:
            tester.mine_blocks(1)  # the race: the original is mined just before its replacement
        return real_sign(*args, **kwargs)

    monkeypatch.setattr(evm, "sign", sign_after_the_original_is_mined)
    tester.disable_auto_mine_transactions()
    try:
        with override_settings(X402_SETTLEMENT_RECEIPT_TIMEOUT_SECONDS=1, X402_SETTLEMENT_MAX_RETRIES=0):
            result = batch_settle.apply(args=(str(batch.tenant_id), str(batch.batch_id)))
    finally:
        tester.enable_auto_mine_transactions()
    assert result.get() == BatchStatus.SETTLED
    batch.refresh_from_db()
    attempts = list(SettlementAttempt.objects.filter(batch_id=batch.batch_id).order_by("attempt"))
    assert [a.outcome for a in attempts] == [AttemptOutcome.CONFIRMED, AttemptOutcome.ERROR]
    assert "nonce" in attempts[1].error.lower()
    assert (batch.status, batch.tx_hash) == (BatchStatus.SETTLED, attempts[0].tx_hash)
    assert _settlements_of(chain, batch) == [attempts[0].tx_hash]
    assert not SettlementDeadLetter.objects.filter(batch_id=batch.batch_id).exists()
