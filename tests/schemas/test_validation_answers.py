"""What validation answers, as users meet it: ``multipleOf`` on decimal steps (a price in cents
is a multiple of 0.01), the validate endpoint judging a payload exactly as ingest does (numbers
past 64-bit integers included), and error messages cut to a bound (a long ``enum`` is quoted in
jsonschema's message). docs/schemas.md, "Budget"."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft3Validator, Draft202012Validator

from schemas.evaluation import hardened
from schemas.registry import MESSAGE_MAX_CHARS
from tests.conftest import IngestPoster, Persona, legacy_event

CENTS = hardened(Draft202012Validator)({"multipleOf": 0.01})


@given(st.integers(min_value=-(10**13), max_value=10**13))
def test_every_amount_in_cents_is_a_multiple_of_a_cent(cents: int) -> None:
    assert not list(CENTS.iter_errors(cents / 100))


@given(st.integers(min_value=-(10**12), max_value=10**12), st.integers(min_value=1, max_value=9))
def test_an_amount_with_a_part_of_a_cent_is_not(cents: int, tenth: int) -> None:
    amount = float(f"{cents / 100:.2f}{tenth}") if cents >= 0 else -float(f"{-cents / 100:.2f}{tenth}")
    [error] = CENTS.iter_errors(amount)
    assert error.message == f"{amount!r} is not a multiple of 0.01"


@pytest.mark.parametrize(
    ("validator", "instance", "valid"),
    [
        (hardened(Draft202012Validator)({"multipleOf": 3}), 9, True),
        (hardened(Draft202012Validator)({"multipleOf": 3}), 9.0, True),
        (hardened(Draft202012Validator)({"multipleOf": 3}), 10, False),
        (hardened(Draft202012Validator)({"multipleOf": 1e-300}), 1e308, True),
        (hardened(Draft202012Validator)({"multipleOf": 0.1}), 0.1 + 0.2, False),  # 0.30000000000000004
        (hardened(Draft3Validator)({"divisibleBy": 0.1}), 0.3, True),
        (hardened(Draft3Validator)({"divisibleBy": 0.1}), 0.35, False),
    ],
)
def test_multiple_of_edges(validator: Any, instance: float, valid: bool) -> None:
    assert (not list(validator.iter_errors(instance))) is valid


# Bodies as JSON text written by ``json`` (orjson refuses integers past 64 bits): what a client sends.
def _post(persona: Persona, path: str, body: Any) -> Any:
    answer = persona.client.post(path, data=json.dumps(body), content_type="application/json")
    assert answer.status_code == 200, answer.content
    return answer.json()


def _validate(persona: Persona, event_type: str, payload: Any) -> bool:
    body = {"tenantId": str(persona.tenant_id), "eventType": event_type, "payload": payload}
    valid: bool = _post(persona, "/api/v1/schemas/validate", body)["valid"]
    return valid


def _ingested(persona: Persona, post_ingest: IngestPoster, event_type: str, payload: Any) -> bool:
    event = legacy_event(persona.tenant_id, persona.store_id, payload=payload, event_type=event_type)
    answer = post_ingest(persona.client, json.dumps({"events": [event]}))
    assert answer.status_code == 200, answer.content
    return bool(answer.json()["events_accepted"])


def _register(persona: Persona, schema: Any, event_type: str) -> None:
    _post(
        persona, "/api/v1/schemas", {"tenantId": str(persona.tenant_id), "eventType": event_type, "schemaJson": schema}
    )


@pytest.mark.django_db
def test_a_price_in_cents_validates_and_ingests(owner: Persona, post_ingest: IngestPoster) -> None:
    schema = {"type": "object", "properties": {"price": {"type": "number", "multipleOf": 0.01}}}
    _register(owner, schema, "price.set")
    for price, valid in ((0.07, True), (19.99, True), (4.35, True), (0.015, False)):
        assert _validate(owner, "price.set", {"price": price}) is valid, price
        assert _ingested(owner, post_ingest, "price.set", {"price": price}) is valid, price


@pytest.mark.django_db
@pytest.mark.parametrize(
    "keyword", [{"enum": [1e29]}, {"const": 123456789012345678901234567890}, {"enum": [1.5e300, 3]}]
)
def test_the_validate_endpoint_judges_large_numbers_as_ingest_does(
    owner: Persona, post_ingest: IngestPoster, keyword: dict[str, Any]
) -> None:
    schema = {"type": "object", "properties": {"v": keyword}}
    _register(owner, schema, "big.number")
    literal = next(iter(keyword.values()))
    value = literal[0] if isinstance(literal, list) else literal
    for payload in ({"v": value}, {"v": 7}):
        assert _validate(owner, "big.number", payload) is _ingested(owner, post_ingest, "big.number", payload), payload
    assert _validate(owner, "big.number", {"v": value}) is True


@pytest.mark.django_db
def test_an_error_quoting_a_long_enum_is_cut_so_an_answer_stays_near_its_request(
    owner: Persona, post_ingest: IngestPoster
) -> None:
    values = [f"v{n:05}" for n in range(9_000)]
    _register(owner, {"type": "object", "properties": {"c": {"enum": values}}}, "long.enum")
    events = [
        legacy_event(owner.tenant_id, owner.store_id, payload={"c": "nope"}, event_type="long.enum") for _ in range(50)
    ]
    request = json.dumps({"events": events})

    answer = post_ingest(owner.client, request)

    assert answer.status_code == 200, answer.content
    rejections = answer.json()["rejections"]
    assert len(rejections) == 50
    for rejection in rejections:
        assert rejection["message"].startswith(
            'Schema validation failed for event type \'long.enum\': /c: "nope" is not one of ["v00000", "v00001"'
        )
        assert rejection["message"].endswith('"v08998", "v08999"]')
        assert " … " in rejection["message"]
        assert len(rejection["message"]) < 600
    assert len(answer.content) < 3 * len(request)
    checked = _post(
        owner,
        "/api/v1/schemas/validate",
        {"tenantId": str(owner.tenant_id), "eventType": "long.enum", "payload": {"c": "nope"}},
    )
    assert len(checked["errors"][0]["message"]) == MESSAGE_MAX_CHARS
