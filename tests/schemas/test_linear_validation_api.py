"""Hostile schemas and payloads through the API: validation finishes, with the right verdict (ADR 0046).

Each hostile case runs under a liveness bound of 30 s: ``faulthandler`` kills the process past
it (a C watchdog thread, which fires even while Python's ``re`` holds the GIL), so a regression
fails the run instead of hanging it. The bound is generous on purpose: the code before ADR 0046
took about 2 s at 25 ``a`` and doubled per ``a``, 9 s for 1,500 objects under ``uniqueItems``,
and hours for the self-re-applying schemas below.
"""

from __future__ import annotations

import faulthandler
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from schemas.evaluation import MAX_EVALUATION_STEPS
from schemas.models import EventSchema
from tests.conftest import IngestPoster, Persona, legacy_event
from tests.schemas.helpers import post_json, register

pytestmark = pytest.mark.django_db

LIVENESS_SECONDS = 30
REDOS = {"type": "object", "properties": {"name": {"type": "string", "pattern": "^(a+)+$"}}}
RE2_REFUSAL = "backreferences and lookaround are not supported"


@contextmanager
def finishes() -> Iterator[None]:
    faulthandler.dump_traceback_later(LIVENESS_SECONDS, exit=True)
    started = time.monotonic()
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()
    assert time.monotonic() - started < LIVENESS_SECONDS


def _validate(persona: Persona, payload: Any, event_type: str = "order.created") -> dict[str, Any]:
    body = {"tenantId": str(persona.tenant_id), "eventType": event_type, "payload": payload}
    response = post_json(persona.client, "/api/v1/schemas/validate", body)
    assert response.status_code == 200, response.content
    return dict(response.json())


def _ingest(persona: Persona, post_ingest: IngestPoster, payloads: list[Any]) -> dict[str, Any]:
    events = [legacy_event(persona.tenant_id, persona.store_id, payload=p) for p in payloads]
    response = post_ingest(persona.client, {"events": events})
    assert response.status_code == 200, response.content
    return dict(response.json())


@pytest.mark.parametrize("count", [25, 5_000])
def test_a_backtracking_pattern_answers_at_once_on_validate(owner: Persona, count: int) -> None:
    assert register(owner.client, owner.tenant_id, REDOS).status_code == 200
    hostile = "a" * count + "!"

    with finishes():
        refused = _validate(owner, {"name": hostile})
        accepted = _validate(owner, {"name": "a" * count})

    assert refused["valid"] is False
    [error] = refused["errors"]
    message = f'"{hostile}" does not match "^(a+)+$"'
    assert error["path"] == "/name"
    assert (
        error["message"] == message if len(message) <= 500 else error["message"].endswith('!" does not match "^(a+)+$"')
    )
    assert accepted == {**accepted, "valid": True, "errors": []}


@pytest.mark.parametrize("count", [25, 5_000])
def test_a_backtracking_pattern_answers_at_once_on_ingest(
    owner: Persona, post_ingest: IngestPoster, count: int
) -> None:
    register(owner.client, owner.tenant_id, REDOS)

    with finishes():
        body = _ingest(owner, post_ingest, [{"name": "a" * count + "!"}, {"name": "a" * count}])

    assert body["events_accepted"] == 1
    [rejection] = body["rejections"]
    assert rejection["reason"] == "SchemaValidation"
    assert rejection["message"].endswith('does not match "^(a+)+$"')


def test_patterns_are_searched_not_anchored(owner: Persona) -> None:
    schema = {"type": "object", "properties": {"sku": {"type": "string", "pattern": "[0-9]{3}"}}}
    register(owner.client, owner.tenant_id, schema)

    assert _validate(owner, {"sku": "AB-123-X"})["valid"] is True
    assert _validate(owner, {"sku": "AB-12"})["valid"] is False


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        ("(a)\\1", "invalid escape sequence: \\1"),
        ("(?=a)", "invalid perl operator: (?="),
        ("(?<!x)y", "invalid perl operator: (?<!"),
        ("a{1000}{1000}", "bad repetition operator"),
    ],
)
def test_a_pattern_re2_cannot_run_is_refused_at_registration(owner: Persona, pattern: str, why: str) -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string", "pattern": pattern}}}

    response = register(owner.client, owner.tenant_id, schema)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert (problem["code"], problem["status"]) == ("invalid_schema", 400)
    assert "/properties/name/pattern: " in problem["detail"]
    assert why in problem["detail"]
    assert RE2_REFUSAL in problem["detail"]
    assert not EventSchema.objects.filter(tenant_id=owner.tenant_id).exists()


