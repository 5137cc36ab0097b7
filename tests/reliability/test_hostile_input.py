"""Hostile input on both ingest endpoints (``tests/reliability/hostile.py`` is the table).

Every case gets a 4xx ``application/problem+json`` with its stable code; afterwards no row was
added to any event table of the tenant and both streams' heads are where they were.
Injection strings in free-text fields are data, not errors: they are stored verbatim and
change nothing else; unknown fields are ignored (ADR 0011).
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import pytest
from django.db import connection
from django.test import override_settings

from tests.conftest import Persona
from tests.events.ves_helpers import Agent, register_key
from tests.reliability.hostile import CASES, INJECTIONS, LEGACY, PATHS, VES, Case, Stream, good_event, wrap

pytestmark = pytest.mark.django_db

TABLES = ("events", "ves_events", "rejected_events", "entity_versions", "command_dedupe", "sequence_counters")
PARAMS = [(case, endpoint) for case in CASES for endpoint in case.endpoints]


def _state(tenant_id: uuid.UUID) -> dict[str, Any]:
    """Row counts of every event table and the heads of the tenant's streams."""
    with connection.cursor() as cursor:
        state: dict[str, Any] = {}
        for table in TABLES:
            cursor.execute(f"SELECT count(*) FROM {table} WHERE tenant_id = %s", [tenant_id])  # noqa: S608
            state[table] = cursor.fetchone()[0]
        cursor.execute(
            "SELECT store_id, stream_kind, current_sequence FROM sequence_counters WHERE tenant_id = %s ORDER BY 1, 2",
            [tenant_id],
        )
        state["heads"] = cursor.fetchall()
        cursor.execute("SELECT count(*) FROM stores WHERE tenant_id = %s", [tenant_id])
        state["stores"] = cursor.fetchone()[0]
    return state


@pytest.fixture
def stream(owner: Persona) -> Stream:
    """The owner's stream with one accepted event in each kind (so both heads are 1)."""
    agent = Agent(owner.tenant_id, owner.store_id)
    assert register_key(owner.client, owner.tenant_id, agent.agent_id, 1, agent.public_key).status_code == 200
    s = Stream(owner.tenant_id, owner.store_id, agent)
    for endpoint in (LEGACY, VES):
        response = _post(owner, endpoint, orjson.dumps(wrap(endpoint, s, [good_event(endpoint, s)])))
        assert response.status_code == 200, response.content
    return s


def _post(owner: Persona, endpoint: str, raw: bytes) -> Any:
    return owner.client.post(PATHS[endpoint], data=raw, content_type="application/json")


def _id(param: tuple[Case, str]) -> str:
    case, endpoint = param
    return f"{endpoint}: {case.group}: {case.name}"


@pytest.mark.parametrize(("case", "endpoint"), PARAMS, ids=[_id(p) for p in PARAMS])
def test_hostile_input_is_refused_with_a_stable_code_and_stores_nothing(
    owner: Persona, stream: Stream, case: Case, endpoint: str
) -> None:
    raw = case.build(endpoint, stream)
    before = _state(owner.tenant_id)

    with override_settings(**(case.settings or {})):
        response = _post(owner, endpoint, raw)

    status, code = case.expected(endpoint)
    answer = response.json()
    if status == 200:  # a per-event rejection (VES created_at; payloads jsonb cannot hold)
        assert response.status_code == 200, response.content[:300]
        assert answer.get("eventsAccepted", answer.get("events_accepted")) == 0
        assert [r["reason"] for r in answer["rejections"]] == [code]
        before["rejected_events"] += 1  # the audit row of the rejection, with the body received
    else:
        assert (response.status_code, answer.get("code")) == (status, code), response.content[:300]
        assert response["Content-Type"] == "application/problem+json"
        assert answer["instance"] == response["X-Request-ID"]
    assert _state(owner.tenant_id) == before


@pytest.mark.parametrize("endpoint", [LEGACY, VES])
@pytest.mark.parametrize("hostile", INJECTIONS)
def test_injection_strings_in_free_text_fields_are_stored_verbatim(
    owner: Persona, stream: Stream, endpoint: str, hostile: str
) -> None:
    event = good_event(endpoint, stream, entity_type=hostile[:128], entity_id=hostile, event_type=hostile)
    before = _state(owner.tenant_id)

    response = _post(owner, endpoint, orjson.dumps(wrap(endpoint, stream, [event])))

    assert response.status_code == 200, response.content
    detail = "/api/v1/events/" if endpoint == LEGACY else "/api/v1/ves/events/"
    stored = owner.client.get(detail + event["event_id"]).json()
    envelope = stored.get("envelope", stored)
    assert (envelope["entity_type"], envelope["entity_id"], envelope["event_type"]) == (
        hostile[:128],
        hostile,
        hostile,
    )
    after = _state(owner.tenant_id)
    table = "events" if endpoint == LEGACY else "ves_events"
    assert after[table] == before[table] + 1
    assert all(after[t] == before[t] for t in ("rejected_events", "command_dedupe"))


@pytest.mark.parametrize("endpoint", [LEGACY, VES])
def test_unknown_fields_are_ignored_and_not_stored(owner: Persona, stream: Stream, endpoint: str) -> None:
    event = good_event(endpoint, stream)
    event["surprise"] = {"sql": INJECTIONS[0]}
    event["sequence_number"] = 999
    body = {**wrap(endpoint, stream, [event]), "extra": INJECTIONS[0]}

    response = _post(owner, endpoint, orjson.dumps(body))

    assert response.status_code == 200, response.content
    detail = "/api/v1/events/" if endpoint == LEGACY else "/api/v1/ves/events/"
    stored = owner.client.get(detail + event["event_id"]).content.decode()
    assert "surprise" not in stored
    assert INJECTIONS[0] not in stored
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(current_sequence) FROM sequence_counters WHERE tenant_id = %s", [owner.tenant_id])
        assert cursor.fetchone()[0] == 2  # numbered by the sequencer, not by the client's 999


def test_the_table_covers_every_kind_of_hostile_input() -> None:
    """The figures quoted in docs/reliability.md."""
    groups = {case.group for case in CASES}
    assert groups == {"malformed", "types", "numbers", "nesting", "encoding", "size", "timestamps", "nul", "injection"}
    assert len(PARAMS) >= 200


@pytest.mark.parametrize("endpoint", [LEGACY, VES])
@pytest.mark.parametrize(
    "request_id", ["abc\n", "abc\nX-Injected: 1", "a" * 129, "<script>", "x' OR 1=1 --", "é", "id\x00"]
)
def test_a_hostile_request_id_is_replaced_not_echoed(owner: Persona, endpoint: str, request_id: str) -> None:
    response = owner.client.post(
        PATHS[endpoint], data=b"{", content_type="application/json", HTTP_X_REQUEST_ID=request_id
    )

    assert response.status_code == 400
    assert response["X-Request-ID"] == response.json()["instance"]
    assert str(uuid.UUID(response["X-Request-ID"])) == response["X-Request-ID"]
