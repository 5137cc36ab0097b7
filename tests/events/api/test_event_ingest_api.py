"""POST /api/v1/events/ingest: acceptance, per-event rejections, and request-level errors."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

import orjson
import pytest
from django.test import override_settings

from events.rejected_bodies import rejected_body_open
from tenants.models import Store, Tenant
from tests.conftest import IngestPoster, Persona, api_client, legacy_event
from tests.events.helpers import count_rows, head_of, rejection_reasons, stored_sequences
from ves.legacy_json import payload_hash

pytestmark = pytest.mark.django_db


def test_it_sequences_a_batch_from_one_in_request_order(owner: Persona, post_ingest: IngestPoster) -> None:
    events = [legacy_event(owner.tenant_id, owner.store_id) for _ in range(5)]

    response = post_ingest(owner.client, {"events": events})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["events_accepted"] == 5
    assert body["events_rejected"] == 0
    assert body["assigned_sequence_start"] == 1
    assert body["assigned_sequence_end"] == 5
    assert body["head_sequence"] == 5
    assert "rejections" not in body
    assert [r["event_id"] for r in body["receipts"]] == [e["event_id"] for e in events]
    assert [r["sequence_number"] for r in body["receipts"]] == [1, 2, 3, 4, 5]
    assert stored_sequences(owner.tenant_id, owner.store_id) == [1, 2, 3, 4, 5]


def test_it_continues_numbering_across_requests(owner: Persona, post_ingest: IngestPoster) -> None:
    post_ingest(owner.client, {"events": [legacy_event(owner.tenant_id, owner.store_id) for _ in range(3)]})

    body = post_ingest(owner.client, {"events": [legacy_event(owner.tenant_id, owner.store_id)]}).json()

    assert body["assigned_sequence_start"] == 4
    assert body["head_sequence"] == 4


def test_it_computes_the_payload_hash_like_the_reference(owner: Persona, post_ingest: IngestPoster) -> None:
    payload = {"b": 1.0, "a": [1e16, -0.0, "é\n"], "c": None}
    event = legacy_event(owner.tenant_id, owner.store_id, payload=payload)

    post_ingest(owner.client, {"events": [event]})
    stored = owner.client.get(f"/api/v1/events/{event['event_id']}").json()

    serde_bytes = '{"a":[1e16,-0.0,"é\\n"],"b":1.0,"c":null}'.encode()
    assert stored["envelope"]["payload_hash"] == hashlib.sha256(serde_bytes).hexdigest()


@pytest.mark.parametrize("other_events", [0, 2])  # alone (the general parser) or in a batch
def test_the_literal_minus_zero_hashes_as_serde_reads_it(
    owner: Persona, post_ingest: IngestPoster, other_events: int
) -> None:
    """serde_json reads ``-0`` as the double ``-0.0``: the reference's hash of ``{"x":-0}`` is that of
    ``{"x":-0.0}``. Its clients' hashes were once refused as ``InvalidPayloadHash``."""
    reference_hash = hashlib.sha256(b'{"x":-0.0}').hexdigest()
    event = legacy_event(owner.tenant_id, owner.store_id, payload_hash=reference_hash)
    others = [legacy_event(owner.tenant_id, owner.store_id) for _ in range(other_events)]
    body = orjson.dumps({"events": [*others, {**event, "payload": "PAYLOAD"}]}).replace(b'"PAYLOAD"', b'{"x":-0}')

    answer = post_ingest(owner.client, body).json()
    stored = owner.client.get(f"/api/v1/events/{event['event_id']}").json()

    assert (answer["events_accepted"], answer["events_rejected"]) == (1 + other_events, 0), answer
    assert stored["envelope"]["payload_hash"] == reference_hash
    assert stored["envelope"]["payload"] == {"x": -0.0}


def test_it_accepts_a_supplied_correct_payload_hash(owner: Persona, post_ingest: IngestPoster) -> None:
    payload = {"total": 12.5}
    event = legacy_event(owner.tenant_id, owner.store_id, payload=payload, payload_hash=payload_hash(payload).hex())

    body = post_ingest(owner.client, {"events": [event]}).json()

    assert body["events_accepted"] == 1


