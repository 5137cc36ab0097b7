"""Settlement dead letters (ADR 0012): written on give-up, shown in admin, re-driven once.

The chain is the in-process eth-tester; "down" is a closed local port. Re-drive enqueues
through the real Redis broker, and the test takes the message off the queue and runs it.
"""

from __future__ import annotations

import importlib
import uuid
from typing import Any

import pytest
from django.db import connection
from django.test import Client, override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web3 import Web3

from audit.models import AuditLogEntry
from payments import evm
from payments.models import (
    AttemptOutcome,
    BatchStatus,
    PaymentBatch,
    SettlementAttempt,
    SettlementDeadLetter,
    SettlementDeadLetterStatus,
)
from payments.services.dead_letters import settlement_dead_letter_redrive
from payments.services.settlement import batch_settlement_fail
from payments.tasks import batch_settle
from sequencer_project.api.errors import SequencerError
from sequencer_project.resilience import get_breaker
from tests.conftest import Persona
from tests.payments.helpers import assembled_batch, take_queued_settlements
from tests.sequencer_project.ops_helpers import closed_port

pytestmark = pytest.mark.django_db


def _fail_on_a_dead_chain(batch: PaymentBatch) -> None:
    with override_settings(
        X402_EVM_RPC_URL=f"http://127.0.0.1:{closed_port()}",
        X402_EVM_RPC_TIMEOUT_SECONDS=1,
        X402_SETTLEMENT_MAX_RETRIES=1,
        X402_SETTLEMENT_RETRY_BASE_SECONDS=0,
    ):
        assert batch_settle.apply(args=(str(batch.tenant_id), str(batch.batch_id))).get() == "failed"
    get_breaker("x402_chain").reset()  # the chain is back: what the breaker's half-open probe finds


def test_a_failed_settlement_is_an_open_dead_letter_with_the_batch_failed(owner: Persona, chain: Web3) -> None:
    batch = assembled_batch(owner)

    _fail_on_a_dead_chain(batch)

    batch.refresh_from_db()
    entry = SettlementDeadLetter.objects.get(batch=batch)
    assert batch.status == BatchStatus.FAILED
    assert (entry.status, entry.attempts, entry.store_id, entry.tx_hash) == (
        SettlementDeadLetterStatus.OPEN,
        2,
        owner.store_id,
        None,
    )
    assert "ConnectionError" in entry.error_message
    assert not SettlementAttempt.objects.filter(batch=batch, outcome=AttemptOutcome.DEAD).exists()


def test_giving_up_twice_keeps_one_open_entry_and_never_touches_a_settled_batch(owner: Persona, chain: Web3) -> None:
    batch = assembled_batch(owner)

    first = batch_settlement_fail(tenant_id=batch.tenant_id, batch_id=batch.batch_id, reason="boom", attempts=3)
    second = batch_settlement_fail(tenant_id=batch.tenant_id, batch_id=batch.batch_id, reason="boom again", attempts=3)

    assert first is not None
    assert second is None
    assert SettlementDeadLetter.objects.filter(batch=batch).count() == 1
    settled = assembled_batch(owner, count=1)
    PaymentBatch.objects.filter(batch_id=settled.batch_id).update(status=BatchStatus.SETTLED)
    assert (
        batch_settlement_fail(tenant_id=settled.tenant_id, batch_id=settled.batch_id, reason="late", attempts=1) is None
    )
    assert PaymentBatch.objects.get(batch_id=settled.batch_id).status == BatchStatus.SETTLED


def test_admin_lists_the_dead_letter_and_the_batch_page_shows_it(
    owner: Persona, chain: Web3, staff_client: Client
) -> None:
    batch = assembled_batch(owner)
    _fail_on_a_dead_chain(batch)
    entry = SettlementDeadLetter.objects.get(batch=batch)

    listing = staff_client.get("/admin/payments/settlementdeadletter/?status__exact=open")
    batch_page = staff_client.get(f"/admin/payments/paymentbatch/{batch.batch_id}/change/")
    entry_page = staff_client.get(f"/admin/payments/settlementdeadletter/{entry.id}/change/")

    assert listing.status_code == batch_page.status_code == entry_page.status_code == 200
    assert str(batch.batch_id) in listing.content.decode()
    assert "Re-drive selected settlements" in listing.content.decode()
    assert "x402 settlement dead letters" in batch_page.content.decode().lower()
    assert "ConnectionError" in batch_page.content.decode()
    assert 'name="status"' not in entry_page.content.decode()  # the form is read-only


