"""EVM settlement on an in-process chain (eth-tester + py-evm): happy path, outage, stuck tx."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.test import override_settings
from eth_account import Account
from eth_typing import HexStr
from web3 import Web3
from web3.types import Wei

from payments import evm
from payments.models import AttemptOutcome, BatchStatus, IntentStatus, PaymentBatch, PaymentIntent, SettlementAttempt
from payments.receipts import receipt_verify
from payments.services.batches import BatchKey, batch_assemble
from payments.services.settlement import batch_settle_evm
from payments.tasks import batch_settle
from tests.conftest import Persona
from tests.payments.helpers import Payer, post_intent

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain() -> Iterator[Web3]:
    """The in-process chain and a funded settlement key, configured for the test."""
    with override_settings(X402_EVM_RPC_URL=evm.IN_PROCESS_URL):
        w3 = evm.chain()
        account = Account.create()
        w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": account.address, "value": Wei(10**20)})
        with override_settings(
            X402_SETTLEMENT_PRIVATE_KEY=account.key.hex(),
            X402_SETTLEMENT_RECEIPT_TIMEOUT_SECONDS=5,
            X402_SETTLEMENT_CONFIRMATIONS=1,
        ):
            yield w3


def _batch(owner: Persona, count: int = 3) -> PaymentBatch:
    payer = Payer(owner).register()
    for nonce in range(count):
        assert post_intent(owner.client, payer.intent(nonce=nonce, amount=100 + nonce)).status_code == 201
    batch = batch_assemble(
        key=BatchKey(owner.tenant_id, owner.store_id, "set_chain"), max_size=100, max_wait=timedelta(0)
    )
    assert batch is not None
    return batch


def test_settles_on_chain_and_receipt_verifies_against_onchain_root(owner: Persona, chain: Web3) -> None:
    batch = _batch(owner)
    settled = batch_settle_evm(batch_id=batch.batch_id)
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
    assert batch_settle_evm(batch_id=batch.batch_id).tx_hash == settled.tx_hash  # idempotent
    assert chain.eth.get_transaction_count(Account.from_key(_key()).address) == 1


def _key() -> str:
    from django.conf import settings

    return str(settings.X402_SETTLEMENT_PRIVATE_KEY)


def test_chain_unavailable_then_recovering(owner: Persona, chain: Web3) -> None:
    batch = _batch(owner)
    with (
        override_settings(X402_EVM_RPC_URL="http://127.0.0.1:8116", X402_EVM_RPC_TIMEOUT_SECONDS=1),
        pytest.raises(evm.ChainUnavailableError),
    ):
        batch_settle_evm(batch_id=batch.batch_id)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.COMMITTED
    assert SettlementAttempt.objects.get(batch=batch).outcome == AttemptOutcome.ERROR
    settled = batch_settle_evm(batch_id=batch.batch_id)
    assert settled.status == BatchStatus.SETTLED


def test_retries_end_in_failed_batch_and_dead_letter(owner: Persona, chain: Web3) -> None:
    batch = _batch(owner, count=1)
    with override_settings(
        X402_EVM_RPC_URL="http://127.0.0.1:8116",
        X402_EVM_RPC_TIMEOUT_SECONDS=1,
        X402_SETTLEMENT_MAX_RETRIES=2,
        X402_SETTLEMENT_RETRY_BASE_SECONDS=0,
    ):
        result = batch_settle.apply(args=(str(batch.batch_id),))
    assert result.get() == "failed"
    batch.refresh_from_db()
    assert batch.status == BatchStatus.FAILED
    assert "after 3 tries" in batch.failure_reason
    outcomes = list(SettlementAttempt.objects.filter(batch=batch).order_by("attempt").values_list("outcome", flat=True))
    assert outcomes == [AttemptOutcome.ERROR] * 3 + [AttemptOutcome.DEAD]


def test_stuck_transaction_is_replaced_with_same_nonce(
    owner: Persona, chain: Web3, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = _batch(owner, count=2)
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
            settled = batch_settle_evm(batch_id=batch.batch_id)
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
