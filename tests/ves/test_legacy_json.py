"""The reference's legacy payload hash (serde_json serialisation), vectors and properties."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ves.legacy_json import LegacyJsonError, dumps, fast_dumps, payload_hash

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "legacy_payload_hashes.json").read_text("utf-8"))


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: f"case{v['case']}-event{v['event']}")
def test_it_matches_every_shared_vector(vector: dict[str, Any]) -> None:
    assert payload_hash(vector["payload"]).hex() == vector["legacy_payload_hash"]
    assert hashlib.sha256(dumps(vector["payload"])).hexdigest() == vector["legacy_payload_hash"]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.0, "1.0"),
        (100.0, "100.0"),
        (1e15, "1000000000000000.0"),
        (1e16, "1e16"),
        (1.5e300, "1.5e300"),
        (0.0001, "0.0001"),
        (0.00001, "0.00001"),
        (1e-6, "1e-6"),
        (-0.0, "-0.0"),
        (5e-324, "5e-324"),
        (123.45, "123.45"),
        (2**63, "9223372036854775808"),
        ({"b": 1, "a": 2, "\U0001f600": 3, "\ufb33": 4}, '{"a":2,"b":1,"\ufb33":4,"\U0001f600":3}'),
        ('\x1f\b\f\n\r\t"\\/\x7f\u2028', '"\\u001f\\b\\f\\n\\r\\t\\"\\\\/\x7f\u2028"'),
        ([None, True, False], "[null,true,false]"),
    ],
)
def test_it_prints_like_serde_json(value: Any, text: str) -> None:
    assert dumps(value) == text.encode("utf-8")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "\ud800", {"k": "\udfff"}])
def test_it_refuses_what_json_cannot_carry(value: Any) -> None:
    with pytest.raises(LegacyJsonError):
        dumps(value)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5),
    max_leaves=25,
)


@given(json_values)
@settings(max_examples=400)
def test_the_orjson_fast_path_always_equals_the_exact_serialiser(value: Any) -> None:
    assert fast_dumps(value) == dumps(value)


@given(json_values)
@settings(max_examples=300)
def test_output_parses_back_to_the_same_value_and_is_stable(value: Any) -> None:
    text = dumps(value)
    parsed = orjson.loads(text)

    assert parsed == value
    assert dumps(parsed) == text


@given(st.dictionaries(st.text(max_size=6), st.integers(), min_size=2, max_size=6))
def test_key_order_of_the_input_does_not_matter(mapping: dict[str, int]) -> None:
    reversed_mapping = dict(reversed(list(mapping.items())))

    assert dumps(mapping) == dumps(reversed_mapping)
