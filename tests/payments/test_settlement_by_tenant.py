"""Batch assembly, settlement and its re-drive act on one tenant's rows only (docs/scaling.md).

The tables are keyed ``(tenant_id, id)``, so another tenant may hold a batch, or a dead letter,
with the very same id (its twin here). The task, the give-up and the re-drive name the tenant
and never touch the twin; a task queued by the previous release with the batch id alone still
runs (its tenant is looked up once, by id).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from web3 import Web3

from payments.models import BatchStatus, PaymentBatch, PaymentIntent, SettlementDeadLetter, SettlementDeadLetterStatus
from payments.services.batches import BatchKey, batch_assemble
from payments.services.dead_letters import settlement_dead_letter_redrive
from payments.services.settlement import batch_settlement_fail
from payments.tasks import batch_settle
from sequencer_project.api.errors import SequencerError
from tests.conftest import Persona, api_client
from tests.payments.helpers import Payer, assembled_batch, post_intent, take_queued_settlements
from tests.tenants.factories import issue_key, make_tenant

pytestmark = pytest.mark.django_db


def _twin(batch: PaymentBatch, other: Persona) -> PaymentBatch:
    """A batch of ``other`` with the same batch id, status and content."""
    twin = PaymentBatch.objects.get(tenant_id=batch.tenant_id, batch_id=batch.batch_id)
    twin.tenant_id, twin.store_id = other.tenant_id, other.store_id
    twin.save(force_insert=True)
    return twin


def _twin_entry(entry: SettlementDeadLetter, twin: PaymentBatch) -> SettlementDeadLetter:
    """An open dead letter of the twin batch with the same entry id."""
    return SettlementDeadLetter.objects.create(
        id=entry.id,
        batch_id=twin.batch_id,
        tenant_id=twin.tenant_id,
        store_id=twin.store_id,
        attempts=entry.attempts,
        error_message=entry.error_message,
        created_at=entry.created_at,
    )


def _admin_of_another_tenant() -> Persona:
    tenant = make_tenant()
    key = issue_key(tenant, can_write=True, can_admin=True)
    return Persona(tenant, uuid.uuid4(), key, api_client(key))


def _status(persona: Persona, batch: PaymentBatch) -> str:
    return str(PaymentBatch.objects.get(tenant_id=persona.tenant_id, batch_id=batch.batch_id).status)


def test_assembling_a_batch_moves_only_its_tenants_intents(owner: Persona, outsider: Persona) -> None:
    payer = Payer(owner).register()
    for nonce in range(2):
        assert post_intent(owner.client, payer.intent(nonce=nonce)).status_code == 200
    for intent in PaymentIntent.objects.filter(tenant_id=owner.tenant_id):
        intent.tenant_id, intent.store_id = outsider.tenant_id, outsider.store_id
        intent.save(force_insert=True)  # a twin: same intent id, another tenant

    batch = batch_assemble(
        key=BatchKey(owner.tenant_id, owner.store_id, "set_chain"), max_size=100, max_wait=timedelta(0)
    )

    assert batch is not None
    twins = PaymentIntent.objects.filter(tenant_id=outsider.tenant_id)
    assert [(i.status, i.batch_id) for i in twins] == [("sequenced", None)] * 2


def test_settling_a_batch_leaves_another_tenants_twin_alone(owner: Persona, outsider: Persona, chain: Web3) -> None:
    batch = assembled_batch(owner)
    _twin(batch, outsider)

    assert batch_settle.apply(args=(str(owner.tenant_id), str(batch.batch_id))).get() == BatchStatus.SETTLED

    assert _status(owner, batch) == BatchStatus.SETTLED
    assert _status(outsider, batch) == BatchStatus.COMMITTED


def test_a_task_queued_with_the_batch_id_alone_still_settles(owner: Persona, chain: Web3) -> None:
    batch = assembled_batch(owner)

    assert batch_settle.apply(args=(str(batch.batch_id),)).get() == BatchStatus.SETTLED

    assert _status(owner, batch) == BatchStatus.SETTLED


def test_giving_up_on_a_batch_fails_only_that_tenants_batch(owner: Persona, outsider: Persona, chain: Web3) -> None:
    batch = assembled_batch(owner)
    _twin(batch, outsider)

    entry = batch_settlement_fail(tenant_id=owner.tenant_id, batch_id=batch.batch_id, reason="boom", attempts=1)

    assert entry is not None
    assert entry.tenant_id == owner.tenant_id
    assert _status(owner, batch) == BatchStatus.FAILED
    assert _status(outsider, batch) == BatchStatus.COMMITTED
    assert not SettlementDeadLetter.objects.filter(tenant_id=outsider.tenant_id).exists()


def test_a_redrive_reopens_only_its_tenants_batch_and_enqueues_it_with_the_tenant(
    owner: Persona, outsider: Persona, chain: Web3, django_capture_on_commit_callbacks: Any
) -> None:
    batch = assembled_batch(owner)
    entry = batch_settlement_fail(tenant_id=owner.tenant_id, batch_id=batch.batch_id, reason="boom", attempts=1)
    assert entry is not None
    twin = _twin(PaymentBatch.objects.get(tenant_id=owner.tenant_id, batch_id=batch.batch_id), outsider)
    twin_entry = _twin_entry(entry, twin)

    with django_capture_on_commit_callbacks(execute=True):
        settlement_dead_letter_redrive(tenant_id=owner.tenant_id, dead_letter_id=entry.id, actor="test")

    assert take_queued_settlements({str(batch.batch_id)}) == [(str(owner.tenant_id), str(batch.batch_id))]
    assert _status(owner, batch) == BatchStatus.COMMITTED
    assert _status(outsider, batch) == BatchStatus.FAILED
    assert SettlementDeadLetter.objects.get(tenant_id=outsider.tenant_id, id=twin_entry.id).status == (
        SettlementDeadLetterStatus.OPEN
    )
    assert SettlementDeadLetter.objects.get(tenant_id=owner.tenant_id, id=entry.id).status == (
        SettlementDeadLetterStatus.REDRIVEN
    )


def test_another_tenants_entry_id_is_not_found(owner: Persona, outsider: Persona, chain: Web3) -> None:
    batch = assembled_batch(owner)
    entry = batch_settlement_fail(tenant_id=owner.tenant_id, batch_id=batch.batch_id, reason="boom", attempts=1)
    assert entry is not None

    with pytest.raises(SequencerError) as refused:
        settlement_dead_letter_redrive(tenant_id=outsider.tenant_id, dead_letter_id=entry.id, actor="test")

    assert refused.value.code == "dead_letter_not_found"
    assert _status(owner, batch) == BatchStatus.FAILED


def test_the_admin_redrive_passes_each_entrys_tenant(
    owner: Persona, chain: Web3, staff_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    outsider = _admin_of_another_tenant()
    batch = assembled_batch(owner)
    entry = batch_settlement_fail(tenant_id=owner.tenant_id, batch_id=batch.batch_id, reason="boom", attempts=1)
    assert entry is not None
    other = assembled_batch(outsider)
    other_entry = batch_settlement_fail(tenant_id=outsider.tenant_id, batch_id=other.batch_id, reason="x", attempts=1)
    assert other_entry is not None

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        staff_client.post(
            "/admin/payments/settlementdeadletter/",
            {"action": "redrive", "_selected_action": [entry.id, other_entry.id]},
        )

    assert len(callbacks) == 2
    queued = take_queued_settlements({str(batch.batch_id), str(other.batch_id)})
    assert sorted(queued) == sorted(
        [(str(owner.tenant_id), str(batch.batch_id)), (str(outsider.tenant_id), str(other.batch_id))]
    )
    assert (_status(owner, batch), _status(outsider, other)) == (BatchStatus.COMMITTED, BatchStatus.COMMITTED)