def test_it_rejects_a_wrong_payload_hash_and_stores_only_the_rejection(
    owner: Persona, post_ingest: IngestPoster
) -> None:
    bad = legacy_event(owner.tenant_id, owner.store_id, payload_hash="00" * 32)
    good = legacy_event(owner.tenant_id, owner.store_id)

    body = post_ingest(owner.client, {"events": [bad, good]}).json()

    assert body["events_accepted"] == 1
    assert body["rejections"] == [
        {
            "event_id": bad["event_id"],
            "reason": "InvalidPayloadHash",
            "message": "payload_hash does not match the payload",
        }
    ]
    assert body["receipts"] == [{"event_id": good["event_id"], "sequence_number": 1, "replayed": False}]
    assert stored_sequences(owner.tenant_id, owner.store_id) == [1]
    assert rejection_reasons(owner.tenant_id, owner.store_id) == ["InvalidPayloadHash"]


def test_an_exact_replay_returns_the_original_number_and_stores_nothing(
    owner: Persona, post_ingest: IngestPoster
) -> None:
    events = [legacy_event(owner.tenant_id, owner.store_id) for _ in range(3)]
    post_ingest(owner.client, {"events": events})

    body = post_ingest(owner.client, {"events": [events[1]]}).json()

    assert body["events_accepted"] == 0
    assert body["events_rejected"] == 0
    assert body["receipts"] == [{"event_id": events[1]["event_id"], "sequence_number": 2, "replayed": True}]
    assert body["head_sequence"] == 3
    assert count_rows("events", owner.tenant_id) == 3


def test_a_different_event_under_a_known_id_is_rejected(owner: Persona, post_ingest: IngestPoster) -> None:
    original = legacy_event(owner.tenant_id, owner.store_id)
    post_ingest(owner.client, {"events": [original]})
    impostor = {**original, "payload": {"total": 9999}}

    body = post_ingest(owner.client, {"events": [impostor]}).json()

    assert body["events_accepted"] == 0
    assert body["rejections"][0]["reason"] == "DuplicateEventId"
    assert owner.client.get(f"/api/v1/events/{original['event_id']}").json()["envelope"]["payload"]["total"] == 42


def test_a_known_id_from_another_store_of_the_tenant_is_rejected(owner: Persona, post_ingest: IngestPoster) -> None:
    original = legacy_event(owner.tenant_id, owner.store_id)
    post_ingest(owner.client, {"events": [original]})
    moved = {**original, "store_id": str(uuid.uuid4())}

    body = post_ingest(owner.client, {"events": [moved]}).json()

    assert body["rejections"][0]["reason"] == "DuplicateEventId"


def test_the_same_event_id_twice_in_one_request_is_rejected_once(owner: Persona, post_ingest: IngestPoster) -> None:
    event = legacy_event(owner.tenant_id, owner.store_id)

    body = post_ingest(owner.client, {"events": [event, event]}).json()

    assert body["events_accepted"] == 1
    assert body["events_rejected"] == 1
    assert body["rejections"][0]["reason"] == "DuplicateEventId"


def test_a_reused_command_id_is_rejected_in_the_batch_and_later(owner: Persona, post_ingest: IngestPoster) -> None:
    command_id = str(uuid.uuid4())
    first = legacy_event(owner.tenant_id, owner.store_id, command_id=command_id)
    second = legacy_event(owner.tenant_id, owner.store_id, command_id=command_id)
    third = legacy_event(owner.tenant_id, owner.store_id, command_id=command_id)

    body = post_ingest(owner.client, {"events": [first, second]}).json()
    later = post_ingest(owner.client, {"events": [third]}).json()

    assert body["events_accepted"] == 1
    assert body["rejections"][0] == {
        "event_id": second["event_id"],
        "reason": "DuplicateCommandId",
        "message": "command_id was already processed",
    }
    assert later["rejections"][0]["reason"] == "DuplicateCommandId"
    assert count_rows("command_dedupe", owner.tenant_id) == 1


