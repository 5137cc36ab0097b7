"""Values PostgreSQL cannot store, deep documents and hostile schemas (ADR 0016): never a 500.

* A payload holding U+0000 rejects its event (legacy ``InvalidPayload``, VES ``invalid_payload``)
  while the other events of the request are sequenced; the rejection is in the rejection log.
* Bodies nest at most ``MAX_JSON_DEPTH`` levels; below that, payloads validated against
  recursive schemas and schemas nested through their keywords are handled.
* A schema whose evaluation cannot end or whose ``$ref`` resolves nowhere is refused at
  registration, or rejects the events it cannot evaluate.
* A dead letter keeps the database error's SQLSTATE and primary message, never its context.
"""

from __future__ import annotations

import dataclasses
import uuid
from importlib import import_module
from typing import Any

import orjson
import pytest
from django.db import connection
from django.utils import timezone

from events.envelopes import parse_legacy_request
from events.models import ProjectionDeadLetter
from events.projections.entity_state import ENTITY_STATE
from events.services.ingest import event_ingest_legacy
from events.services.projections import projection_advance
from schemas.models import EventSchema
from sequencer_project.api.json_limits import MAX_JSON_DEPTH
from tests.conftest import IngestPoster, Persona, legacy_event
from tests.events.ves_helpers import Agent, post_ves, register_key

pytestmark = pytest.mark.django_db


def _post(persona: Persona, path: str, body: Any) -> Any:
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    return persona.client.post(path, data=data, content_type="application/json")


def _rejections(tenant_id: uuid.UUID) -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT event_id::text, reason FROM rejected_events WHERE tenant_id = %s ORDER BY 1", [tenant_id]
        )
        return [(row[0], row[1]) for row in cursor.fetchall()]


def _levels(levels: int) -> Any:
    value: Any = {"leaf": True}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


@pytest.mark.parametrize("payload", [{"note": "a\x00b"}, {"k\x00": 1}, {"a": [{"b": ["\x00"]}]}, "\x00"])
def test_a_legacy_payload_with_nul_rejects_its_event_and_the_others_are_sequenced(
    owner: Persona, post_ingest: IngestPoster, payload: Any
) -> None:
    events = [
        legacy_event(owner.tenant_id, owner.store_id, entity_id="order-1", payload={"a": 1}),
        legacy_event(owner.tenant_id, owner.store_id, entity_id="order-1", payload=payload),
        legacy_event(owner.tenant_id, owner.store_id, entity_id="order-1", payload={"b": 2}),
    ]

    response = post_ingest(owner.client, {"events": events})

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["events_accepted"], body["assigned_sequence_start"], body["assigned_sequence_end"]) == (2, 1, 2)
    [rejection] = body["rejections"]
    assert (rejection["event_id"], rejection["reason"]) == (events[1]["event_id"], "InvalidPayload")
    assert "U+0000" in rejection["message"]
    assert _rejections(owner.tenant_id) == [(events[1]["event_id"], "InvalidPayload")]
    stored = owner.client.get(f"/api/v1/events/{events[2]['event_id']}").json()
    assert stored["envelope"]["payload"] == {"b": 2}


def test_a_ves_payload_with_nul_rejects_its_event_and_the_others_are_sequenced(owner: Persona) -> None:
    agent = Agent(owner.tenant_id, owner.store_id)
    assert register_key(owner.client, owner.tenant_id, agent.agent_id, 1, agent.public_key).status_code == 200
    events = [agent.event({"a": 1}), agent.event({"note": "x\x00"}), agent.event({"b": 2})]

    response = post_ves(owner.client, agent.agent_id, events)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["eventsAccepted"] == 2
    assert [(r["event_id"], r["reason"]) for r in body["rejections"]] == [
        (str(events[1]["event_id"]), "invalid_payload")
    ]
    assert _rejections(owner.tenant_id) == [(str(events[1]["event_id"]), "invalid_payload")]


