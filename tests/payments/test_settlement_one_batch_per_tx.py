"""One transaction settles one batch: an operator's settlement record naming a transaction the
tenant has recorded for another batch on the chain is 409 ``settlement_tx_used`` and changes
nothing, whether the other record committed before or commits meanwhile (docs/payments.md,
"Settlement"; the key ``x402_batches_one_per_tx``)."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import pytest
from django.db import connection, transaction

from payments.models import BatchStatus, PaymentBatch
from tests.conftest import Persona, api_client
from tests.payments.helpers import assembled_batch
from tests.sessions import in_thread, wait_for_lock_waiters
from tests.tenants.factories import issue_key, make_tenant

pytestmark = pytest.mark.django_db(transaction=True)

TX = "0x" + "5a" * 32


def _settle(persona: Persona, batch: PaymentBatch, **values: object) -> Any:
    body = orjson.dumps({"batch_id": str(batch.batch_id), **values})
    return persona.client.post("/api/v1/x402/batches/settle", data=body, content_type="application/json")


def _stored(batch: PaymentBatch) -> tuple[str, str | None]:
    row = PaymentBatch.objects.get(tenant_id=batch.tenant_id, batch_id=batch.batch_id)
    return (row.status, row.tx_hash)


def test_a_transaction_recorded_for_one_batch_is_refused_for_another(owner: Persona) -> None:
    first, second = assembled_batch(owner, count=1), assembled_batch(owner, count=1)
    assert _settle(owner, first, tx_hash=TX).status_code == 200

    for spelling in (TX, TX.upper().replace("0X", "0x"), TX[2:]):
        for values in ({"tx_hash": spelling}, {"tx_hash": spelling, "block_number": 7}):
            refused = _settle(owner, second, **values)
            assert refused.status_code == 409, refused.content
            assert refused["Content-Type"] == "application/problem+json"
            assert (refused.json()["status"], refused.json()["code"]) == (409, "settlement_tx_used")
            assert refused.json()["field"] == "tx_hash"
            assert _stored(second) == (BatchStatus.COMMITTED, None)

    # its own batch goes on with it; another tenant's batch may name the same hash (its own records)
    assert _settle(owner, first, tx_hash=TX, block_number=7).json()["status"] == "settled"
    other_tenant = make_tenant()
    other_key = issue_key(other_tenant, can_write=True, can_admin=True)
    other = Persona(other_tenant, uuid.uuid4(), other_key, api_client(other_key))
    assert _settle(other, assembled_batch(other, count=1), tx_hash=TX).status_code == 200
    # the second batch settles with a transaction of its own
    assert _settle(owner, second, tx_hash="0x" + "5b" * 32, block_number=8).json()["status"] == "settled"


def test_a_record_committing_meanwhile_wins_and_the_other_is_refused(owner: Persona) -> None:
    first, second = assembled_batch(owner, count=1), assembled_batch(owner, count=1)
    with transaction.atomic():
        with connection.cursor() as cursor:  # an operator's record of the first, not yet committed
            cursor.execute(
                "UPDATE x402_payment_batches SET status = 'submitted', tx_hash = %s WHERE batch_id = %s",
                [TX, first.batch_id],
            )
        thread, out = in_thread(lambda: _settle(owner, second, tx_hash=TX))
        wait_for_lock_waiters(1)  # the second's write waits on the key's entry of the first
    thread.join(30)

    (answer,) = out
    assert (answer.status_code, answer.json()["code"]) == (409, "settlement_tx_used"), answer.content
    assert _stored(first) == (BatchStatus.SUBMITTED, TX)
    assert _stored(second) == (BatchStatus.COMMITTED, None)
