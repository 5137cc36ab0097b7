"""Legacy payloads encrypted at rest: round trip, wrong key, tampering, row swap, rotation."""

from __future__ import annotations

import base64
import hashlib
import threading
import uuid
from io import StringIO
from typing import Any

import orjson
import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.test import override_settings
from hypothesis import given
from hypothesis import strategies as st

from events.payload_crypto import (
    AAD_TAG,
    PayloadDecryptionError,
    decrypt_blob,
    encrypt_blob,
    parse_keyring,
    payload_aad,
)
from events.projections.state_crypto import STATE_AAD_TAG, EntityKey, state_aad
from events.rejected_bodies import rejected_body_columns, rejected_body_open
from events.selectors import event_range_list
from events.services.payload_rotation import payload_reencrypt_batch
from tests.conftest import IngestPoster, Persona, legacy_event
from ves.encoding import str_bytes, u64, uuid_bytes
from ves.legacy_json import fast_dumps

KEY_1 = "1:" + "11" * 32
KEY_2 = "2:" + "22" * 32


def _rows(persona: Persona) -> list[tuple[int, bytes, int, int | None]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sequence_number, payload, payload_format, payload_key_id FROM events"
            " WHERE tenant_id = %s ORDER BY sequence_number",
            [persona.tenant_id],
        )
        return [(s, bytes(p), f, k) for s, p, f, k in cursor.fetchall()]


def _ingest(persona: Persona, post_ingest: IngestPoster, payloads: list[Any]) -> None:
    events = [legacy_event(persona.tenant_id, persona.store_id, payload=p) for p in payloads]
    body = post_ingest(persona.client, {"events": events}).json()
    assert body["events_accepted"] == len(payloads), body


def _read(persona: Persona) -> list[Any]:
    url = f"/api/v1/events?tenant_id={persona.tenant_id}&store_id={persona.store_id}&limit=1000"
    response = persona.client.get(url)
    assert response.status_code == 200, response.content
    return [e["envelope"]["payload"] for e in response.json()["events"]]


@pytest.mark.django_db
@override_settings(PAYLOAD_ENCRYPTION_MODE="required", PAYLOAD_ENCRYPTION_KEYS=KEY_1)
def test_payloads_are_sealed_at_rest_and_read_back_in_clear(owner: Persona, post_ingest: IngestPoster) -> None:
    payload = {"total": 42, "note": "secret"}
    _ingest(owner, post_ingest, [payload])

    [(_, blob, fmt, key_id)] = _rows(owner)
    assert (fmt, key_id) == (1, 1)
    assert blob.startswith(b"SSE1")
    assert b"secret" not in blob
    assert _read(owner) == [payload]
    stored = event_range_list(tenant_id=owner.tenant_id, store_id=owner.store_id, from_seq=1, limit=1)[0]
    assert stored.payload_hash == hashlib.sha256(fast_dumps(payload)).digest()  # over the plaintext


@pytest.mark.django_db
@override_settings(PAYLOAD_ENCRYPTION_MODE="required", PAYLOAD_ENCRYPTION_KEYS=KEY_1)
def test_every_payload_of_a_batch_is_sealed_under_its_own_nonce(owner: Persona, post_ingest: IngestPoster) -> None:
    """A batch's nonces are drawn in one call: each still differs, and every blob opens."""
    payloads = [{"n": n} for n in range(50)]
    _ingest(owner, post_ingest, payloads)

    rows = _rows(owner)
    nonces = {blob[4:16] for _, blob, _, _ in rows}
    assert len(nonces) == len(payloads)
    assert _read(owner) == payloads


@pytest.mark.django_db
@override_settings(PAYLOAD_ENCRYPTION_MODE="required", PAYLOAD_ENCRYPTION_KEYS="")
def test_required_without_a_key_refuses_ingest(owner: Persona, post_ingest: IngestPoster) -> None:
    response = post_ingest(owner.client, {"events": [legacy_event(owner.tenant_id, owner.store_id)]})

    assert response.status_code == 503
    assert response.json()["code"] == "payload_encryption_unavailable"
    assert _rows(owner) == []


