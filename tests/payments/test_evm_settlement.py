"""EVM settlement on an in-process chain (eth-tester + py-evm): happy path, outage, stuck tx."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.test import override_settings
from eth_account import Account
from eth_typing import HexStr
from web3 import Web3

from payments import evm
from payments.models import (
    AttemptOutcome,
    BatchStatus,
    IntentStatus,
    PaymentIntent,
    SettlementAttempt,
    SettlementDeadLetter,
    SettlementDeadLetterStatus,
)
from payments.receipts import receipt_verify
from payments.services.settlement import batch_settle_evm
from payments.tasks import batch_settle
from tests.conftest import Persona
from tests.payments.helpers import assembled_batch

pytestmark = pytest.mark.django_db


def test_settles_on_chain_and_receipt_verifies_against_onchain_root(owner: Persona, chain: Web3) -> None:
    batch = assembled_batch(owner)
    settled = batch_settle_evm(tenant_id=batch.tenant_id, batch_id=batch.batch_id)
    assert settled.status == BatchStatus.SETTLED
    assert settled.tx_hash is not None
    assert settled.gas_used is not None
    assert settled.gas_used > 21000
    receipt = chain.eth.get_transaction_receipt(HexStr(settled.tx_hash or ""))
    assert receipt["blockNumber"] == settled.block_number
    assert receipt["status"] == 1
    on_chain = evm.read_back(chain, settled.tx_hash)
    assert on_chain.merkle_root == bytes(batch.merkle_root or b"")
    assert on_chain.payment_count == 3
    assert on_chain.totals == (("usdc", 303, 3),)
    intents = PaymentIntent.objects.filter(batch_id=batch.batch_id)
    assert {i.status for i in intents} == {IntentStatus.SETTLED}
    assert {i.tx_hash for i in intents} == {settled.tx_hash}
    intent = intents.first()
    assert intent is not None
    body = owner.client.get(f"/api/v1/x402/payments/{intent.intent_id}/receipt").json()["receipt"]
    assert body["tx_hash"] == settled.tx_hash
    assert receipt_verify(body, root=on_chain.merkle_root)
    assert batch_settle_evm(tenant_id=batch.tenant_id, batch_id=batch.batch_id).tx_hash == settled.tx_hash  # idempotent
    assert chain.eth.get_transaction_count(Account.from_key(_key()).address) == 1


def _key() -> str:
    from django.conf import settings

    return str(settings.X402_SETTLEMENT_PRIVATE_KEY)


def test_chain_unavailable_then_recovering(owner: Persona, chain: Web3) -> None:
    batch = assembled_batch(owner)
    with (
        override_settings(X402_EVM_RPC_URL="http://127.0.0.1:8116", X402_EVM_RPC_TIMEOUT_SECONDS=1),
        pytest.raises(evm.ChainUnavailableError),
    ):
        batch_settle_evm(tenant_id=batch.tenant_id, batch_id=batch.batch_id)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.COMMITTED
    assert SettlementAttempt.objects.get(batch=batch).outcome == AttemptOutcome.ERROR
    settled = batch_settle_evm(tenant_id=batch.tenant_id, batch_id=batch.batch_id)
    assert settled.status == BatchStatus.SETTLED


def test_retries_end_in_failed_batch_and_dead_letter(owner: Persona, chain: Web3) -> None:
    batch = assembled_batch(owner, count=1)
    with override_settings(
        X402_EVM_RPC_URL="http://127.0.0.1:8116",
        X402_EVM_RPC_TIMEOUT_SECONDS=1,
        X402_SETTLEMENT_MAX_RETRIES=2,
        X402_SETTLEMENT_RETRY_BASE_SECONDS=0,
    ):
        result = batch_settle.apply(args=(str(batch.tenant_id), str(batch.batch_id)))
    assert result.get() == "failed"
    batch.refresh_from_db()
    assert batch.status == BatchStatus.FAILED
    assert "after 3 tries" in batch.failure_reason
    outcomes = list(SettlementAttempt.objects.filter(batch=batch).order_by("attempt").values_list("outcome", flat=True))
    assert outcomes == [AttemptOutcome.ERROR] * 3
    dead = SettlementDeadLetter.objects.get(batch=batch)
    assert (dead.status, dead.attempts, dead.tenant_id) == (SettlementDeadLetterStatus.OPEN, 3, owner.tenant_id)
    assert "after 3 tries" in dead.error_message


def test_stuck_transaction_is_replaced_with_same_nonce(
    owner: Persona, chain: Web3, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = assembled_batch(owner, count=2)
    tester = chain.provider.ethereum_tester  # type: ignore[attr-defined]
    replaced = threading.Event()
    real_send = evm.send

    def observed_send(*args: Any, **kwargs: Any) -> evm.SentTransaction:
        sent = real_send(*args, **kwargs)
        if kwargs.get("nonce") is not None:
            replaced.set()
        return sent

    monkeypatch.setattr(evm, "send", observed_send)

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
    attempts = list(SettlementAttempt.objects.filter(batch=batch).order_by("attempt"))
    assert [a.outcome for a in attempts] == [AttemptOutcome.SUBMITTED, AttemptOutcome.CONFIRMED]
    assert attempts[1].tx_hash != attempts[0].tx_hash
    assert attempts[0].tx_nonce == attempts[1].tx_nonce
    assert (attempts[1].max_fee_per_gas or 0) > (attempts[0].max_fee_per_gas or 0)
    assert settled.tx_hash == attempts[1].tx_hash
    assert chain.eth.get_transaction_receipt(HexStr(settled.tx_hash or ""))["status"] == 1


def test_replacement_refused_because_the_original_was_mined_settles_with_the_original(
    owner: Persona, chain: Web3, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The original is mined between the stuck check and the replacement: the chain answers
    "nonce used", the task finds the original's receipt and settles; no dead letter."""
    batch = assembled_batch(owner, count=2)
    tester = chain.provider.ethereum_tester  # type: ignore[attr-defined]
    real_send = evm.send

    def send_after_the_original_is_mined(*args: Any, **kwargs: Any) -> evm.SentTransaction:
        if kwargs.get("nonce") is not None:
            tester.mine_blocks(1)  # the race: the original lands just before its replacement
        return real_send(*args, **kwargs)

    monkeypatch.setattr(evm, "send", send_after_the_original_is_mined)
    tester.disable_auto_mine_transactions()
    try:
        with override_settings(X402_SETTLEMENT_RECEIPT_TIMEOUT_SECONDS=1, X402_SETTLEMENT_MAX_RETRIES=0):
            result = batch_settle.apply(args=(str(batch.tenant_id), str(batch.batch_id)))
    finally:
        tester.enable_auto_mine_transactions()
    assert result.get() == BatchStatus.SETTLED
    batch.refresh_from_db()
    attempts = list(SettlementAttempt.objects.filter(batch=batch).order_by("attempt"))
    assert [a.outcome for a in attempts] == [AttemptOutcome.CONFIRMED, AttemptOutcome.ERROR]
    assert "nonce" in attempts[1].error.lower()
    assert batch.status == BatchStatus.SETTLED
    assert batch.tx_hash == attempts[0].tx_hash
    receipt = chain.eth.get_transaction_receipt(HexStr(batch.tx_hash or ""))
    assert (receipt["status"], receipt["blockNumber"]) == (1, batch.block_number)
    assert evm.read_back(chain, batch.tx_hash or "").merkle_root == bytes(batch.merkle_root or b"")
    assert not SettlementDeadLetter.objects.filter(batch=batch).exists()