def test_base_version_is_checked_against_the_entity_version(owner: Persona, post_ingest: IngestPoster) -> None:
    def event(base: int | None) -> dict[str, Any]:
        return legacy_event(owner.tenant_id, owner.store_id, entity_id="order-7", base_version=base)

    body = post_ingest(owner.client, {"events": [event(0), event(1), event(1), event(None), event(3)]}).json()

    assert body["events_accepted"] == 4
    assert body["rejections"] == [
        {"event_id": body["rejections"][0]["event_id"], "reason": "VersionConflict", "message": "expected 1, actual 2"}
    ]
    stale = post_ingest(owner.client, {"events": [event(0)]}).json()
    assert stale["rejections"][0]["message"] == "expected 0, actual 4"
    fresh = post_ingest(owner.client, {"events": [event(4)]}).json()
    assert fresh["events_accepted"] == 1


def test_a_conflict_does_not_reserve_its_command_id(owner: Persona, post_ingest: IngestPoster) -> None:
    command_id = str(uuid.uuid4())
    conflicting = legacy_event(owner.tenant_id, owner.store_id, base_version=5, command_id=command_id)
    post_ingest(owner.client, {"events": [conflicting]})

    retry = legacy_event(owner.tenant_id, owner.store_id, base_version=0, command_id=command_id)
    body = post_ingest(owner.client, {"events": [retry]}).json()

    assert body["events_accepted"] == 1


def test_rejected_events_are_logged_with_the_body_received(owner: Persona, post_ingest: IngestPoster) -> None:
    from django.db import connection

    bad = legacy_event(owner.tenant_id, owner.store_id, base_version=3)
    post_ingest(owner.client, {"events": [bad]})

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT event_id, reason, message, body, body_format, body_key_id, request_id, entity_type, entity_id"
            " FROM rejected_events WHERE tenant_id = %s",
            [owner.tenant_id],
        )
        event_id, reason, message, body, body_format, key_id, request_id, entity_type, entity_id = cursor.fetchone()
    assert str(event_id) == bad["event_id"]
    assert reason == "VersionConflict"
    assert message == "expected 3, actual 0"
    assert (entity_type, entity_id) == (bad["entity_type"], bad["entity_id"])
    # Sealed at rest as accepted payloads are (make run's settings), and opened as received.
    assert (body_format, key_id) == (1, 1)
    assert bytes(body).startswith(b"SSE1")
    assert b"payload" not in bytes(body)
    opened = rejected_body_open(
        body,
        body_format=body_format,
        body_key_id=key_id,
        tenant_id=owner.tenant_id,
        store_id=owner.store_id,
        stream_kind=1,
        event_id=event_id,
        request_id=request_id,
    )
    assert orjson.loads(opened) == bad


# --- the reference's own load-script bodies, unchanged -----------------------------------


def test_the_reference_sequencer_ingest_script_body_is_accepted(owner: Persona, post_ingest: IngestPoster) -> None:
    """load/sequencer_ingest.js: agent_id given; no payload_hash, no source_agent."""
    event_id = str(uuid.uuid4())
    body = {
        "agent_id": "00000000-0000-0000-0000-000000000000",
        "events": [
            {
                "event_id": event_id,
                "tenant_id": str(owner.tenant_id),
                "store_id": str(owner.store_id),
                "entity_type": "order",
                "entity_id": f"order-{event_id}",
                "event_type": "order.created",
                "payload": {"order_id": event_id, "total": 42},
                "created_at": "2026-11-27T10:00:00.000Z",
            }
        ],
    }

    response = post_ingest(owner.client, body)

    assert response.status_code == 200
    assert response.json()["receipts"][0]["sequence_number"] == 1


