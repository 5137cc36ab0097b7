"""The admin API's money actions write the audit log (docs/projections.md, docs/payments.md):
a manual batch (``x402_batch.create``) and a recorded settlement (``x402_batch.settle``), naming
the credential that did it."""

from __future__ import annotations

import orjson
import pytest

from audit.models import AuditLogEntry
from tenants.credentials import api_key_hash
from tests.conftest import Persona
from tests.payments.helpers import Payer, post_intent

pytestmark = pytest.mark.django_db


def test_a_manual_batch_and_its_settlement_are_audited_with_their_actor(owner: Persona) -> None:
    payer = Payer(owner).register()
    ids = [post_intent(owner.client, payer.intent(nonce=n, amount=100 + n)).json()["intent_id"] for n in range(3)]
    actor = f"api:api_key:{api_key_hash(owner.key)[:16]}"
    body = {"tenant_id": str(owner.tenant_id), "store_id": str(owner.store_id), "intent_ids": ids[:2]}

    created = owner.client.post("/api/v1/x402/batches", data=orjson.dumps(body), content_type="application/json")
    assert created.status_code == 200, created.content
    batch_id = created.json()["batch_id"]
    settle = {"batch_id": batch_id, "tx_hash": "0x" + "ab" * 32, "block_number": 9, "gas_used": 21000}
    settled = owner.client.post(
        "/api/v1/x402/batches/settle", data=orjson.dumps(settle), content_type="application/json"
    )
    assert settled.status_code == 200, settled.content

    rows = list(AuditLogEntry.objects.filter(target_type="x402_batch", target_id=batch_id).order_by("id"))
    assert [(r.action, r.actor, r.tenant_id) for r in rows] == [
        ("x402_batch.create", actor, owner.tenant_id),
        ("x402_batch.settle", actor, owner.tenant_id),
    ]
    create, recorded = rows[0].detail, rows[1].detail
    assert create["intent_count"] == 2
    assert create["total_amounts"] == [{"asset": "usdc", "total_amount": "201", "payment_count": 2}]
    assert create["store_id"] == str(owner.store_id)
    assert (recorded["status"], recorded["tx_hash"], recorded["block_number"]) == ("settled", settle["tx_hash"], 9)


def test_a_refused_batch_writes_no_audit_row(owner: Persona) -> None:
    body = {"tenant_id": str(owner.tenant_id), "store_id": str(owner.store_id)}  # nothing waiting

    refused = owner.client.post("/api/v1/x402/batches", data=orjson.dumps(body), content_type="application/json")

    assert refused.status_code == 400, refused.content
    assert not AuditLogEntry.objects.filter(target_type="x402_batch").exists()
