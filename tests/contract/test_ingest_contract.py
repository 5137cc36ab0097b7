"""The reference's wire contract of ingest and the reads beside it: member names and casing, JSON
types, hex forms, receipts and status codes (REFERENCE.md §2.2, §2.3), as a client of the Rust
reference sees them. Error bodies are ours (problem+json); their statuses are the reference's.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import orjson
import pytest
from rest_framework.test import APIClient

from tests.conftest import IngestPoster, Persona, legacy_event
from tests.events.ves_helpers import Agent, post_ves, register_key

HEX64 = re.compile(r"^[0-9a-f]{64}$")
HEX128 = re.compile(r"^[0-9a-f]{128}$")
RFC3339_OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3}|\.\d{6})?\+00:00$")
LEGACY_RESPONSE = {
    "batch_id",
    "events_accepted",
    "events_rejected",
    "assigned_sequence_start",
    "assigned_sequence_end",
    "head_sequence",
}
VES_RESPONSE = {"batchId", "eventsAccepted", "eventsRejected", "sequenceStart", "sequenceEnd", "headSequence"}
RECEIPT = {
    "sequencerId",
    "eventId",
    "sequenceNumber",
    "sequencedAt",
    "receiptHash",
    "signatureAlg",
    "sequencerSignature",
    "sequencerKeyVersion",
}
ENVELOPE = {
    "envelope_version",
    "event_id",
    "tenant_id",
    "store_id",
    "entity_type",
    "entity_id",
    "event_type",
    "payload",
    "payload_hash",
    "created_at",
    "sequence_number",
    "source_agent",
}


def _is_uuid(value: object) -> bool:
    return isinstance(value, str) and str(uuid.UUID(value)) == value


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _problem(response: Any, status: int) -> str:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    code: str = body["code"]
    assert code == code.lower()
    return code


# --- POST /api/v1/events/ingest -------------------------------------------------------------
def test_legacy_ingest_answers_the_reference_shape(owner: Persona, post_ingest: IngestPoster) -> None:
    agent = uuid.uuid4()
    event = legacy_event(owner.tenant_id, owner.store_id, source_agent=str(agent))
    response = post_ingest(owner.client, {"agent_id": str(agent), "events": [event]})
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) >= LEGACY_RESPONSE
    assert _is_uuid(body["batch_id"])
    assert (body["events_accepted"], body["events_rejected"]) == (1, 0)
    assert body["assigned_sequence_start"] == body["assigned_sequence_end"] == body["head_sequence"] == 1
    assert "rejections" not in body  # omitted when empty, as the reference does


def test_legacy_rejections_carry_pascal_case_reasons(owner: Persona, post_ingest: IngestPoster) -> None:
    event = legacy_event(owner.tenant_id, owner.store_id, payload_hash="00" * 32)
    body = post_ingest(owner.client, {"events": [event]}).json()
    assert (body["events_accepted"], body["events_rejected"]) == (0, 1)
    assert body["assigned_sequence_start"] is None
    assert body["assigned_sequence_end"] is None
    [rejection] = body["rejections"]
    assert set(rejection) >= {"event_id", "reason", "message"}
    assert rejection["event_id"] == event["event_id"]
    assert rejection["reason"] == "InvalidPayloadHash"
    again = post_ingest(owner.client, {"events": [legacy_event(owner.tenant_id, owner.store_id)] * 2}).json()
    assert [r["reason"] for r in again["rejections"]] == ["DuplicateEventId"]


@pytest.mark.parametrize(
    ("mutate", "status"),
    [
        # the reference's extractor (serde): 422
        (lambda e, b: b.pop("events"), 422),
        (lambda e, b: b.update(events={}), 422),
        (lambda e, b: e.update(event_id="not-a-uuid"), 422),
        (lambda e, b: e.pop("entity_type"), 422),
        (lambda e, b: e.update(entity_id=5), 422),
        (lambda e, b: e.update(created_at="yesterday"), 422),
        (lambda e, b: e.update(payload_hash="0x" + "ab" * 32), 422),  # plain hex only
        (lambda e, b: e.update(base_version=-1), 422),
        (lambda e, b: b.update(agent_id="nope"), 422),
        # the reference's handler: 400
        (lambda e, b: e.update(entity_type="t" * 129), 400),
        (lambda e, b: e.update(event_type=""), 400),
        (lambda e, b: e.update(source_agent=str(uuid.uuid4())), 400),
        (lambda e, b: b["events"].append({**e, "event_id": str(uuid.uuid4()), "store_id": str(uuid.uuid4())}), 400),
    ],
)
def test_legacy_ingest_statuses(owner: Persona, post_ingest: IngestPoster, mutate: Any, status: int) -> None:
    event = legacy_event(owner.tenant_id, owner.store_id)
    body: dict[str, Any] = {"agent_id": str(uuid.uuid4()), "events": [event]}
    event["source_agent"] = body["agent_id"]
    mutate(event, body)
    _problem(post_ingest(owner.client, body), status)


def test_body_level_statuses_follow_the_extractor(owner: Persona) -> None:
    url = "/api/v1/events/ingest"
    assert _problem(owner.client.post(url, data="{not json", content_type="application/json"), 400) == "malformed_json"
    text = owner.client.post(url, data="{}", content_type="text/plain")
    assert _problem(text, 415) == "unsupported_media_type"
    assert _problem(owner.client.post(url, data="[]", content_type="application/json"), 422) == "invalid_request"


# --- reads -----------------------------------------------------------------------------------
def _stream_query(persona: Persona) -> str:
    return f"tenant_id={persona.tenant_id}&store_id={persona.store_id}"


def test_head_and_event_range_shapes(owner: Persona, post_ingest: IngestPoster) -> None:
    fresh = owner.client.get(f"/api/v1/head?{_stream_query(owner)}")
    assert fresh.json() == {"head_sequence": 0}
    event = legacy_event(owner.tenant_id, owner.store_id)
    post_ingest(owner.client, {"events": [event]})
    assert owner.client.get(f"/api/v1/head?{_stream_query(owner)}").json() == {"head_sequence": 1}

    page = owner.client.get(f"/api/v1/events?{_stream_query(owner)}&from=1&limit=10").json()
    assert page["count"] == 1
    [item] = page["events"]
    assert set(item) >= {"envelope", "sequenced_at"}
    envelope = item["envelope"]
    assert set(envelope) >= ENVELOPE
    assert envelope["sequence_number"] == 1
    assert envelope["event_id"] == event["event_id"]
    assert envelope["payload"] == event["payload"]
    assert HEX64.match(envelope["payload_hash"])
    assert _is_int(envelope["envelope_version"])
    assert _is_uuid(envelope["source_agent"])


@pytest.mark.parametrize(
    "query",
    ["store_id={store}", "tenant_id=nope&store_id={store}", "tenant_id={tenant}&store_id={store}&limit=0"],
)
def test_bad_read_queries_are_400(owner: Persona, query: str) -> None:
    q = query.format(tenant=owner.tenant_id, store=owner.store_id)
    _problem(owner.client.get(f"/api/v1/events?{q}"), 400)
    if "limit" not in q:
        _problem(owner.client.get(f"/api/v1/head?{q}"), 400)


def test_entity_history_shape_and_offset_paging(owner: Persona, post_ingest: IngestPoster) -> None:
    events = [legacy_event(owner.tenant_id, owner.store_id, entity_id="order-7") for _ in range(3)]
    post_ingest(owner.client, {"events": events})
    url = f"/api/v1/entities/order/order-7?{_stream_query(owner)}"
    body = owner.client.get(f"{url}&from=1&limit=1").json()
    assert set(body) >= {"entity_type", "entity_id", "events", "count", "total", "has_more"}
    assert (body["entity_type"], body["entity_id"]) == ("order", "order-7")
    assert (body["count"], body["total"], body["has_more"]) == (1, 3, True)
    assert body["events"][0]["envelope"]["sequence_number"] == 2  # `from` is an offset, not a sequence
    _problem(owner.client.get(f"/api/v1/entities/{'t' * 129}/x?{_stream_query(owner)}"), 400)


# --- POST /api/v1/ves/events/ingest ----------------------------------------------------------
@pytest.fixture
def agent(owner: Persona) -> Agent:
    agent = Agent(owner.tenant_id, owner.store_id)
    assert register_key(owner.client, owner.tenant_id, agent.agent_id, 1, agent.public_key).status_code in (200, 201)
    return agent


def test_ves_ingest_answers_camel_case_with_receipts(owner: Persona, agent: Agent) -> None:
    event = agent.event()
    response = post_ves(owner.client, agent.agent_id, [event])
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) >= VES_RESPONSE
    assert (body["eventsAccepted"], body["eventsRejected"]) == (1, 0)
    assert body["sequenceStart"] == body["sequenceEnd"] == body["headSequence"] == 1
    [receipt] = body["receipts"]
    assert set(receipt) >= RECEIPT
    assert receipt["eventId"] == event["event_id"]
    assert receipt["sequenceNumber"] == 1
    assert _is_uuid(receipt["sequencerId"])
    assert HEX64.match(receipt["receiptHash"])  # plain lowercase hex, no 0x
    assert receipt["signatureAlg"] in ("ed25519", "none")
    if receipt["signatureAlg"] == "ed25519":
        assert HEX128.match(receipt["sequencerSignature"])
    else:
        assert receipt["sequencerSignature"] == ""
    assert _is_int(receipt["sequencerKeyVersion"])
    # chrono's to_rfc3339, as the reference's ingest writes a receipt's time (not serde's Z)
    assert RFC3339_OFFSET.match(receipt["sequencedAt"]), receipt["sequencedAt"]
    # Beside its event (reads, bundles) the receipt's time is written as the event's, which
    # verifiers before 2026-12-07 compare as a string (an upgrade audit).
    read = owner.client.get(f"/api/v1/ves/events/{event['event_id']}").json()
    assert read["receipt"]["sequencedAt"] == read["sequenced_at"]
    assert read["sequenced_at"].endswith("Z")


def test_ves_rejections_are_snake_case_with_lower_case_reasons(owner: Persona, agent: Agent) -> None:
    event = agent.event()
    event["agent_signature"] = "0x" + "00" * 64
    body = post_ves(owner.client, agent.agent_id, [event]).json()
    assert (body["eventsAccepted"], body["eventsRejected"]) == (0, 1)
    [rejection] = body["rejections"]
    assert set(rejection) >= {"event_id", "reason", "message"}
    assert rejection["reason"] == "invalid_signature"


@pytest.mark.parametrize(
    ("mutate", "status"),
    [
        (lambda e, b: b.pop("agentId"), 422),
        (lambda e, b: e.update(payload_kind=7), 422),
        (lambda e, b: e.update(agent_key_id=-1), 422),
        (lambda e, b: e.pop("event_id"), 422),
        (lambda e, b: b.update(events=[]), 400),
        (lambda e, b: e.update(source_agent_id=str(uuid.uuid4())), 400),
        (lambda e, b: e.update(entity_id=""), 400),
        (lambda e, b: e.pop("payload"), 400),
    ],
)
def test_ves_ingest_statuses(owner: Persona, agent: Agent, mutate: Any, status: int) -> None:
    event = agent.event()
    body: dict[str, Any] = {"agentId": str(agent.agent_id), "events": [event]}
    mutate(event, body)
    response = owner.client.post("/api/v1/ves/events/ingest", data=orjson.dumps(body), content_type="application/json")
    _problem(response, status)


# --- POST /api/v1/agents/register ------------------------------------------------------------


def _register(body: Any, ip: str = "10.9.8.7") -> Any:
    return APIClient().post(
        "/api/v1/agents/register", data=orjson.dumps(body), content_type="application/json", REMOTE_ADDR=ip
    )


def test_registration_is_403_while_disabled(settings: Any, db: None) -> None:
    settings.PUBLIC_AGENT_REGISTRATION_ENABLED = False
    _problem(_register({"name": "a"}), 403)


@pytest.fixture
def open_registration(settings: Any, db: None) -> None:
    settings.PUBLIC_AGENT_REGISTRATION_ENABLED = True
    settings.RATE_LIMIT_WINDOW_SECONDS = 86_400


def test_registration_answers_the_reference_shape(open_registration: None) -> None:
    response = _register(
        {"name": "load-agent", "description": "d", "readOnly": True}, ip=f"10.1.{uuid.uuid4().int % 250}.1"
    )
    assert response.status_code == 200, response.content
    assert "no-store" in response["Cache-Control"]
    body = response.json()
    assert set(body) >= {"success", "agentId", "tenantId", "apiKey", "permissions", "message"}
    assert body["success"] is True
    assert _is_uuid(body["agentId"])
    assert _is_uuid(body["tenantId"])
    assert body["permissions"] == "read"
    assert body["apiKey"].startswith("ss_")


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({}, 422),  # name: String is required
        ({"name": 5}, 422),
        ({"name": "a", "readOnly": "yes"}, 422),
        ({"name": "a", "storeIds": ["nope"]}, 422),
        # Handler checks in the reference (400).
        ({"name": ""}, 400),
        ({"name": "n" * 129}, 400),
        ({"name": "a", "rateLimit": 0}, 400),
        ({"name": "a", "tenantId": str(uuid.uuid4())}, 400),
        ({"name": "a", "admin": True}, 403),
    ],
)
def test_registration_statuses(open_registration: None, body: dict[str, Any], status: int) -> None:
    _problem(_register(body, ip=f"10.2.{uuid.uuid4().int % 250}.1"), status)
