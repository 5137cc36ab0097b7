"""Schema failures leave nothing of the payload in logs or in the rejection log.

jsonschema's messages quote the value they refuse (``"4111-..." is not of type "integer"``).
The ``warn`` mode logged them, and ``enforce`` stored them in ``rejected_events`` in clear while
payloads and rejected bodies are sealed at rest (docs/encryption.md). Both now hold a redacted
form built from the schema's side (``schemas.registry.redacted_error``): the path and the
violated rule, a key the schema does not name as ``*``. The answer to the client that sent
the event keeps jsonschema's wording (the reference's, docs/schemas.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.registry import UNNAMED_KEY, build_validator, validate_payload
from tests.conftest import IngestPoster, Persona, legacy_event
from tests.events.ves_helpers import Agent, post_ves, register_key
from tests.schemas.helpers import register, set_mode

VALUE = "4111-PLAINTEXT-CARD-9999"  # a payload value the schema refuses
KEY = "4111-KEY-AS-DATA"  # a payload key the schema does not name
KEYED_VALUE = "SECRET-IN-A-MAP"
SECRETS = (VALUE, KEY, KEYED_VALUE)

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "total": {"type": "integer"},
        "cards": {"type": "object", "additionalProperties": {"type": "integer"}},
    },
    "required": ["total"],
}
BAD = {"total": VALUE, "cards": {KEY: KEYED_VALUE}}
REDACTED_ERRORS = '/cards/*: fails type "integer"; /total: fails type "integer"'
STORED_MESSAGE = f"Schema validation failed for event type 'order.created': {REDACTED_ERRORS}"


@pytest.fixture
def logged() -> Iterator[list[str]]:
    """Every record any logger writes during the test (DEBUG and up), message and traceback."""
    import sequencer_project.wsgi  # noqa: F401  (its first import configures logging again)

    lines: list[str] = []
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(formatter.format(record))

    root = logging.getLogger()
    capture, level = Capture(level=logging.DEBUG), root.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    try:
        yield lines
    finally:
        root.removeHandler(capture)
        root.setLevel(level)


def _stored(persona: Persona) -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reason, message FROM rejected_events WHERE tenant_id = %s ORDER BY rejection_id",
            [persona.tenant_id],
        )
        return [(reason, message) for reason, message in cursor.fetchall()]


def _no_secret_in(texts: list[str]) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, text


@pytest.fixture
def agent(owner: Persona) -> Agent:
    agent = Agent(owner.tenant_id, owner.store_id)
    assert register_key(owner.client, owner.tenant_id, agent.agent_id, 1, agent.public_key).status_code == 200
    return agent


def _schema_in(owner: Persona, mode: str) -> None:
    assert register(owner.client, owner.tenant_id, SCHEMA).status_code in (200, 201)
    assert set_mode(owner.client, owner.tenant_id, mode).status_code == 200


def _legacy_bad(owner: Persona, post_ingest: IngestPoster, mode: str) -> dict[str, Any]:
    """The answer to one legacy event with ``BAD`` payload under ``mode``."""
    _schema_in(owner, mode)
    response = post_ingest(owner.client, {"events": [legacy_event(owner.tenant_id, owner.store_id, payload=BAD)]})
    assert response.status_code == 200, response.content
    body: dict[str, Any] = response.json()
    return body


def _ves_bad(owner: Persona, agent: Agent, mode: str) -> dict[str, Any]:
    """The answer to one VES event with ``BAD`` payload under ``mode``."""
    _schema_in(owner, mode)
    response = post_ves(owner.client, agent.agent_id, [agent.event(BAD)])
    assert response.status_code == 200, response.content
    body: dict[str, Any] = response.json()
    return body


def _warning(logged: list[str]) -> str:
    [warning] = [line for line in logged if line.startswith("schemas.registry WARNING")]
    return warning


@pytest.mark.django_db
def test_legacy_enforce_stores_and_logs_the_path_and_rule_not_the_value(
    owner: Persona, post_ingest: IngestPoster, logged: list[str]
) -> None:
    body = _legacy_bad(owner, post_ingest, "enforce")

    assert body["events_rejected"] == 1
    # The client that sent the payload is answered in jsonschema's (the reference's) words.
    assert f'/total: "{VALUE}" is not of type "integer"' in body["rejections"][0]["message"]
    assert _stored(owner) == [("SchemaValidation", STORED_MESSAGE)]
    _no_secret_in(logged)


@pytest.mark.django_db
def test_legacy_warn_logs_the_path_and_rule_not_the_value(
    owner: Persona, post_ingest: IngestPoster, logged: list[str]
) -> None:
    assert _legacy_bad(owner, post_ingest, "warn")["events_accepted"] == 1

    assert _warning(logged).endswith(STORED_MESSAGE)
    _no_secret_in(logged)
    assert _stored(owner) == []


@pytest.mark.django_db
def test_ves_enforce_stores_and_logs_the_path_and_rule_not_the_value(
    owner: Persona, agent: Agent, logged: list[str]
) -> None:
    [rejection] = _ves_bad(owner, agent, "enforce")["rejections"]

    assert rejection["reason"] == f'schema_validation: /cards/{KEY}: "{KEYED_VALUE}" is not of type "integer"'
    assert _stored(owner) == [('schema_validation: /cards/*: fails type "integer"', STORED_MESSAGE)]
    _no_secret_in(logged)


@pytest.mark.django_db
def test_ves_warn_logs_the_path_and_rule_not_the_value(owner: Persona, agent: Agent, logged: list[str]) -> None:
    assert _ves_bad(owner, agent, "warn")["eventsAccepted"] == 1

    assert _warning(logged).endswith(STORED_MESSAGE)
    _no_secret_in(logged)
    assert _stored(owner) == []


@pytest.mark.django_db
def test_a_rejection_that_is_not_the_schemas_keeps_its_message(owner: Persona, post_ingest: IngestPoster) -> None:
    """A schema-refused event sent twice in one request: the second is a duplicate id, stored
    with that reason's own message, the first redacted."""
    _schema_in(owner, "enforce")
    event = legacy_event(owner.tenant_id, owner.store_id, payload=BAD)

    body = post_ingest(owner.client, {"events": [event, event]}).json()

    assert [r["reason"] for r in body["rejections"]] == ["SchemaValidation", "DuplicateEventId"]
    stored = _stored(owner)
    assert stored[0] == ("SchemaValidation", STORED_MESSAGE)
    assert stored[1] == ("DuplicateEventId", body["rejections"][1]["message"])