def test_pattern_property_names_are_checked_too_with_their_pointer(owner: Persona) -> None:
    schema = {"type": "object", "properties": {"tags": {"patternProperties": {"^x/(?=y)": {}}}}}

    problem = register(owner.client, owner.tenant_id, schema).json()

    assert problem["code"] == "invalid_schema"
    assert "/properties/tags/patternProperties/^x~1(?=y): " in problem["detail"]


def test_a_pattern_past_the_program_limit_is_refused_before_taking_memory(owner: Persona) -> None:
    schema = {"type": "string", "pattern": "[ab]{0,1000}[cd]{0,1000}"}

    problem = register(owner.client, owner.tenant_id, schema).json()

    assert problem["code"] == "invalid_schema"
    assert "RE2 instructions" in problem["detail"]


def test_ecma_escapes_re2_spells_otherwise_are_accepted(owner: Persona) -> None:
    schema = {"type": "object", "properties": {"code": {"type": "string", "pattern": "^[\\u0041-\\u005a]\\s\\p{L}$"}}}
    assert register(owner.client, owner.tenant_id, schema).status_code == 200

    assert _validate(owner, {"code": "Q\u00a0é"})["valid"] is True  # no-break space is ECMA-262 whitespace
    assert _validate(owner, {"code": "q é"})["valid"] is False


def _store_unchecked(persona: Persona, schema: Any) -> None:
    """A version stored before patterns were checked (written past the service, as it was then)."""
    EventSchema.objects.create(tenant_id=persona.tenant_id, event_type="order.created", version=1, schema_json=schema)


def test_a_stored_pattern_re2_cannot_run_rejects_what_reaches_it(owner: Persona, post_ingest: IngestPoster) -> None:
    _store_unchecked(owner, {"type": "object", "properties": {"name": {"type": "string", "pattern": "(a)\\1"}}})

    checked = _validate(owner, {"name": "aa"})
    body = _ingest(owner, post_ingest, [{"name": "aa"}, {"other": 1}])

    [error] = checked["errors"]
    assert checked["valid"] is False
    assert error["path"] == ""
    assert "'(a)\\\\1' is not a pattern RE2 can run" in error["message"]
    assert "register a version of the schema without it" in error["message"]
    assert body["events_accepted"] == 1  # the payload that never reaches the pattern
    [rejection] = body["rejections"]
    assert rejection["reason"] == "SchemaValidation"
    assert "is not a pattern RE2 can run" in rejection["message"]


def test_a_subschema_declaring_its_draft_keeps_the_protections(owner: Persona) -> None:
    """jsonschema switches validator class at a subschema's ``$schema``: the switch must land on
    the bounded classes, not jsonschema's own (``re``, unbounded references)."""
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "properties": {"a": {"$ref": "#"}},
        "pattern": "^(a+)+$",
    }
    assert register(owner.client, owner.tenant_id, schema).status_code == 200

    with finishes():
        checked = _validate(owner, {"a": {"a": "a" * 5_000 + "!"}})

    assert checked["valid"] is False
    assert [e["path"] for e in checked["errors"]] == ["/a/a"]


def test_a_self_referencing_schema_declaring_its_draft_is_refused_under_web3s_recursion_limit(owner: Persona) -> None:
    import web3  # noqa: F401  (raises the recursion limit to 100,000: endless recursion would segfault)

    assert sys.getrecursionlimit() >= 100_000
    problem = register(
        owner.client, owner.tenant_id, {"$schema": "http://json-schema.org/draft-07/schema#", "$ref": "#"}
    )

    assert problem.json()["code"] == "invalid_schema"


@pytest.mark.parametrize("count", [1_500, 8_000])
def test_unique_items_of_thousands_of_objects_answer_at_once(owner: Persona, count: int) -> None:
    register(owner.client, owner.tenant_id, {"type": "array", "uniqueItems": True})
    items = [{"a": i} for i in range(count)]

    with finishes():
        distinct = _validate(owner, items)
        repeated = _validate(owner, [*items, {"a": float(count - 1)}])  # equal to the last: 1 == 1.0

    assert distinct["valid"] is True
    assert repeated["valid"] is False
    [error] = repeated["errors"]
    assert error["path"] == ""
    assert error["message"].endswith("has non-unique elements")  # jsonschema's wording