def test_the_reference_ingest_load_script_body_is_accepted(owner: Persona, post_ingest: IngestPoster) -> None:
    """tests/load/ingest-load.js: no agent_id, no payload_hash, base_version 0, a float total."""
    body = {
        "events": [
            {
                "event_id": str(uuid.uuid4()),
                "tenant_id": str(owner.tenant_id),
                "store_id": str(owner.store_id),
                "entity_type": "order",
                "entity_id": "order-123456",
                "event_type": "order.created",
                "payload": {"customer_id": "customer-12", "total": 1234.56, "currency": "USD"},
                "base_version": 0,
                "source_agent": "00000000-0000-0000-0000-000000000001",
                "created_at": "2026-11-27T10:00:00.000Z",
            }
        ]
    }

    response = post_ingest(owner.client, body)

    assert response.status_code == 200
    receipts = response.json()["receipts"]
    assert len(receipts) > 0
    assert isinstance(receipts[0]["sequence_number"], int)


def test_the_bootstrap_admin_may_write_to_a_tenant_not_yet_created(
    admin_client: Any, post_ingest: IngestPoster
) -> None:
    tenant_id, store_id = uuid.uuid4(), uuid.uuid4()

    body = post_ingest(admin_client, {"events": [legacy_event(tenant_id, store_id)]}).json()

    assert body["head_sequence"] == 1
    assert head_of(tenant_id, store_id) == 1
    assert Store.objects.filter(tenant_id=tenant_id, store_id=store_id).exists()
    assert Tenant.objects.filter(id=tenant_id).exists()


def test_a_store_is_registered_on_its_first_write(owner: Persona, post_ingest: IngestPoster) -> None:
    assert not Store.objects.filter(tenant_id=owner.tenant_id, store_id=owner.store_id).exists()

    post_ingest(owner.client, {"events": [legacy_event(owner.tenant_id, owner.store_id)]})

    assert Store.objects.filter(tenant_id=owner.tenant_id, store_id=owner.store_id).count() == 1


def test_an_empty_batch_is_a_no_op(owner: Persona, post_ingest: IngestPoster) -> None:
    response = post_ingest(owner.client, {"events": []})

    assert response.status_code == 200
    assert response.json()["events_accepted"] == 0


# --- request-level errors: clear problem+json, nothing stored ----------------------------


def _problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    assert body["status"] == status
    assert body["instance"] == response["X-Request-ID"]
    return body