@pytest.mark.django_db
@override_settings(PAYLOAD_ENCRYPTION_MODE="optional", PAYLOAD_ENCRYPTION_KEYS=KEY_1)
def test_per_tenant_keyrings_replace_the_global_one(owner: Persona, post_ingest: IngestPoster) -> None:
    with override_settings(PAYLOAD_ENCRYPTION_KEYS_BY_TENANT=f'{{"{owner.tenant_id}": "7:{"77" * 32}"}}'):
        _ingest(owner, post_ingest, [{"a": 1}])
        assert [r[3] for r in _rows(owner)] == [7]
        assert _read(owner) == [{"a": 1}]


def test_wrong_key_tampering_and_a_moved_blob_do_not_decrypt() -> None:
    ring, other = parse_keyring(KEY_1), parse_keyring("1:" + "33" * 32)
    tenant, store, event = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    aad = payload_aad(tenant, store, event, 5, "order", "o-1", "order.created")
    assert ring.newest is not None
    blob = encrypt_blob(ring.newest, b'{"a":1}', aad)

    assert decrypt_blob(ring, 1, blob, aad) == b'{"a":1}'
    with pytest.raises(PayloadDecryptionError):
        decrypt_blob(other, 1, blob, aad)
    tampered = bytearray(blob)
    tampered[-20] ^= 1
    with pytest.raises(PayloadDecryptionError):
        decrypt_blob(ring, 1, bytes(tampered), aad)
    for moved in (
        payload_aad(tenant, store, event, 6, "order", "o-1", "order.created"),
        payload_aad(tenant, uuid.uuid4(), event, 5, "order", "o-1", "order.created"),
        payload_aad(tenant, store, uuid.uuid4(), 5, "order", "o-1", "order.created"),
        payload_aad(tenant, store, event, 5, "order", "o-2", "order.created"),
    ):
        with pytest.raises(PayloadDecryptionError):
            decrypt_blob(ring, 1, blob, moved)


@pytest.mark.django_db
@override_settings(PAYLOAD_ENCRYPTION_MODE="required", PAYLOAD_ENCRYPTION_KEYS=KEY_1)
def test_swapping_two_rows_payloads_is_detected(owner: Persona, post_ingest: IngestPoster) -> None:
    _ingest(owner, post_ingest, [{"who": "alice"}, {"who": "bob"}])
    (_, first, _, _), (_, second, _, _) = _rows(owner)
    with connection.cursor() as cursor:
        for sequence, blob in ((1, second), (2, first)):
            cursor.execute(
                "UPDATE events SET payload = %s WHERE tenant_id = %s AND sequence_number = %s",
                [blob, owner.tenant_id, sequence],
            )

    with pytest.raises(PayloadDecryptionError):
        event_range_list(tenant_id=owner.tenant_id, store_id=owner.store_id, from_seq=1, limit=2)