# --- The redacted form, keyword by keyword ------------------------------------------------

# (schema, payload made from a secret string, the redacted errors' paths)
Case = tuple[dict[str, Any], Callable[[str], Any], set[str]]
CASES: list[Case] = [
    ({"type": "integer"}, lambda s: s, {""}),
    ({"type": "string", "maxLength": 3}, lambda s: s, {""}),
    ({"type": "string", "pattern": "^[a-z]+$"}, lambda s: s, {""}),
    ({"enum": ["a", "b"]}, lambda s: s, {""}),
    ({"const": "a"}, lambda s: s, {""}),
    ({"format": "email", "type": "integer"}, lambda s: s, {""}),
    ({"not": {"type": "string"}}, lambda s: s, {""}),
    ({"anyOf": [{"type": "integer"}, {"type": "boolean"}]}, lambda s: s, {""}),
    ({"oneOf": [{"type": "string"}, {"minLength": 1}]}, lambda s: s, {""}),
    ({"type": "object", "additionalProperties": False}, lambda s: {s: s}, {""}),
    ({"type": "object", "unevaluatedProperties": False}, lambda s: {s: s}, {""}),
    ({"type": "object", "minProperties": 3}, lambda s: {s: s}, {""}),
    ({"type": "object", "propertyNames": {"maxLength": 3}}, lambda s: {s: 1}, {""}),
    ({"type": "object", "patternProperties": {"^S": {"type": "integer"}}}, lambda s: {s: s}, {f"/{UNNAMED_KEY}"}),
    ({"type": "object", "additionalProperties": {"type": "integer"}}, lambda s: {s: [s]}, {f"/{UNNAMED_KEY}"}),
    # jsonschema gives a ``false`` subschema's error no path (the answer's path is "" too)
    ({"type": "object", "properties": {"a": False}}, lambda s: {"a": s}, {""}),
    ({"type": "object", "required": ["total"]}, lambda s: {s: s}, {""}),
    ({"type": "object", "dependentRequired": {"a": ["b"]}}, lambda s: {"a": s}, {""}),
    ({"type": "array", "items": {"type": "integer"}}, lambda s: [1, s], {"/1"}),
    ({"type": "array", "prefixItems": [{"type": "integer"}], "items": False}, lambda s: [1, s], {""}),
    ({"type": "array", "uniqueItems": True}, lambda s: [s, s], {""}),
    ({"type": "array", "contains": {"type": "integer"}}, lambda s: [s], {""}),
    (
        {"properties": {"a": {"$ref": "#/$defs/o"}}, "$defs": {"o": {"properties": {"b": {"type": "integer"}}}}},
        lambda s: {"a": {"b": s}},
        {"/a/b"},
    ),
]


@settings(max_examples=60, deadline=None)
@given(
    case=st.sampled_from(CASES),
    tail=st.text(max_size=12),
)
def test_no_redacted_error_holds_anything_of_the_payload(case: Case, tail: str) -> None:
    schema, payload_of, paths = case
    secret = "SECRET" + tail

    errors = validate_payload(build_validator(schema), payload_of(secret))

    assert errors, schema
    for error in errors:
        assert "SECRET" not in error.redacted, (schema, error)
        path, _, rule = error.redacted.partition(": ")
        assert path in paths, (schema, error)
        assert rule, error


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=10**12, max_value=10**30))
def test_a_refused_number_is_not_in_the_redacted_error(number: int) -> None:
    [error] = validate_payload(build_validator({"type": "integer", "maximum": 5}), number)

    assert str(number) not in error.redacted
    assert error.redacted == ": fails maximum 5"


def test_the_rule_names_the_schemas_value_and_leaves_a_long_one_out() -> None:
    long_enum = [f"choice-{n}" for n in range(40)]
    [short] = validate_payload(build_validator({"enum": ["a", "b"]}), "x")
    [long] = validate_payload(build_validator({"enum": long_enum}), "x")
    [required] = validate_payload(build_validator({"required": ["total"]}), {})
    [false] = validate_payload(build_validator({"properties": {"a": False}}), {"a": 1})

    assert short.redacted == ': fails enum ["a","b"]'
    assert long.redacted == ": fails enum"
    assert required.redacted == ': "total" is a required property'
    assert false.redacted == ": fails the false schema (nothing is allowed here)"
