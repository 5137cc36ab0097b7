"""POST /api/v1/ves/events/ingest end to end: all 30 shared cases, every rejection, every error."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import orjson
import pytest
from django.db import connection
from django.test import override_settings
from rest_framework.test import APIClient

from tests.conftest import Persona, api_client
from tests.events.ves_helpers import Agent, post_ves, register_key, ves_head, ves_rows
from tests.tenants.factories import issue_key
from tests.ves.ves_case_vectors import CASES, unhex, wire_event
from ves.hashes import receipt_hash
from ves.hpke import derive_key_pair
from ves.rfc3339 import parse_rfc3339
from ves.signing import public_key_from_seed, verify

pytestmark = pytest.mark.django_db

SEQUENCER_SEED = bytes(range(32))


def _register_case(admin: APIClient, case: dict[str, Any]) -> None:
    for key_id in sorted({e["agent_key_id"] for e in case["events"]}):
        response = register_key(admin, case["tenant_id"], case["agent_id"], key_id, unhex(case["agent_public_key"]))
        assert response.status_code == 200, response.content


@override_settings(VES_SEQUENCER_SIGNING_KEY=SEQUENCER_SEED.hex())
@pytest.mark.parametrize("case", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_every_shared_case_gets_the_reference_receipts(admin_client: APIClient, case: dict[str, Any]) -> None:
    _register_case(admin_client, case)
    events = [wire_event(e) for e in case["events"]]

    response = post_ves(admin_client, case["agent_id"], events)

    assert response.status_code == 200, response.content
    body = response.json()
    n = len(events)
    assert body["eventsAccepted"] == n
    assert body["eventsRejected"] == 0
    assert "rejections" not in body
    assert (body["sequenceStart"], body["sequenceEnd"], body["headSequence"]) == (1, n, n)
    for receipt, event in zip(body["receipts"], case["events"], strict=True):
        assert receipt["eventId"] == event["event_id"]
        assert receipt["sequenceNumber"] == event["sequence_number"]
        assert receipt["receiptHash"] == event["receipt_hash"]
        assert receipt["signatureAlg"] == "ed25519"
        assert verify(
            public_key_from_seed(SEQUENCER_SEED),
            bytes.fromhex(receipt["receiptHash"]),
            bytes.fromhex(receipt["sequencerSignature"]),
        )
    assert ves_head(case["tenant_id"], case["store_id"]) == n

    # reads return the envelope as submitted, with the stored receipt
    listed = admin_client.get(
        f"/api/v1/ves/events?tenant_id={case['tenant_id']}&store_id={case['store_id']}&from=1&limit=1000"
    ).json()
    assert listed["count"] == n
    for item, sent, receipt in zip(listed["events"], events, body["receipts"], strict=True):
        expected = orjson.loads(orjson.dumps(sent))
        for name in ("payload_plain_hash", "payload_cipher_hash", "agent_signature"):
            expected[name] = "0x" + expected[name].removeprefix("0x").lower()  # output is always 0x hex
        assert orjson.loads(orjson.dumps(item["envelope"])) == expected
        # the stored receipt, its time written as the event's (Z) beside it, +00:00 in ingest's answer
        assert item["receipt"] == {**receipt, "sequencedAt": item["sequenced_at"]}
        assert parse_rfc3339(receipt["sequencedAt"]) == parse_rfc3339(item["sequenced_at"])

    # an exact replay of the whole request: same receipts, nothing accepted or rejected
    replay = post_ves(admin_client, case["agent_id"], events).json()
    assert (replay["eventsAccepted"], replay["eventsRejected"]) == (0, 0)
    assert replay["receipts"] == body["receipts"]
    assert ves_head(case["tenant_id"], case["store_id"]) == n


@pytest.fixture
def agent(owner: Persona) -> Agent:
    agent = Agent(owner.tenant_id, owner.store_id)
    assert register_key(owner.client, owner.tenant_id, agent.agent_id, 1, agent.public_key).status_code == 200
    return agent


def _rejections(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["eventsAccepted"] == 0
    return [r["reason"] for r in body["rejections"]]


def _assert_nothing_stored(agent: Agent) -> None:
    assert ves_rows(agent.tenant_id) == 0
    assert ves_head(agent.tenant_id, agent.store_id) == 0


def test_unsigned_receipts_without_a_sequencer_key(owner: Persona, agent: Agent, settings: Any) -> None:
    settings.VES_SEQUENCER_SIGNING_KEY = ""
    event = agent.event()
    body = post_ves(owner.client, agent.agent_id, [event]).json()

    receipt = body["receipts"][0]
    assert (receipt["signatureAlg"], receipt["sequencerSignature"]) == ("none", "")
    signing_hash = bytes.fromhex(
        owner.client.get(f"/api/v1/ves/events/{event['event_id']}").json()["event_signing_hash"][2:]
    )
    assert (
        receipt["receiptHash"]
        == receipt_hash(agent.tenant_id, agent.store_id, uuid.UUID(event["event_id"]), 1, signing_hash).hex()
    )


def test_hex_without_0x_and_in_upper_case_is_accepted(owner: Persona, agent: Agent) -> None:
    event = agent.event()
    for name in ("payload_plain_hash", "payload_cipher_hash", "agent_signature"):
        event[name] = event[name][2:].upper()
    assert post_ves(owner.client, agent.agent_id, [event]).json()["eventsAccepted"] == 1


def test_a_tampered_signature_is_rejected(owner: Persona, agent: Agent) -> None:
    event = agent.event()
    signature = bytearray(bytes.fromhex(event["agent_signature"][2:]))
    signature[10] ^= 1
    event["agent_signature"] = signature.hex()

    assert _rejections(post_ves(owner.client, agent.agent_id, [event])) == ["invalid_signature"]
    _assert_nothing_stored(agent)
    with connection.cursor() as cursor:  # the dead-letter log keeps the body, in the VES stream kind
        cursor.execute(
            "SELECT stream_kind, reason, event_id FROM rejected_events WHERE tenant_id = %s", [agent.tenant_id]
        )
        assert cursor.fetchall() == [(2, "invalid_signature", uuid.UUID(event["event_id"]))]


def test_a_signature_over_other_fields_is_rejected(owner: Persona, agent: Agent) -> None:
    event = agent.event()
    event["entity_id"] = "someone-else"
    assert _rejections(post_ves(owner.client, agent.agent_id, [event])) == ["invalid_signature"]
    _assert_nothing_stored(agent)


def test_an_unknown_key_id_is_rejected(owner: Persona, agent: Agent) -> None:
    assert _rejections(post_ves(owner.client, agent.agent_id, [agent.event(key_id=2)])) == [
        "agent_key_invalid: Agent key not found"
    ]
    _assert_nothing_stored(agent)


def test_a_revoked_key_stops_verifying_at_once(owner: Persona, agent: Agent) -> None:
    assert post_ves(owner.client, agent.agent_id, [agent.event()]).json()["eventsAccepted"] == 1
    revoked = owner.client.delete(f"/api/v1/agents/{agent.agent_id}/keys/1?tenant_id={agent.tenant_id}")
    assert revoked.status_code == 200, revoked.content
    assert revoked.json()["status"] == "revoked"

    assert _rejections(post_ves(owner.client, agent.agent_id, [agent.event()])) == [
        "agent_key_invalid: Agent key has been revoked"
    ]
    assert ves_rows(agent.tenant_id) == 1


def test_an_expired_and_a_not_yet_valid_key_are_rejected(owner: Persona) -> None:
    agent = Agent(owner.tenant_id, owner.store_id)
    register_key(
        owner.client,
        owner.tenant_id,
        agent.agent_id,
        1,
        agent.public_key,
        validFrom="2020-01-01T00:00:00Z",
        validTo="2021-01-01T00:00:00Z",
    )
    register_key(owner.client, owner.tenant_id, agent.agent_id, 2, agent.public_key, validFrom="2999-01-01T00:00:00Z")

    reasons = _rejections(post_ves(owner.client, agent.agent_id, [agent.event(key_id=1), agent.event(key_id=2)]))

    assert reasons == ["agent_key_invalid: Agent key has expired", "agent_key_invalid: Agent key is not yet valid"]
    _assert_nothing_stored(agent)


def test_a_wrong_payload_hash_is_rejected_before_the_signature(owner: Persona, agent: Agent) -> None:
    event = agent.event({"total": 42})
    event["payload"] = {"total": 43}
    assert _rejections(post_ves(owner.client, agent.agent_id, [event])) == ["invalid_payload_hash"]
    _assert_nothing_stored(agent)


def test_encrypted_events_are_accepted_and_a_wrong_cipher_hash_is_rejected(owner: Persona, agent: Agent) -> None:
    recipient = derive_key_pair(b"recipient")
    good = agent.event({"secret": 1}, encrypted_for=[(5, recipient[1])])
    bad = agent.event({"secret": 2}, encrypted_for=[(5, recipient[1])])
    bad["payload_encrypted"]["tag_b64u"] = good["payload_encrypted"]["tag_b64u"]

    body = post_ves(owner.client, agent.agent_id, [good, bad]).json()

    assert body["eventsAccepted"] == 1
    assert [r["reason"] for r in body["rejections"]] == ["invalid_cipher_hash"]
    stored = owner.client.get(f"/api/v1/ves/events/{good['event_id']}").json()
    assert stored["envelope"]["payload_encrypted"] == good["payload_encrypted"]
    assert "payload" not in stored["envelope"]


def test_each_stored_event_keeps_its_own_payload_in_a_mixed_batch(owner: Persona, agent: Agent) -> None:
    """Plaintext payloads travel beside the rows in request order: with encrypted and rejected
    events between them, each accepted event reads back its own."""
    recipient = derive_key_pair(b"recipient")
    first = agent.event({"n": 1, "note": "first"})
    sealed = agent.event({"n": 2}, encrypted_for=[(5, recipient[1])])
    refused = agent.event({"n": 3})
    refused["payload_plain_hash"] = "0x" + "00" * 32
    last = agent.event({"n": 4, "lines": [{"sku": "a", "price": 9.5}]})

    body = post_ves(owner.client, agent.agent_id, [first, sealed, refused, last]).json()

    assert body["eventsAccepted"] == 3
    read = {
        e["event_id"]: owner.client.get(f"/api/v1/ves/events/{e['event_id']}").json()["envelope"]
        for e in (first, sealed, last)
    }
    assert read[first["event_id"]]["payload"] == {"n": 1, "note": "first"}
    assert read[last["event_id"]]["payload"] == {"n": 4, "lines": [{"sku": "a", "price": 9.5}]}
    assert "payload" not in read[sealed["event_id"]]
    assert read[sealed["event_id"]]["payload_encrypted"] == sealed["payload_encrypted"]
    assert owner.client.get(f"/api/v1/ves/events/{refused['event_id']}").status_code == 404


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (
            lambda s: s["recipients"].append(dict(s["recipients"][0])),
            "schema_validation: payload_encrypted.recipients[1].recipient_kid",
        ),
        (lambda s: s.update(nonce_b64u="AAAA"), "schema_validation: payload_encrypted.nonce_b64u"),
        (lambda s: s["hpke"].update(kdf="HKDF-SHA512"), "schema_validation: payload_encrypted.hpke.kdf"),
        (lambda s: s.update(recipients=[]), "schema_validation: payload_encrypted.recipients"),
    ],
)
def test_a_malformed_encrypted_structure_is_rejected(owner: Persona, agent: Agent, mutate: Any, reason: str) -> None:
    event = agent.event({"secret": 1}, encrypted_for=[(5, derive_key_pair(b"r")[1])])
    mutate(event["payload_encrypted"])
    assert _rejections(post_ves(owner.client, agent.agent_id, [event])) == [reason]
    _assert_nothing_stored(agent)


def test_per_event_checks_in_the_reference_order(owner: Persona, agent: Agent) -> None:
    plain_with_cipher = agent.event()
    plain_with_cipher["payload_cipher_hash"] = "0x" + "11" * 32
    encrypted_with_payload = agent.event({"a": 1}, encrypted_for=[(1, derive_key_pair(b"r")[1])])
    encrypted_with_payload["payload"] = {"a": 1}
    events = [
        agent.event(ves_version=2),
        plain_with_cipher,
        encrypted_with_payload,
        agent.event(created_at="2025-13-01 bad"),
        agent.event(created_at="2025-01-01"),
    ]
    assert _rejections(post_ves(owner.client, agent.agent_id, events)) == [
        "unsupported_version",
        "schema_validation: payload_cipher_hash",
        "schema_validation: payload",
        "schema_validation: created_at",
        "schema_validation: created_at",
    ]
    _assert_nothing_stored(agent)


def test_created_at_is_kept_verbatim(owner: Persona, agent: Agent) -> None:
    event = agent.event(created_at="2025-06-01T12:00:00.000001000+00:00")
    post_ves(owner.client, agent.agent_id, [event])
    assert owner.client.get(f"/api/v1/ves/events/{event['event_id']}").json()["envelope"]["created_at"] == (
        "2025-06-01T12:00:00.000001000+00:00"
    )


@pytest.mark.parametrize(
    "created_at", ["2026-01-01T00:00:00+16:00", "2026-01-01T00:00:00-23:59", "0001-01-01T23:59:59+23:59"]
)
def test_every_rfc3339_offset_is_stored_with_its_batch(owner: Persona, agent: Agent, created_at: str) -> None:
    """RFC 3339 allows offsets to ±23:59; PostgreSQL's timestamptz input only to ±15:59. Such an
    event once failed its whole batch with a 500; now it is stored as its UTC instant, kept verbatim."""
    events = [agent.event(), agent.event(created_at=created_at)]
    response = post_ves(owner.client, agent.agent_id, events)
    assert response.status_code == 200, response.content
    assert response.json()["eventsAccepted"] == 2
    stored = owner.client.get(f"/api/v1/ves/events/{events[1]['event_id']}").json()
    assert stored["envelope"]["created_at"] == created_at


def test_replays_duplicates_commands_and_versions(owner: Persona, agent: Agent) -> None:
    command = str(uuid.uuid4())
    first = agent.event(entity_id="order-1", base_version=0, command_id=command)
    accepted = post_ves(owner.client, agent.agent_id, [first]).json()
    changed = copy.deepcopy(first)
    changed["base_version"] = 5  # unsigned field, still a different event
    events = [
        first,  # exact replay
        changed,  # same id, other content
        agent.event(entity_id="order-2", command_id=command),  # command already used
        agent.event(entity_id="order-1", base_version=0),  # stale version
        agent.event(entity_id="order-1", base_version=1),  # correct
    ]

    body = post_ves(owner.client, agent.agent_id, events).json()

    assert body["eventsAccepted"] == 1
    assert body["eventsRejected"] == 3
    assert [r["reason"] for r in body["rejections"]] == [
        "duplicate_event_id",
        "duplicate_command_id",
        "version_conflict: expected 0, actual 1",
    ]
    assert body["receipts"][0] == accepted["receipts"][0]
    assert body["receipts"][1]["sequenceNumber"] == 2
    assert ves_head(agent.tenant_id, agent.store_id) == 2


def test_a_replay_is_answered_even_after_the_key_is_revoked(owner: Persona, agent: Agent) -> None:
    event = agent.event()
    original = post_ves(owner.client, agent.agent_id, [event]).json()
    owner.client.delete(f"/api/v1/agents/{agent.agent_id}/keys/1?tenant_id={agent.tenant_id}")

    replay = post_ves(owner.client, agent.agent_id, [event]).json()

    assert (replay["eventsAccepted"], replay["eventsRejected"]) == (0, 0)
    assert replay["receipts"] == original["receipts"]


# ---- request-level errors (problem+json) ---------------------------------------------------


def _problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    return body


def test_request_level_errors(owner: Persona, agent: Agent, outsider: Persona) -> None:
    client = owner.client
    _problem(post_ves(client, agent.agent_id, []), 400, "empty_batch")
    other_store = Agent(owner.tenant_id, uuid.uuid4(), agent_id=agent.agent_id, seed=agent.seed)
    _problem(post_ves(client, agent.agent_id, [agent.event(), other_store.event()]), 400, "mixed_stream")
    _problem(post_ves(client, uuid.uuid4(), [agent.event()]), 400, "source_agent_mismatch")
    _problem(post_ves(outsider.client, agent.agent_id, [agent.event()]), 403, "tenant_access_denied")
    scoped = api_client(issue_key(owner.tenant, can_write=True, agent_id=uuid.uuid4()))
    _problem(post_ves(scoped, agent.agent_id, [agent.event()]), 403, "agent_scope_denied")
    reader = api_client(issue_key(owner.tenant, can_write=False))
    _problem(post_ves(reader, agent.agent_id, [agent.event()]), 403, "permission_denied")
    _problem(post_ves(client, agent.agent_id, [agent.event(entity_type="€" * 43)]), 400, "invalid_field_length")
    _problem(post_ves(client, agent.agent_id, [agent.event(event_type="")]), 400, "invalid_field_length")
    _problem(post_ves(client, agent.agent_id, [agent.event(entity_id="a\x00b")]), 400, "invalid_field")
    missing = agent.event()
    del missing["payload"]
    _problem(post_ves(client, agent.agent_id, [missing]), 400, "missing_payload")
    for kind in (2, 0.0, 1.0, True):  # an integer type, as agent_key_id and ves_version (0.0 was once taken)
        wrong_kind = agent.event()
        wrong_kind["payload_kind"] = kind
        _problem(post_ves(client, agent.agent_id, [wrong_kind]), 422, "invalid_request")
    for bad_hex in ("0x1234", agent.event()["agent_signature"] + "\n"):
        bad_sig = agent.event()
        bad_sig["agent_signature"] = bad_hex
        _problem(post_ves(client, agent.agent_id, [bad_sig]), 422, "invalid_request")
    _problem(
        client.post("/api/v1/ves/events/ingest", data=b"{", content_type="application/json"), 400, "malformed_json"
    )
    with override_settings(MAX_EVENTS_PER_BATCH=2):
        _problem(post_ves(client, agent.agent_id, [agent.event() for _ in range(3)]), 413, "too_many_events")
    with override_settings(MAX_EVENT_PAYLOAD_SIZE=100):
        _problem(post_ves(client, agent.agent_id, [agent.event({"blob": "x" * 200})]), 413, "event_payload_too_large")
        big = agent.event({"blob": "x" * 200}, encrypted_for=[(1, derive_key_pair(b"r")[1])])
        _problem(post_ves(client, agent.agent_id, [big]), 413, "event_payload_too_large")
    _assert_nothing_stored(agent)


def test_reads_are_scoped_to_the_tenant(owner: Persona, agent: Agent, outsider: Persona) -> None:
    event = agent.event()
    post_ves(owner.client, agent.agent_id, [event])

    assert outsider.client.get(f"/api/v1/ves/events/{event['event_id']}").status_code == 404
    _problem(
        outsider.client.get(f"/api/v1/ves/events?tenant_id={agent.tenant_id}&store_id={agent.store_id}"),
        403,
        "tenant_access_denied",
    )
    assert owner.client.get(f"/api/v1/ves/events/{uuid.uuid4()}").status_code == 404


def test_accepted_and_rejected_events_are_counted_under_ves(owner: Persona, agent: Agent) -> None:
    """The VES answer says ``eventsAccepted``: its events were once never counted at all."""
    from prometheus_client import REGISTRY

    from sequencer_project.metrics import TALLY

    def sample(outcome: str) -> float:
        TALLY.flush()
        return REGISTRY.get_sample_value("ingest_events_total", {"endpoint": "ves", "outcome": outcome}) or 0.0

    before = sample("accepted"), sample("rejected")
    forged = agent.event()
    forged["agent_signature"] = "0x" + "00" * 64

    response = post_ves(owner.client, agent.agent_id, [agent.event(), agent.event(), forged])

    assert (response.json()["eventsAccepted"], response.json()["eventsRejected"]) == (2, 1)
    assert (sample("accepted"), sample("rejected")) == (before[0] + 2, before[1] + 1)


def test_unknown_members_of_an_encrypted_payload_never_make_a_resend_a_duplicate(owner: Persona, agent: Agent) -> None:
    """They are dropped from what is stored (as the reference's struct drops them) and not signed:
    a resend with or without them, or of the event as read back, is a replay."""
    recipient = derive_key_pair(b"recipient")
    with_extra = agent.event({"secret": 1}, encrypted_for=[(5, recipient[1])])
    with_extra["payload_encrypted"]["extra"] = 1
    plain = agent.event({"secret": 2}, encrypted_for=[(5, recipient[1])])
    assert post_ves(owner.client, agent.agent_id, [with_extra, plain]).json()["eventsAccepted"] == 2
    read_back = owner.client.get(f"/api/v1/ves/events/{with_extra['event_id']}").json()["envelope"]
    plain["payload_encrypted"]["recipients"][0]["note"] = "x"

    body = post_ves(owner.client, agent.agent_id, [read_back, plain]).json()

    assert (body["eventsAccepted"], body["eventsRejected"]) == (0, 0)
    assert [(r["eventId"], r["sequenceNumber"]) for r in body["receipts"]] == [
        (str(with_extra["event_id"]), 1),
        (str(plain["event_id"]), 2),
    ]