@pytest.mark.django_db(transaction=True)
def test_rotation_is_resumable_and_reads_keep_working(owner: Persona, post_ingest: IngestPoster) -> None:
    payloads = [{"n": n, "pad": "x" * 100} for n in range(40)]
    with override_settings(PAYLOAD_ENCRYPTION_MODE="optional", PAYLOAD_ENCRYPTION_KEYS=""):
        _ingest(owner, post_ingest, payloads[:10])  # plaintext rows from before encryption
    with override_settings(PAYLOAD_ENCRYPTION_MODE="optional", PAYLOAD_ENCRYPTION_KEYS=KEY_1):
        _ingest(owner, post_ingest, payloads[10:])

    with override_settings(PAYLOAD_ENCRYPTION_MODE="required", PAYLOAD_ENCRYPTION_KEYS=f"{KEY_2},{KEY_1}"):
        first = payload_reencrypt_batch(tenant_id=owner.tenant_id, batch_size=4)  # then "interrupted"
        assert first.rewritten == 4
        stop, failures, reads = threading.Event(), [], [0]

        def reader() -> None:
            try:
                while not stop.is_set():
                    got = event_range_list(tenant_id=owner.tenant_id, store_id=owner.store_id, from_seq=1, limit=40)
                    if [e.payload for e in got] != payloads:
                        failures.append("payloads differ during rotation")
                    reads[0] += 1
            except Exception as exc:  # reported by the assertion below
                failures.append(repr(exc))
            finally:
                connections.close_all()

        thread = threading.Thread(target=reader)
        thread.start()
        out = StringIO()
        try:
            call_command("reencrypt_payloads", tenant=str(owner.tenant_id), batch_size=3, key_deployed=True, stdout=out)
        finally:
            stop.set()
            thread.join(timeout=30)

        assert failures == []
        assert reads[0] > 0
        lines = out.getvalue().splitlines()
        assert lines[0] == f"tenant {owner.tenant_id}: 36 payloads to re-encrypt with key 2"
        assert "re-encrypted 3/36" in lines
        assert f"tenant {owner.tenant_id}: 0 entity states to re-encrypt with key 2" in lines  # none projected
        assert lines[-1] == (
            "done: 36 re-encrypted, 0 left; 0 entity states re-encrypted, 0 left;"
            " 0 rejected event bodies re-encrypted, 0 left"
        )
        assert {(fmt, key_id) for _, _, fmt, key_id in _rows(owner)} == {(1, 2)}

    with override_settings(PAYLOAD_ENCRYPTION_MODE="required", PAYLOAD_ENCRYPTION_KEYS=KEY_2):  # old key retired
        assert _read(owner) == payloads


@override_settings(PAYLOAD_ENCRYPTION_MODE="required", PAYLOAD_ENCRYPTION_KEYS=KEY_1)
def test_a_sealed_rejected_body_opens_only_for_its_own_rejection() -> None:
    tenant, store, event = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    raw = {"event_id": str(event), "entity_type": "order", "entity_id": "o-1", "payload": {"card": "4111"}}
    where: dict[str, Any] = {
        "tenant_id": tenant,
        "store_id": store,
        "stream_kind": 1,
        "event_id": event,
        "request_id": "req-1",
    }
    columns = rejected_body_columns(raw, **where, seal=parse_keyring(KEY_1).newest)
    body = base64.b64decode(columns["body"])
    assert (columns["body_format"], columns["body_key_id"]) == (1, 1)
    assert (columns["entity_type"], columns["entity_id"]) == ("order", "o-1")  # kept in clear
    assert b"4111" not in body
    assert orjson.loads(rejected_body_open(body, body_format=1, body_key_id=1, **where)) == raw
    moves: list[dict[str, Any]] = [
        {"event_id": uuid.uuid4()},
        {"request_id": "req-2"},
        {"store_id": uuid.uuid4()},
        {"stream_kind": 2},
    ]
    for moved in moves:
        with pytest.raises(PayloadDecryptionError):
            rejected_body_open(body, body_format=1, body_key_id=1, **{**where, **moved})
    plain = rejected_body_columns(raw, **where, seal=None)
    assert (plain["body_format"], plain["body_key_id"]) == (0, None)
    assert orjson.loads(base64.b64decode(plain["body"])) == raw