@pytest.mark.parametrize(
    ("mutate", "status", "code"),
    [
        (lambda e: e.update(entity_type=""), 400, "invalid_field_length"),
        (lambda e: e.update(entity_type="t" * 129), 400, "invalid_field_length"),
        (lambda e: e.update(entity_id="i" * 513), 400, "invalid_field_length"),
        (lambda e: e.update(event_type="e" * 257), 400, "invalid_field_length"),
        (lambda e: e.update(entity_id="a\x00b"), 400, "invalid_field"),
        (lambda e: e.update(event_id="not-a-uuid"), 422, "invalid_request"),
        (lambda e: e.update(tenant_id=12), 422, "invalid_request"),
        (lambda e: e.pop("event_type"), 422, "invalid_request"),
        (lambda e: e.pop("payload"), 422, "invalid_request"),
        (lambda e: e.pop("created_at"), 422, "invalid_request"),
        (lambda e: e.update(created_at="yesterday"), 422, "invalid_request"),
        (lambda e: e.update(created_at="2026-01-01T00:00:00"), 422, "invalid_request"),
        # ISO 8601 forms that are not RFC 3339 (the reference's chrono refuses them too)
        (lambda e: e.update(created_at="20260101T000000Z"), 422, "invalid_request"),
        (lambda e: e.update(created_at="2026-W01-1T00:00:00Z"), 422, "invalid_request"),
        (lambda e: e.update(created_at="2026-01-01T00Z"), 422, "invalid_request"),
        (lambda e: e.update(created_at="2026-01-01T00:00Z"), 422, "invalid_request"),
        (lambda e: e.update(created_at="2026-01-01T00:00:00,5Z"), 422, "invalid_request"),
        (lambda e: e.update(created_at="2026-01-01T00:00:00+0500"), 422, "invalid_request"),
        (lambda e: e.update(created_at="2026-01-01 00:00:00Z"), 422, "invalid_request"),
        # Past year 9999 once in UTC: an OverflowError (500) found by schemathesis.
        (lambda e: e.update(created_at="9999-12-31T23:00:00-05:00"), 422, "invalid_request"),
        (lambda e: e.update(base_version=-1), 422, "invalid_request"),
        (lambda e: e.update(base_version="1"), 422, "invalid_request"),
        (lambda e: e.update(payload_hash="0x" + "00" * 32), 422, "invalid_request"),
        (lambda e: e.update(command_id="nope"), 422, "invalid_request"),
        (lambda e: e.update(signature=[1, 2, 300]), 422, "invalid_request"),
        (lambda e: e.update(source_agent="x"), 422, "invalid_request"),
    ],
)
def test_bad_fields_fail_the_request_and_store_nothing(
    owner: Persona, post_ingest: IngestPoster, mutate: Any, status: int, code: str
) -> None:
    good = legacy_event(owner.tenant_id, owner.store_id)
    bad = legacy_event(owner.tenant_id, owner.store_id)
    mutate(bad)

    response = post_ingest(owner.client, {"events": [good, bad]})

    _problem(response, status, code)
    assert head_of(owner.tenant_id, owner.store_id) == 0
    assert count_rows("events", owner.tenant_id) == 0


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("2026-01-02t03:04:05z", "2026-01-02T03:04:05Z"),  # RFC 3339 allows lower case t and z
        ("2026-01-02T03:04:05.5z", "2026-01-02T03:04:05.500000Z"),
        ("2016-12-31T23:59:60Z", "2017-01-01T00:00:00Z"),  # a leap second, as chrono's instant
        ("2016-12-31T18:59:60-05:00", "2017-01-01T00:00:00Z"),
    ],
)
def test_every_rfc3339_created_at_the_reference_reads_is_taken(
    owner: Persona, post_ingest: IngestPoster, sent: str, stored: str
) -> None:
    # These forms were 422: Python's fromisoformat, the fast reader, does not take them
    event = legacy_event(owner.tenant_id, owner.store_id, created_at=sent)

    assert post_ingest(owner.client, {"events": [event]}).status_code == 200

    read = owner.client.get(f"/api/v1/events/{event['event_id']}?tenant_id={owner.tenant_id}&store_id={owner.store_id}")
    assert read.json()["envelope"]["created_at"] == stored


def test_field_errors_name_the_json_path(owner: Persona, post_ingest: IngestPoster) -> None:
    bad = legacy_event(owner.tenant_id, owner.store_id, event_id="nope")

    body = _problem(post_ingest(owner.client, {"events": [bad]}), 422, "invalid_request")

    assert "events[0].event_id" in body["errors"]


@pytest.mark.parametrize(
    "raw",
    [b"{", b"[1,", b'{"events": [}', b"\xff\xfe", b'{"events": ["\\ud800"]}', b"NaN", b""],
)
def test_malformed_json_is_a_400(owner: Persona, post_ingest: IngestPoster, raw: bytes) -> None:
    _problem(post_ingest(owner.client, raw), 400, "malformed_json")


@pytest.mark.parametrize(
    "body", [[], 1, True, {"events": None}, {"events": {}}, {"events": [1]}, {"agent_id": 5, "events": []}]
)
def test_wrong_shapes_are_a_422(owner: Persona, post_ingest: IngestPoster, body: Any) -> None:
    _problem(post_ingest(owner.client, body), 422, "invalid_request")


def test_a_non_json_content_type_is_a_415(owner: Persona) -> None:
    response = owner.client.post("/api/v1/events/ingest", data="x=1", content_type="application/x-www-form-urlencoded")

    _problem(response, 415, "unsupported_media_type")


def test_mixed_streams_are_a_400(owner: Persona, post_ingest: IngestPoster) -> None:
    events = [legacy_event(owner.tenant_id, owner.store_id), legacy_event(owner.tenant_id, uuid.uuid4())]

    _problem(post_ingest(owner.client, {"events": events}), 400, "mixed_stream")
    assert count_rows("events", owner.tenant_id) == 0


