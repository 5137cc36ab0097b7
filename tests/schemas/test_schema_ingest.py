"""Schema validation on both ingest paths, in every mode, with the rejection log."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import override_settings

from tests.conftest import IngestPoster, Persona, legacy_event
from tests.events.ves_helpers import Agent, post_ves, register_key
from tests.schemas.helpers import register, set_mode

pytestmark = pytest.mark.django_db

GOOD = {"total": 3, "currency": "USD"}
BAD = {"total": "three"}


def _logged(persona: Persona) -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reason, message FROM rejected_events WHERE tenant_id = %s ORDER BY rejection_id",
            [persona.tenant_id],
        )
        return [(r, m) for r, m in cursor.fetchall()]


def _legacy(persona: Persona, post_ingest: IngestPoster, payloads: list[Any], event_type: str = "order.created") -> Any:
    events = [legacy_event(persona.tenant_id, persona.store_id, payload=p, event_type=event_type) for p in payloads]
    response = post_ingest(persona.client, {"events": events})
    assert response.status_code == 200, response.content
    return response.json()


def test_enforce_rejects_a_bad_payload_with_its_paths(owner: Persona, post_ingest: IngestPoster) -> None:
    register(owner.client, owner.tenant_id)

    body = _legacy(owner, post_ingest, [GOOD, BAD, {"anything": True}])

    assert body["events_accepted"] == 1
    assert [r["reason"] for r in body["rejections"]] == ["SchemaValidation", "SchemaValidation"]
    first = body["rejections"][0]["message"]
    # The reference's wording, with JSON Pointer paths (the root is "")
    assert (
        first == 'Schema validation failed for event type \'order.created\': /total: "three" is not of type "integer"'
    )
    second = body["rejections"][1]["message"]
    assert second == "Schema validation failed for event type 'order.created': : \"total\" is a required property"
    assert [reason for reason, _ in _logged(owner)] == ["SchemaValidation", "SchemaValidation"]
    # event types without a schema are not validated in enforce mode
    assert _legacy(owner, post_ingest, [BAD], event_type="order.noted")["events_accepted"] == 1


def test_warn_accepts_and_logs(owner: Persona, post_ingest: IngestPoster, caplog: pytest.LogCaptureFixture) -> None:
    register(owner.client, owner.tenant_id)
    set_mode(owner.client, owner.tenant_id, "warn")

    body = _legacy(owner, post_ingest, [BAD])

    assert body["events_accepted"] == 1
    # Logged redacted: the path and the rule, not the payload's value (docs/schemas.md)
    assert '/total: fails type "integer"' in caplog.text
    assert "three" not in caplog.text
    assert _logged(owner) == []


def test_disabled_skips_validation(owner: Persona, post_ingest: IngestPoster) -> None:
    register(owner.client, owner.tenant_id)
    set_mode(owner.client, owner.tenant_id, "off")

    assert _legacy(owner, post_ingest, [BAD])["events_accepted"] == 1


def test_required_rejects_types_without_a_schema(owner: Persona, post_ingest: IngestPoster) -> None:
    register(owner.client, owner.tenant_id)
    set_mode(owner.client, owner.tenant_id, "required")

    body = _legacy(owner, post_ingest, [GOOD, GOOD], event_type="order.noted")
    assert body["events_accepted"] == 0
    assert body["rejections"][0]["message"] == "No schema registered for event type 'order.noted'"
    assert _legacy(owner, post_ingest, [GOOD])["events_accepted"] == 1


@pytest.mark.django_db(transaction=True)  # caches are invalidated on commit
@override_settings(SCHEMA_VALIDATION_MODE="disabled")
def test_the_global_mode_applies_without_an_override(owner: Persona, post_ingest: IngestPoster) -> None:
    register(owner.client, owner.tenant_id)
    assert _legacy(owner, post_ingest, [BAD])["events_accepted"] == 1
    set_mode(owner.client, owner.tenant_id, "enforce")
    assert _legacy(owner, post_ingest, [BAD])["events_accepted"] == 0


def test_an_exact_replay_is_answered_even_if_a_schema_now_refuses_it(owner: Persona, post_ingest: IngestPoster) -> None:
    event = legacy_event(owner.tenant_id, owner.store_id, payload=BAD)
    assert post_ingest(owner.client, {"events": [event]}).json()["events_accepted"] == 1
    register(owner.client, owner.tenant_id)

    replay = post_ingest(owner.client, {"events": [event]}).json()

    assert replay["events_rejected"] == 0
    assert replay["receipts"][0]["replayed"] is True


# --- VES ----------------------------------------------------------------------------------


@pytest.fixture
def agent(owner: Persona) -> Agent:
    agent = Agent(owner.tenant_id, owner.store_id)
    assert register_key(owner.client, owner.tenant_id, agent.agent_id, 1, agent.public_key).status_code == 200
    return agent


def _ves(owner: Persona, agent: Agent, events: list[dict[str, Any]]) -> dict[str, Any]:
    response = post_ves(owner.client, agent.agent_id, events)
    assert response.status_code == 200, response.content
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize(
    ("mode", "accepted", "reasons", "stored"),
    [
        (
            "enforce",
            1,
            ['schema_validation: /total: "three" is not of type "integer"'],
            ['schema_validation: /total: fails type "integer"'],
        ),
        (
            "strict",
            1,
            ['schema_validation: /total: "three" is not of type "integer"'],
            ['schema_validation: /total: fails type "integer"'],
        ),
        ("warn", 2, [], []),
        ("disabled", 2, [], []),
    ],
)
def test_ves_modes(
    owner: Persona, agent: Agent, mode: str, accepted: int, reasons: list[str], stored: list[str]
) -> None:
    register(owner.client, owner.tenant_id)
    set_mode(owner.client, owner.tenant_id, mode)

    body = _ves(owner, agent, [agent.event(GOOD), agent.event(BAD)])

    assert body["eventsAccepted"] == accepted
    assert [r["reason"] for r in body.get("rejections", [])] == reasons
    # Stored redacted: the path and the rule, not the payload's value (docs/schemas.md)
    assert [reason for reason, _ in _logged(owner)] == stored


@pytest.mark.django_db(transaction=True)  # caches are invalidated on commit
def test_ves_required_mode_and_encrypted_events(owner: Persona, agent: Agent) -> None:
    from ves.hpke import derive_key_pair

    recipient = derive_key_pair(b"recipient")
    set_mode(owner.client, owner.tenant_id, "required")

    body = _ves(owner, agent, [agent.event(GOOD), agent.event(BAD, encrypted_for=[(5, recipient[1])])])
    assert body["eventsAccepted"] == 0
    assert {r["reason"] for r in body["rejections"]} == {"schema_validation: no schema for event_type"}

    register(owner.client, owner.tenant_id)
    # an encrypted payload cannot be read: a schema only has to exist for its type
    body = _ves(owner, agent, [agent.event(GOOD), agent.event(BAD, encrypted_for=[(5, recipient[1])])])
    assert body["eventsAccepted"] == 2