def test_booleans_are_not_numbers_for_unique_items(owner: Persona) -> None:
    register(owner.client, owner.tenant_id, {"type": "array", "uniqueItems": True})

    assert _validate(owner, [1, True, 0, False, [1], [True], {"a": 1}, {"a": True}])["valid"] is True
    assert _validate(owner, [{"a": [1, {"b": 2}]}, {"a": [1.0, {"b": 2.0}]}])["valid"] is False


def _nested(levels: int) -> Any:
    value: Any = {}
    for _ in range(levels):
        value = {"a": value}
    return value


# Each level re-applies the next through ``if``, ``then`` and ``unevaluatedProperties``: 3^depth
# evaluations (12 levels took 32 s before the budget, 30 levels ~10^14).
RE_APPLYING = {
    "$defs": {
        "n": {
            "if": {"properties": {"a": {"$ref": "#/$defs/n"}}},
            "then": {"properties": {"a": {"$ref": "#/$defs/n"}}},
            "unevaluatedProperties": False,
        }
    },
    "$ref": "#/$defs/n",
}


def test_a_schema_that_re_applies_itself_stops_at_the_budget(owner: Persona, post_ingest: IngestPoster) -> None:
    assert register(owner.client, owner.tenant_id, RE_APPLYING).status_code == 200

    with finishes():
        shallow = _validate(owner, _nested(3))
        deep = _validate(owner, _nested(30))
        body = _ingest(owner, post_ingest, [_nested(30)] * 50)  # a batch cannot multiply the budget

    assert shallow["valid"] is True
    assert deep["valid"] is False
    [error] = deep["errors"]
    assert error["path"] == ""
    assert f"more than {MAX_EVALUATION_STEPS:,} steps" in error["message"]
    assert body["events_accepted"] == 0
    assert {r["reason"] for r in body["rejections"]} == {"SchemaValidation"}


def test_references_doubling_at_each_level_are_refused_at_registration(owner: Persona) -> None:
    """A "billion laughs" of references: 2^60 evaluations of one value, found by the probes."""
    definitions = {f"a{i}": {"allOf": [{"$ref": f"#/$defs/a{i + 1}"}] * 2} for i in range(60)}
    schema = {"$defs": {**definitions, "a60": {"type": "integer"}}, "$ref": "#/$defs/a0"}

    with finishes():
        problem = register(owner.client, owner.tenant_id, schema).json()

    assert problem["code"] == "invalid_schema"
    assert f"more than {MAX_EVALUATION_STEPS:,} steps" in problem["detail"]


def test_a_wide_pattern_on_a_long_text_is_charged_before_the_scan(owner: Persona) -> None:
    """RE2 is linear, but an adversarial text can make it advance every instruction of the
    pattern per byte (~25 us a byte at 4,000): the scan is charged its worst case up front."""
    register(owner.client, owner.tenant_id, {"type": "string", "pattern": "a{0,998}a{0,998}c"})

    with finishes():
        refused = _validate(owner, "a" * 5_000_000)
        checked = _validate(owner, "a" * 1_000 + "c")

    assert f"more than {MAX_EVALUATION_STEPS:,} steps" in refused["errors"][0]["message"]
    assert checked["valid"] is True


def test_an_ordinary_batch_is_far_from_the_budget(owner: Persona, post_ingest: IngestPoster) -> None:
    schema = {
        "type": "object",
        "properties": {
            "total": {"type": "integer", "minimum": 0},
            "currency": {"enum": ["USD", "EUR", "GBP"]},
            "lines": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"sku": {"type": "string", "pattern": "^[A-Z]-[0-9]+$"}, "qty": {"type": "integer"}},
                    "required": ["sku", "qty"],
                },
            },
        },
        "required": ["total"],
    }
    register(owner.client, owner.tenant_id, schema)
    payload = {"total": 1, "currency": "EUR", "lines": [{"sku": f"A-{i}", "qty": i} for i in range(10)]}

    body = _ingest(owner, post_ingest, [payload] * 1_000)

    assert body["events_accepted"] == 1_000
