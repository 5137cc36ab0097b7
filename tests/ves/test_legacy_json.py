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

from ves.legacy_json import LegacyJsonError, dumps, fast_dumps, loads_as_serde, may_hold_minus_zero, payload_hash

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


@given(json_values)
@settings(max_examples=300)
def test_serdes_reading_is_orjsons_wherever_no_integer_minus_zero_is_written(value: Any) -> None:
    """orjson never writes the integer literal ``-0`` (it writes ``0`` and ``-0.0``), so every
    such text reads the same both ways, strings holding "-0" included."""
    text = orjson.dumps(value)
    as_serde, as_orjson = loads_as_serde(text), orjson.loads(text)

    assert as_serde == as_orjson
    assert dumps(as_serde) == dumps(as_orjson)


@pytest.mark.parametrize(
    ("text", "serialised"),
    [
        (b'{"x":-0}', b'{"x":-0.0}'),
        (b'{"x":-0.0}', b'{"x":-0.0}'),
        (b'[-0,0,-0e1,-0.5,"-0",-0.0e0]', b'[-0.0,0,-0.0,-0.5,"-0",-0.0]'),
        (b'{"x":-10}', b'{"x":-10}'),
        (b"[-0,18446744073709551616,-9223372036854775809]", b"[-0.0,1.8446744073709552e19,-9.223372036854776e18]"),
        (b"[-0,18446744073709551615,-9223372036854775808]", b"[-0.0,18446744073709551615,-9223372036854775808]"),
    ],
)
def test_the_literal_minus_zero_is_serdes_negative_double(text: bytes, serialised: bytes) -> None:
    """serde_json reads ``-0`` as ``-0.0`` (an i64 holds no negative zero): so the reference hashes it."""
    assert dumps(loads_as_serde(text)) == serialised


@pytest.mark.parametrize(
    ("text", "holds"),
    [
        (b'{"x":-0}', True),
        (b"[1,-0]", True),
        (b'{"at":"2026-01-05T10:00:00-05:00","n":-0.5,"e":-0e1,"m":-01}', False),
        (b'{"id":"order-0"}', False),
        (b'{"a": -0 }', True),
        (b"-0", True),
        (b'{"note":"x,-0"}', True),  # inside a string: read the slow way, still the same value
    ],
)
def test_only_texts_that_may_hold_the_literal_take_the_slow_reading(text: bytes, holds: bool) -> None:
    assert may_hold_minus_zero(text) is holds


@given(st.integers(min_value=-(2**70), max_value=2**70))
def test_integers_of_any_size_read_as_orjson_reads_them(number: int) -> None:
    """Beyond 64 bits both read a double (serde_json's f64); within, the integer."""
    text = b"[-0,%d]" % number
    assert loads_as_serde(text)[1:] == orjson.loads(text)[1:]
    assert type(loads_as_serde(text)[1]) is type(orjson.loads(text)[1])


@given(st.lists(st.uuids(), min_size=1, max_size=20))
def test_uuids_never_take_the_slow_reading(ids: list[Any]) -> None:
    """Hex after "-0" once matched: ~4 % of UUIDs sent their whole batch to the slow parser."""
    text = orjson.dumps({"ids": [str(u) for u in ids], "upper": [str(u).upper() for u in ids]})
    assert not may_hold_minus_zero(text)