def test_a_source_agent_other_than_agent_id_is_a_400(owner: Persona, post_ingest: IngestPoster) -> None:
    event = legacy_event(owner.tenant_id, owner.store_id, source_agent=str(uuid.uuid4()))

    _problem(
        post_ingest(owner.client, {"agent_id": str(uuid.uuid4()), "events": [event]}), 400, "source_agent_mismatch"
    )


@override_settings(MAX_EVENTS_PER_BATCH=3)
def test_too_many_events_is_a_413(owner: Persona, post_ingest: IngestPoster) -> None:
    events = [legacy_event(owner.tenant_id, owner.store_id) for _ in range(4)]

    _problem(post_ingest(owner.client, {"events": events}), 413, "too_many_events")


def test_a_thousand_events_fit_in_one_request(owner: Persona, post_ingest: IngestPoster) -> None:
    events = [legacy_event(owner.tenant_id, owner.store_id, payload={"i": i}) for i in range(1000)]

    body = post_ingest(owner.client, {"events": events}).json()

    assert body["events_accepted"] == 1000
    assert stored_sequences(owner.tenant_id, owner.store_id) == list(range(1, 1001))


@override_settings(MAX_EVENT_PAYLOAD_SIZE=100)
def test_an_oversized_payload_is_a_413(owner: Persona, post_ingest: IngestPoster) -> None:
    event = legacy_event(owner.tenant_id, owner.store_id, payload={"blob": "x" * 200})

    _problem(post_ingest(owner.client, {"events": [event]}), 413, "event_payload_too_large")


def test_a_payload_over_one_mebibyte_is_a_413_by_default(owner: Persona, post_ingest: IngestPoster) -> None:
    event = legacy_event(owner.tenant_id, owner.store_id, payload={"blob": "x" * (1024 * 1024)})

    _problem(post_ingest(owner.client, {"events": [event]}), 413, "event_payload_too_large")


@override_settings(MAX_BODY_SIZE_BYTES=1000)
def test_an_oversized_body_is_a_413(owner: Persona, post_ingest: IngestPoster) -> None:
    events = [legacy_event(owner.tenant_id, owner.store_id) for _ in range(10)]

    _problem(post_ingest(owner.client, {"events": events}), 413, "body_too_large")


# --- authentication and scope ------------------------------------------------------------


def test_ingest_requires_credentials(owner: Persona, post_ingest: IngestPoster) -> None:
    response = post_ingest(api_client(), {"events": [legacy_event(owner.tenant_id, owner.store_id)]})

    _problem(response, 401, "missing_auth")
    assert response["WWW-Authenticate"] == "ApiKey"


def test_a_read_only_key_cannot_write(owner: Persona, post_ingest: IngestPoster) -> None:
    from tests.tenants.factories import issue_key

    reader = api_client(issue_key(owner.tenant, can_read=True))

    _problem(post_ingest(reader, {"events": [legacy_event(owner.tenant_id, owner.store_id)]}), 403, "permission_denied")


def test_a_key_cannot_write_to_another_tenant(owner: Persona, outsider: Persona, post_ingest: IngestPoster) -> None:
    events = [legacy_event(owner.tenant_id, owner.store_id)]

    _problem(post_ingest(outsider.client, {"events": events}), 403, "tenant_access_denied")
    assert count_rows("events", owner.tenant_id) == 0


def test_a_store_scoped_key_writes_only_its_stores(member: Persona, post_ingest: IngestPoster) -> None:
    ok = post_ingest(member.client, {"events": [legacy_event(member.tenant_id, member.store_id)]})
    denied = post_ingest(member.client, {"events": [legacy_event(member.tenant_id, uuid.uuid4())]})

    assert ok.status_code == 200
    _problem(denied, 403, "store_access_denied")