def test_nul_outside_ingest_payloads_is_refused_with_its_field(owner: Persona) -> None:
    body = {"tenantId": str(owner.tenant_id), "eventType": "t", "schemaJson": {"type": "object"}, "description": "\x00"}

    response = _post(owner, "/api/v1/schemas", body)

    assert response.status_code == 400
    assert (response.json()["code"], response.json()["field"]) == ("invalid_field", "description")


def _schema(owner: Persona, event_type: str, schema: Any) -> Any:
    return _post(
        owner, "/api/v1/schemas", {"tenantId": str(owner.tenant_id), "eventType": event_type, "schemaJson": schema}
    )


def test_a_deep_payload_meets_a_recursive_schema_on_validate_and_on_ingest(
    owner: Persona, post_ingest: IngestPoster
) -> None:
    recursive = {"anyOf": [{"type": "integer"}, {"type": "object", "properties": {"a": {"$ref": "#"}}}]}
    assert _schema(owner, "deep.thing", recursive).status_code == 200
    payload = _levels(MAX_JSON_DEPTH - 3)  # {"events": [{"payload": ...}]} takes three levels

    validated = _post(
        owner,
        "/api/v1/schemas/validate",
        {"tenantId": str(owner.tenant_id), "eventType": "deep.thing", "payload": payload},
    )
    event = legacy_event(owner.tenant_id, owner.store_id, event_type="deep.thing", payload=payload)
    ingested = post_ingest(owner.client, {"events": [event]})
    too_deep = post_ingest(owner.client, {"events": [{**event, "payload": {"a": payload}}]})

    assert (validated.status_code, validated.json()["valid"]) == (200, True)
    assert (ingested.status_code, ingested.json()["events_accepted"]) == (200, 1)
    assert (too_deep.status_code, too_deep.json()["code"]) == (400, "json_too_deep")


