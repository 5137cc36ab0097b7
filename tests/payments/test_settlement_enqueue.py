"""Under the ``evm`` backend every committed batch, manual or periodic, is enqueued for settlement.

The enqueue runs when the batch's transaction commits and goes through the real Redis broker;
the test takes the message off the ``payments`` queue and runs it on the in-process chain.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from django.test import override_settings
from web3 import Web3

from payments import evm
from payments.models import BatchStatus, PaymentBatch
from payments.tasks import batch_settle, batches_assemble
from tests.conftest import Persona
from tests.payments.helpers import Payer, post_intent, take_queued_settlements

pytestmark = pytest.mark.django_db


def _submit(owner: Persona, count: int) -> None:
    payer = Payer(owner).register()
    for nonce in range(count):
        assert post_intent(owner.client, payer.intent(nonce=nonce)).status_code == 200


def _manual_batch(owner: Persona) -> Any:
    body = {"tenant_id": str(owner.tenant_id), "store_id": str(owner.store_id), "network": "set_chain"}
    return owner.client.post("/api/v1/x402/batches", data=orjson.dumps(body), content_type="application/json")


def test_a_manual_batch_is_enqueued_after_commit_and_settles_on_chain(
    owner: Persona, chain: Web3, django_capture_on_commit_callbacks: Any
) -> None:
    _submit(owner, 3)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        created = _manual_batch(owner)

    assert created.status_code == 200, created.content
    batch_id = created.json()["batch_id"]
    assert len(callbacks) == 1
    queued = take_queued_settlements({batch_id})
    assert queued == [(str(owner.tenant_id), batch_id)]  # tenant first: one shard (docs/scaling.md)
    assert batch_settle.apply(args=queued[0]).get() == BatchStatus.SETTLED
    batch = PaymentBatch.objects.get(batch_id=batch_id)
    assert batch.status == BatchStatus.SETTLED
    assert evm.read_back(chain, batch.tx_hash or "").payment_count == 3


def test_a_periodic_batch_is_enqueued_after_commit(
    owner: Persona, chain: Web3, django_capture_on_commit_callbacks: Any
) -> None:
    _submit(owner, 2)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        committed: list[str] = batches_assemble.apply().get() or []

    mine = [b for b in committed if PaymentBatch.objects.filter(batch_id=b, tenant_id=owner.tenant_id).exists()]
    assert len(mine) == 1
    assert len(callbacks) >= 1
    assert take_queued_settlements(set(mine)) == [(str(owner.tenant_id), b) for b in mine]


def test_the_record_backend_enqueues_nothing(owner: Persona, django_capture_on_commit_callbacks: Any) -> None:
    _submit(owner, 1)

    with override_settings(X402_SETTLEMENT_BACKEND="record"), django_capture_on_commit_callbacks() as callbacks:
        created = _manual_batch(owner)

    assert created.status_code == 200
    assert callbacks == []