def test_redrive_from_admin_enqueues_once_and_the_batch_settles(
    owner: Persona, chain: Web3, staff_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    batch = assembled_batch(owner)
    _fail_on_a_dead_chain(batch)
    entry = SettlementDeadLetter.objects.get(batch=batch)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        first = staff_client.post(
            "/admin/payments/settlementdeadletter/", {"action": "redrive", "_selected_action": [entry.id]}, follow=True
        )
        second = staff_client.post(
            "/admin/payments/settlementdeadletter/", {"action": "redrive", "_selected_action": [entry.id]}, follow=True
        )

    assert len(callbacks) == 1  # the second re-drive found the entry closed
    assert [(str(m), m.level_tag) for m in first.context["messages"]] == [
        ("Re-drove 1 settlements: each batch is enqueued again.", "success")
    ]
    assert [(str(m), m.level_tag) for m in second.context["messages"]] == [
        ("1 selected entries not re-driven: closed already (1 redriven).", "warning"),
        ("Re-drove no settlement.", "warning"),
    ]
    entry.refresh_from_db()
    batch.refresh_from_db()
    assert (entry.status, entry.redriven_by) == (SettlementDeadLetterStatus.REDRIVEN, "admin:operator")
    assert batch.status == BatchStatus.COMMITTED
    assert batch.failure_reason == ""
    audit = AuditLogEntry.objects.get(action="x402_dead_letter.redrive", target_id=str(entry.id))
    assert (audit.tenant_id, audit.target_type) == (owner.tenant_id, "x402_dead_letter")
    assert audit.detail == {"batch_id": str(batch.batch_id), "batch_status": "committed"}
    queued = take_queued_settlements({str(batch.batch_id)})
    assert queued == [(str(owner.tenant_id), str(batch.batch_id))]

    assert batch_settle.apply(args=queued[0]).get() == BatchStatus.SETTLED  # the chain is back

    batch.refresh_from_db()
    assert batch.status == BatchStatus.SETTLED
    assert evm.read_back(chain, batch.tx_hash or "").merkle_root == bytes(batch.merkle_root or b"")


def test_redrive_of_a_closed_or_unknown_entry_is_refused(owner: Persona, chain: Web3) -> None:
    batch = assembled_batch(owner)
    entry = batch_settlement_fail(tenant_id=batch.tenant_id, batch_id=batch.batch_id, reason="boom", attempts=1)
    assert entry is not None
    settlement_dead_letter_redrive(tenant_id=owner.tenant_id, dead_letter_id=entry.id, actor="test")

    with pytest.raises(SequencerError) as closed:
        settlement_dead_letter_redrive(tenant_id=owner.tenant_id, dead_letter_id=entry.id, actor="test")
    with pytest.raises(SequencerError) as unknown:
        settlement_dead_letter_redrive(tenant_id=owner.tenant_id, dead_letter_id=entry.id + 10_000, actor="test")

    assert (closed.value.code, closed.value.http_status) == ("dead_letter_closed", 409)
    assert (unknown.value.code, unknown.value.http_status) == ("dead_letter_not_found", 404)


def test_a_batch_that_sent_a_transaction_is_redriven_as_submitted(owner: Persona, chain: Web3) -> None:
    batch = assembled_batch(owner)
    PaymentBatch.objects.filter(batch_id=batch.batch_id).update(tx_hash="0x" + "11" * 32)
    entry = batch_settlement_fail(tenant_id=batch.tenant_id, batch_id=batch.batch_id, reason="no receipt", attempts=7)
    assert entry is not None
    assert entry.tx_hash == "0x" + "11" * 32

    settlement_dead_letter_redrive(tenant_id=owner.tenant_id, dead_letter_id=entry.id, actor="test")

    assert PaymentBatch.objects.get(batch_id=batch.batch_id).status == BatchStatus.SUBMITTED


def test_the_migration_turns_old_dead_attempts_into_open_dead_letters(owner: Persona) -> None:
    migration = importlib.import_module("payments.migrations.0002_x402_settlement_dead_letters")
    batch = assembled_batch(owner, count=1)
    PaymentBatch.objects.filter(batch_id=batch.batch_id).update(status=BatchStatus.FAILED)
    for number, outcome in enumerate([AttemptOutcome.ERROR, AttemptOutcome.ERROR, AttemptOutcome.DEAD], 1):
        SettlementAttempt.objects.create(
            batch=batch,
            tenant_id=batch.tenant_id,
            attempt=number,
            backend="evm",
            outcome=outcome,
            error=f"try {number}",
        )
    other = PaymentBatch.objects.create(
        batch_id=uuid.uuid4(),
        status=BatchStatus.COMMITTED,
        tenant_id=owner.tenant_id,
        store_id=owner.store_id,
        network="set_chain",
        chain_id=1,
        payment_count=0,
        sequence_start=0,
        sequence_end=0,
    )

    with connection.cursor() as cursor:
        cursor.execute(migration.DEAD_ATTEMPTS_TO_DEAD_LETTERS)

    entry = SettlementDeadLetter.objects.get(batch=batch)
    assert (entry.status, entry.attempts, entry.error_message) == (SettlementDeadLetterStatus.OPEN, 2, "try 3")
    assert not SettlementDeadLetter.objects.filter(batch=other).exists()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(st.sampled_from(["fail", "redrive"]), max_size=8))
def test_give_up_and_redrive_in_any_order_keep_one_open_entry_exactly_while_failed(
    owner: Persona, chain: Web3, django_capture_on_commit_callbacks: Any, operations: list[str]
) -> None:
    batch = assembled_batch(owner, count=1)
    expected_entries = redrives = 0
    with django_capture_on_commit_callbacks() as callbacks:
        for operation in operations:
            failed = PaymentBatch.objects.get(batch_id=batch.batch_id).status == BatchStatus.FAILED
            if operation == "fail":
                batch_settlement_fail(tenant_id=batch.tenant_id, batch_id=batch.batch_id, reason="boom", attempts=1)
                expected_entries += not failed
            elif (entry := batch.dead_letters.filter(status=SettlementDeadLetterStatus.OPEN).first()) is not None:
                settlement_dead_letter_redrive(tenant_id=owner.tenant_id, dead_letter_id=entry.id, actor="test")
                redrives += 1
            status = PaymentBatch.objects.get(batch_id=batch.batch_id).status
            open_entries = batch.dead_letters.filter(status=SettlementDeadLetterStatus.OPEN).count()
            assert open_entries == (1 if status == BatchStatus.FAILED else 0)
            assert status in (BatchStatus.FAILED, BatchStatus.COMMITTED)
    assert batch.dead_letters.count() == expected_entries
    assert batch.dead_letters.filter(status=SettlementDeadLetterStatus.REDRIVEN).count() == redrives
    assert len(callbacks) == redrives  # one settlement enqueued per re-drive, none otherwise