def test_an_agent_scoped_key_acts_only_as_its_agent(owner: Persona, post_ingest: IngestPoster) -> None:
    from tests.tenants.factories import issue_key

    agent = uuid.uuid4()
    client = api_client(issue_key(owner.tenant, can_write=True, agent_id=agent))
    mine = legacy_event(owner.tenant_id, owner.store_id)
    other = legacy_event(owner.tenant_id, owner.store_id, source_agent=str(uuid.uuid4()))

    ok = post_ingest(client, {"events": [mine]})
    as_other = post_ingest(
        client, {"agent_id": str(uuid.uuid4()), "events": [legacy_event(owner.tenant_id, owner.store_id)]}
    )
    signed_as_other = post_ingest(client, {"events": [other]})

    assert ok.status_code == 200
    assert ok.json()["receipts"][0]["sequence_number"] == 1
    _problem(as_other, 403, "agent_scope_denied")
    _problem(signed_as_other, 403, "agent_scope_denied")
    stored = owner.client.get(f"/api/v1/events/{mine['event_id']}").json()
    assert stored["envelope"]["source_agent"] == str(agent)


# --- hostile input ------------------------------------------------------------------------


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"k": [value]}
    return value


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        (b'{"events": [{"payload": 1e400}]}', 400, "malformed_json"),
        (b'{"events": [' + b"[" * 2000 + b"]" * 2000 + b"]}", 400, "malformed_json"),
    ],
)
def test_numbers_and_nesting_json_cannot_carry_are_refused(
    owner: Persona, post_ingest: IngestPoster, raw: bytes, status: int, code: str
) -> None:
    _problem(post_ingest(owner.client, raw), status, code)


def test_integers_beyond_64_bits_become_doubles_as_in_the_reference(owner: Persona, post_ingest: IngestPoster) -> None:
    event = legacy_event(owner.tenant_id, owner.store_id, payload={"n": 0})
    raw = orjson.dumps({"events": [event]}).replace(b'"n":0', b'"n":123456789012345678901234567890')

    body = post_ingest(owner.client, raw).json()
    stored = owner.client.get(f"/api/v1/events/{event['event_id']}").json()["envelope"]

    assert body["events_accepted"] == 1
    assert stored["payload"] == {"n": 1.2345678901234568e29}
    assert stored["payload_hash"] == hashlib.sha256(b'{"n":1.2345678901234568e29}').hexdigest()


def test_a_body_nested_deeper_than_the_limit_is_refused(owner: Persona, post_ingest: IngestPoster) -> None:
    """64 levels for the whole body (ADR 0016): {"events": [{"payload": ...}]} leaves 61 to a payload."""
    deep = legacy_event(owner.tenant_id, owner.store_id, payload=_nested(31))  # 62 levels
    shallow = legacy_event(owner.tenant_id, owner.store_id, payload=_nested(30))  # 60 levels

    refused = post_ingest(owner.client, json.dumps({"events": [deep]}).encode())
    accepted = post_ingest(owner.client, {"events": [shallow]})

    _problem(refused, 400, "json_too_deep")
    assert accepted.json()["events_accepted"] == 1
    assert head_of(owner.tenant_id, owner.store_id) == 1


def test_unknown_fields_are_ignored(owner: Persona, post_ingest: IngestPoster) -> None:
    event = legacy_event(owner.tenant_id, owner.store_id, surprise={"x": 1}, sequence_number=999)

    body = post_ingest(owner.client, {"events": [event], "extra": True}).json()

    assert body["receipts"][0]["sequence_number"] == 1


@pytest.mark.parametrize(
    "hostile",
    ["'; DROP TABLE events; --", '"}]}', "\\u0000", "é\u2028\U0001f600", "<script>alert(1)</script>", "%(tenant_id)s"],
)
def test_injection_strings_are_stored_verbatim(owner: Persona, post_ingest: IngestPoster, hostile: str) -> None:
    event = legacy_event(
        owner.tenant_id,
        owner.store_id,
        entity_type=hostile,
        entity_id=hostile,
        event_type=hostile,
        payload={hostile: hostile},
    )

    post_ingest(owner.client, {"events": [event]})
    stored = owner.client.get(f"/api/v1/events/{event['event_id']}").json()["envelope"]

    assert (stored["entity_type"], stored["entity_id"], stored["event_type"]) == (hostile, hostile, hostile)
    assert stored["payload"] == {hostile: hostile}