def test_a_schema_nested_through_its_keywords_is_bounded_by_the_body_limit(owner: Persona) -> None:
    def nested_properties(levels: int) -> Any:
        schema: Any = {"type": "integer"}
        for _ in range(levels):
            schema = {"type": "object", "properties": {"a": schema}}
        return schema

    # {"tenantId", "schemaJson": ...} adds one level; each properties level adds two.
    fits = _schema(owner, "nested.fits", nested_properties((MAX_JSON_DEPTH - 1) // 2))
    deep = _schema(owner, "nested.deep", nested_properties(100))

    assert fits.status_code == 200, fits.content
    assert (deep.status_code, deep.json()["code"]) == (400, "json_too_deep")


@pytest.mark.parametrize(
    "schema",
    [
        {"$ref": "#"},
        {"allOf": [{"$ref": "#"}]},
        {"$ref": "#/definitions/missing"},
        {"$ref": "https://example.com/schema.json"},
        {"$dynamicRef": "#nowhere"},
        {"$schema": 5},
    ],
)
def test_a_schema_that_cannot_be_evaluated_is_refused_at_registration(owner: Persona, schema: Any) -> None:
    response = _schema(owner, "broken.thing", schema)

    assert (response.status_code, response.json()["code"]) == (400, "invalid_schema"), response.content


def test_a_reference_only_some_payloads_reach_rejects_those_events(owner: Persona, post_ingest: IngestPoster) -> None:
    """Registration refuses a reference that leaves the schema; a version stored before it did
    (written through the model here) rejects exactly the events that reach the reference."""
    schema = {"type": "object", "properties": {"a": {"$ref": "https://example.com/schema.json"}}}
    assert _schema(owner, "remote.thing", schema).json()["code"] == "invalid_schema"
    EventSchema.objects.create(tenant_id=owner.tenant_id, event_type="remote.thing", version=1, schema_json=schema)
    good = legacy_event(owner.tenant_id, owner.store_id, event_type="remote.thing", payload={"b": 1})
    bad = legacy_event(owner.tenant_id, owner.store_id, event_type="remote.thing", payload={"a": 1})

    validated = _post(
        owner,
        "/api/v1/schemas/validate",
        {"tenantId": str(owner.tenant_id), "eventType": "remote.thing", "payload": {"a": 1}},
    )
    ingested = post_ingest(owner.client, {"events": [good, bad]})

    assert (validated.status_code, validated.json()["valid"]) == (200, False)
    assert "resolves nowhere" in validated.json()["errors"][0]["message"]
    assert ingested.status_code == 200, ingested.content
    assert ingested.json()["events_accepted"] == 1
    assert [r["reason"] for r in ingested.json()["rejections"]] == ["SchemaValidation"]


def test_a_dead_letter_keeps_the_sqlstate_and_primary_message_only(owner: Persona, settings: Any) -> None:
    """A legacy event stored before payloads holding NUL were rejected dead-letters in a plain
    entity_state (jsonb refuses it; a sealed state is bytes and holds it); neither the stored
    entry nor the retry answer quotes the statement's data."""
    # The entity's second event: its first alone would be stored by reference, unmerged (ADR 0036).
    first = legacy_event(owner.tenant_id, owner.store_id, entity_id="order-nul", payload={"total": 1})
    event = legacy_event(owner.tenant_id, owner.store_id, entity_id="order-nul", payload={"secret-data": "x\x00y"})
    parsed = parse_legacy_request(
        {"events": [first, event]}, max_events=10, max_payload_bytes=settings.MAX_EVENT_PAYLOAD_SIZE
    )
    old_style = [dataclasses.replace(e, payload_problem=None) for e in parsed.events]
    assert (
        event_ingest_legacy(tenant_id=owner.tenant_id, store_id=owner.store_id, events=old_style, actor="test").accepted
        == 2
    )
    settings.PAYLOAD_ENCRYPTION_MODE = "disabled"  # states stored plain (the sealed payload still opens)

    projection_advance(projection=ENTITY_STATE, tenant_id=owner.tenant_id, store_id=owner.store_id, batch_size=10)
    entry = ProjectionDeadLetter.objects.get(tenant_id=owner.tenant_id)
    response = owner.client.post(f"/api/v1/admin/dlq/{entry.id}/retry")

    assert response.status_code == 200, response.content
    returned = response.json()["entry"]
    entry.refresh_from_db()
    for error_class, message in (
        (entry.error_class, entry.error_message),
        (returned["error_class"], returned["error_message"]),
    ):
        assert error_class == "django.db.utils.DataError"
        assert message == "SQLSTATE 22P05: unsupported Unicode escape sequence"
    assert response.json()["succeeded"] is False


def test_the_migration_strips_statement_data_from_stored_dead_letters(owner: Persona) -> None:
    strip = import_module("events.migrations.0005_dead_letter_messages_without_sql").STRIP_CONTEXT
    now = timezone.now()
    common = {
        "projection": ENTITY_STATE,
        "tenant_id": owner.tenant_id,
        "store_id": owner.store_id,
        "stream_kind": 1,
        "event_id": uuid.uuid4(),
        "attempts": 1,
        "first_failed_at": now,
        "last_failed_at": now,
    }
    database = ProjectionDeadLetter.objects.create(
        **common,
        sequence_number=1,
        error_class="django.db.utils.DataError",
        error_message='unsupported Unicode escape sequence\nDETAIL:  x\nCONTEXT:  JSON data, line 1: {"secret"...',
    )
    other = ProjectionDeadLetter.objects.create(
        **common, sequence_number=2, error_class="builtins.ValueError", error_message="line one\nline two"
    )

    with connection.cursor() as cursor:
        cursor.execute(strip)

    database.refresh_from_db()
    other.refresh_from_db()
    assert (database.error_message, other.error_message) == (
        "unsupported Unicode escape sequence",
        "line one\nline two",
    )
