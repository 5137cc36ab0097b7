"""EVM settlement on an in-process chain (eth-tester + py-evm): happy path, outage, stuck tx."""

from __future__ import annotations

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


# Replacement by nonce and the race with a mined original: tests/payments/test_settlement_kept_transaction.py
