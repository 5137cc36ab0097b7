"""Validation messages quote values in JSON notation (``null``, ``true``, double quotes), as a
JSON client reads them and the reference's validator words them, never Python's (``None``,
``True``, single quotes), whatever the payload holds; the wording around them is jsonschema's."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.registry import build_validator, validate_payload

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


def _json(value: Any) -> str:
    """``value`` in JSON, spaced as jsonschema's messages space it (Python's ``", "``, ``": "``)."""
    return json.dumps(value, ensure_ascii=False)


def _message(schema: Any, instance: Any) -> str:
    [error] = validate_payload(build_validator(schema), instance)
    return error.message


@given(instance=JSON.filter(lambda value: not isinstance(value, dict)))
@settings(max_examples=200, deadline=None)
def test_any_refused_value_is_quoted_as_its_json_text(instance: Any) -> None:
    message = _message({"type": "object"}, instance)
    assert message == f'{_json(instance)} is not of type "object"'


@given(allowed=st.lists(SCALARS, min_size=1, max_size=5, unique_by=lambda v: (type(v), v)), instance=SCALARS)
@settings(max_examples=200, deadline=None)
def test_an_enum_and_the_value_it_refuses_are_both_in_json(allowed: list[Any], instance: Any) -> None:
    schema = {"enum": allowed}
    if not validate_payload(build_validator(schema), instance):
        return  # the value is allowed (JSON equality): nothing to word
    message = _message(schema, instance)
    assert message == f"{_json(instance)} is not one of {_json(allowed)}"


@pytest.mark.parametrize(
    ("schema", "instance", "message"),
    [
        ({"type": "string"}, None, 'null is not of type "string"'),
        ({"type": ["string", "null"]}, True, 'true is not of type "string", "null"'),
        ({"const": "None"}, None, '"None" was expected'),  # a quote inside a quote is not re-worded
        ({"required": ["total"]}, {}, '"total" is a required property'),
        ({"pattern": "^a"}, "b'c", '"b\'c" does not match "^a"'),
        ({"additionalProperties": False}, {"b": None}, 'Additional properties are not allowed ("b" was unexpected)'),
        ({"not": {"type": "null"}}, None, 'null should not be valid under {"type": "null"}'),
        ({"minimum": 3}, 1, "1 is less than the minimum of 3"),
        ({"type": "string"}, 10**30, '1000000000000000000000000000000 is not of type "string"'),
        # Quotes from deeper in the schema, the array's tail, and the error's path:
        ({"dependentRequired": {"a": ["b"]}}, {"a": 1}, '"b" is a dependency of "a"'),
        (
            {"prefixItems": [{}], "items": False},
            [1, None, True],
            "Expected at most 1 item but found 2 extra: [null, true]",
        ),
        ({"unevaluatedItems": False}, [None, True], "Unevaluated items are not allowed (null, true were unexpected)"),
        (
            {"$schema": "http://json-schema.org/draft-03/schema#", "properties": {"a": {"required": True}}},
            {},
            '"a" is a required property',
        ),
    ],
)
def test_examples(schema: Any, instance: Any, message: str) -> None:
    assert _message(schema, instance) == message