@pytest.mark.django_db
def test_rotation_reseals_rejected_bodies_so_the_old_key_can_be_retired(
    owner: Persona, post_ingest: IngestPoster
) -> None:
    def refused(payload: Any) -> dict[str, Any]:
        return legacy_event(owner.tenant_id, owner.store_id, base_version=7, payload=payload)  # a version conflict

    with override_settings(PAYLOAD_ENCRYPTION_MODE="disabled"):
        post_ingest(owner.client, {"events": [refused({"n": 0})]})  # a plain body from before sealing
    with override_settings(PAYLOAD_ENCRYPTION_MODE="required", PAYLOAD_ENCRYPTION_KEYS=KEY_1):
        post_ingest(owner.client, {"events": [refused({"n": 1}), refused({"n": 2})]})

    with override_settings(PAYLOAD_ENCRYPTION_MODE="required", PAYLOAD_ENCRYPTION_KEYS=f"{KEY_2},{KEY_1}"):
        out = StringIO()
        call_command("reencrypt_payloads", tenant=str(owner.tenant_id), batch_size=2, key_deployed=True, stdout=out)
        lines = out.getvalue().splitlines()
        assert f"tenant {owner.tenant_id}: 3 rejected event bodies to re-encrypt with key 2" in lines
        assert lines[-1].endswith("; 3 rejected event bodies re-encrypted, 0 left")

    with override_settings(PAYLOAD_ENCRYPTION_MODE="required", PAYLOAD_ENCRYPTION_KEYS=KEY_2):  # old key retired
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT store_id, event_id, request_id, body, body_format, body_key_id FROM rejected_events"
                " WHERE tenant_id = %s ORDER BY rejection_id",
                [owner.tenant_id],
            )
            rows = cursor.fetchall()
        assert {(fmt, key_id) for *_, fmt, key_id in rows} == {(1, 2)}
        payloads = [
            orjson.loads(
                rejected_body_open(
                    body,
                    body_format=fmt,
                    body_key_id=key_id,
                    tenant_id=owner.tenant_id,
                    store_id=store_id,
                    stream_kind=1,
                    event_id=event_id,
                    request_id=request_id,
                )
            )["payload"]
            for store_id, event_id, request_id, body, fmt, key_id in rows
        ]
        assert payloads == [{"n": 0}, {"n": 1}, {"n": 2}]


_FIXED = (
    uuid.UUID("11111111-2222-3333-4444-555555555555"),
    uuid.UUID("66666666-7777-8888-9999-aaaaaaaaaaaa"),
    uuid.UUID("bbbbbbbb-cccc-dddd-eeee-ffffffffffff"),
)


def test_the_associated_data_of_payloads_and_states_keeps_its_bytes() -> None:
    """Blobs sealed by earlier releases open only if these bytes never change (values computed
    with the implementation that sealed them, before any rewrite)."""
    tenant, store, event = _FIXED
    assert payload_aad(tenant, store, event, 42, "order", "order-ü1", "order.created").hex() == (
        "246bf5cddb5da58d77e29131788c5667e047d42760c77a2c0ba3fe92611a8bdf"
    )
    assert payload_aad(str(tenant), str(store), str(event), 42, "order", "order-ü1", "order.created") == (
        payload_aad(tenant, store, event, 42, "order", "order-ü1", "order.created")
    )
    assert state_aad(EntityKey(tenant, store, "order", "order-ü1")).hex() == (
        "89f2f561f0c37fec718e7f31202f1a0c4f4638c1f1caf8ea2fbece38623920c1"
    )


@given(
    ids=st.tuples(st.uuids(), st.uuids(), st.uuids()),
    sequence=st.integers(min_value=0, max_value=2**64 - 1),
    texts=st.tuples(st.text(), st.text(), st.text()),
)
def test_the_associated_data_is_the_documented_preimage(
    ids: tuple[uuid.UUID, uuid.UUID, uuid.UUID], sequence: int, texts: tuple[str, str, str]
) -> None:
    tenant, store, event = ids
    entity_type, entity_id, event_type = texts
    spelled = AAD_TAG + b"".join(map(uuid_bytes, ids)) + u64(sequence) + b"".join(map(str_bytes, texts))
    assert payload_aad(tenant, store, event, sequence, entity_type, entity_id, event_type) == (
        hashlib.sha256(spelled).digest()
    )
    state = STATE_AAD_TAG + uuid_bytes(tenant) + uuid_bytes(store) + str_bytes(entity_type) + str_bytes(entity_id)
    assert state_aad(EntityKey(tenant, store, entity_type, entity_id)) == hashlib.sha256(state).digest()
