"""Outside-test findings on x402: an intent's metadata is bounded; a batch's timestamps read in
order (created = committed <= submitted <= settled); a blank address filter is no filter."""

from __future__ import annotations

import importlib
from typing import Any

import orjson
import pytest
from django.db import connection

from payments.limits import MAX_METADATA_BYTES
from payments.models import PaymentBatch, PaymentIntent
from sequencer_project.metrics import X402_SETTLEMENTS
from tests.conftest import Persona
from tests.payments.helpers import Payer, assembled_batch, post_intent

pytestmark = pytest.mark.django_db


def _settle(owner: Persona, body: dict[str, Any]) -> Any:
    return owner.client.post("/api/v1/x402/batches/settle", data=orjson.dumps(body), content_type="application/json")


def _batch(owner: Persona, batch: PaymentBatch) -> dict[str, Any]:
    response = owner.client.get(f"/api/v1/x402/batches/{batch.batch_id}")
    assert response.status_code == 200, response.content
    return dict(orjson.loads(response.content)["batch"])


def test_metadata_up_to_its_cap_is_kept_and_larger_is_413_writing_nothing(owner: Persona) -> None:
    payer = Payer(owner).register()
    # {"k":"…"} is 8 bytes of JSON around the text: exactly at the cap, then one byte over.
    at_cap = {"k": "x" * (MAX_METADATA_BYTES - 8)}
    assert len(orjson.dumps(at_cap)) == MAX_METADATA_BYTES
    accepted = post_intent(owner.client, payer.intent(nonce=1, metadata=at_cap))
    assert accepted.status_code == 200, accepted.content

    for over in ({"k": "x" * (MAX_METADATA_BYTES - 7)}, [[i] for i in range(MAX_METADATA_BYTES // 3)]):
        refused = post_intent(owner.client, payer.intent(nonce=2, metadata=over))
        assert refused.status_code == 413, refused.content
        body = orjson.loads(refused.content)
        assert (body["code"], body["status"], body["field"]) == ("payload_too_large", 413, "metadata")
    assert list(PaymentIntent.objects.filter(tenant_id=owner.tenant_id).values_list("nonce", flat=True)) == [1]
    assert post_intent(owner.client, payer.intent(nonce=2)).status_code == 200  # the nonce was not used


def test_a_batch_is_created_when_it_is_committed(owner: Persona) -> None:
    batch = assembled_batch(owner)
    shown = _batch(owner, batch)
    assert shown["created_at"] == shown["committed_at"]


def test_a_batch_settled_in_one_record_was_submitted_then(owner: Persona) -> None:
    batch = assembled_batch(owner)
    settled = _settle(owner, {"batch_id": str(batch.batch_id), "tx_hash": "0x" + "ab" * 32, "block_number": 12})
    assert settled.status_code == 200, settled.content
    shown = _batch(owner, batch)
    assert shown["status"] == "settled"
    assert shown["submitted_at"] is not None
    assert shown["committed_at"] <= shown["submitted_at"] <= shown["settled_at"]


def test_a_batch_settled_in_two_records_keeps_its_submission_time(owner: Persona) -> None:
    batch = assembled_batch(owner)
    assert _settle(owner, {"batch_id": str(batch.batch_id), "tx_hash": "0x" + "cd" * 32}).status_code == 200
    submitted = _batch(owner, batch)["submitted_at"]
    assert _settle(owner, {"batch_id": str(batch.batch_id), "block_number": 13}).status_code == 200
    shown = _batch(owner, batch)
    assert shown["submitted_at"] == submitted <= shown["settled_at"]


def test_a_replayed_settlement_is_counted_as_a_replay_not_as_another_settlement(owner: Persona) -> None:
    batch = assembled_batch(owner)
    record = {"batch_id": str(batch.batch_id), "tx_hash": "0x" + "aa" * 32, "block_number": 5}

    def counted(outcome: str) -> float:
        return float(X402_SETTLEMENTS.labels(backend="record", outcome=outcome)._value.get())

    settled, replayed = counted("settled"), counted("already_settled")
    assert _settle(owner, record).status_code == 200
    assert _settle(owner, record).status_code == 200  # "Batch already settled"
    assert _settle(owner, {**record, "block_number": 6}).status_code == 400  # refused: not counted here
    assert (counted("settled") - settled, counted("already_settled") - replayed) == (1, 1)


def test_the_migration_puts_the_timestamps_of_written_batches_in_order(owner: Persona) -> None:
    batch = assembled_batch(owner)
    assert (
        _settle(owner, {"batch_id": str(batch.batch_id), "tx_hash": "0x" + "ef" * 32, "block_number": 3}).status_code
        == 200
    )
    with connection.cursor() as cursor:  # as rows were written before the fix
        cursor.execute(
            "UPDATE x402_payment_batches SET created_at = committed_at + interval '5 microseconds',"
            " submitted_at = NULL WHERE batch_id = %s",
            [batch.batch_id],
        )
        cursor.execute(
            importlib.import_module("payments.migrations.0009_batch_created_when_committed").TIMESTAMPS_IN_ORDER
        )
    batch.refresh_from_db()
    assert batch.created_at == batch.committed_at
    assert batch.submitted_at == batch.settled_at


def test_a_blank_address_filter_lists_everything(owner: Persona) -> None:
    payer = Payer(owner).register()
    assert post_intent(owner.client, payer.intent(nonce=1)).status_code == 200
    stream = f"tenant_id={owner.tenant_id}&store_id={owner.store_id}"
    for blank in ("", "%20", "%09", "%20%20"):
        for name in ("payer_address", "payee_address"):
            listed = owner.client.get(f"/api/v1/x402/payments?{stream}&{name}={blank}")
            assert listed.status_code == 200, listed.content
            assert len(orjson.loads(listed.content)) == 1, (name, blank)


def test_an_address_filter_padded_with_blanks_matches_the_address(owner: Persona) -> None:
    payer = Payer(owner).register()
    intent = payer.intent(nonce=1)
    posted = post_intent(owner.client, intent)
    assert posted.status_code == 200, posted.content
    stream = f"tenant_id={owner.tenant_id}&store_id={owner.store_id}"
    for name in ("payer_address", "payee_address"):
        for padded in (f"%20{intent[name]}", f"{intent[name]}%09", f"%20{intent[name].upper()}%20"):
            listed = owner.client.get(f"/api/v1/x402/payments?{stream}&{name}={padded}")
            assert listed.status_code == 200, listed.content
            assert [i["intent_id"] for i in orjson.loads(listed.content)] == [posted.json()["intent_id"]], (
                name,
                padded,
            )
