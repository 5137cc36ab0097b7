"""RFC 8785 through orjson when its sorted output already is canonical: always the writer's bytes.

``ves.jcs.canonicalize`` takes orjson's sorted output unless a double printed with an exponent
or as an integral value, a large integer, a character beyond the Basic Multilingual Plane, deep
nesting or a value that only prints like JSON could make it differ; these tests hold that
whatever it returns or raises is what the writer (``ves.jcs._canonical``, the exact
ECMAScript/UTF-16 implementation) returns or raises.
"""

from __future__ import annotations

import dataclasses
import enum
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ves import jcs, json_text

# The fast path exists with orjson (the speed extra); without it canonicalize is the writer alone.
needs_orjson = pytest.mark.skipif(not json_text.HAVE_ORJSON, reason="the speed extra (orjson) is not installed")


def _writer(value: Any) -> bytes | type[BaseException]:
    try:
        return jcs._canonical(value)
    except jcs.JcsError:
        return jcs.JcsError


def _fast(value: Any) -> bytes | type[BaseException]:
    try:
        return jcs.canonicalize(value)
    except jcs.JcsError:
        return jcs.JcsError


# Strings of every kind the two sort orders and escapes treat differently: control characters,
# the private-use block above the surrogates (sorts after supplementary characters in UTF-16,
# before them by code point), supplementary characters, text that looks like numbers.
texts = st.text(
    st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=["Cs"])
    | st.sampled_from(["\x00", "\x1f", "\x7f", "\ue000", "\uffff", "\U0001f600"]),
    max_size=12,
) | st.sampled_from([":1.5", ",12345678901234567", "[1e5", "e"])
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.sampled_from([2**53 - 1, 2**53, -(2**53), 10**15, 10**16 - 1, 0])
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(texts, children, max_size=5),
    max_leaves=30,
)


@settings(max_examples=1500, deadline=None)
@given(json_values)
def test_any_json_value_canonicalizes_to_the_writers_bytes(value: Any) -> None:
    assert _fast(value) == _writer(value)


class Colour(enum.Enum):
    RED = "red"


class Count(enum.IntEnum):
    ONE = 1


class Name(str):
    pass


class Record(dict[str, Any]):
    pass


@dataclasses.dataclass
class Point:
    x: int


def _nested(depth: int, leaf: Any) -> Any:
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    "value",
    [
        uuid.UUID(int=7),  # orjson writes UUIDs; the writer refuses them
        {"id": uuid.UUID(int=7)},
        Colour.RED,  # orjson writes an enum's value
        [Colour.RED],
        Count.ONE,
        Name("x"),
        {"k": Name("x")},
        Record(a=1),
        (1, "a"),  # a tuple is written as an array by both
        {"t": (1, 2)},
        datetime(2026, 1, 1, tzinfo=UTC),
        Point(1),
        {1, 2},
        b"bytes",
        float("nan"),
        [float("inf")],
        {"nan": float("nan")},
        "\ud800",
        {"\udc00": 1},
        {1: "non-str key"},
        10**400,
        _nested(128, 1),
        _nested(128, []),
        _nested(129, 1),
        _nested(300, 1),  # deeper than orjson writes
        {"a": 1.0, "b": -0.0, "c": 1e21, "d": 2**53 + 1},
        [1e16, 1e300, 5e-324, -1e22, 1.5e-6],  # doubles orjson prints with an exponent
        15.0,  # integral doubles: orjson prints ``15.0``, ECMAScript ``15``
        [1.0],
        {"a": 2.0},
        [1000000000000000.0, 0.5],
        [12.5, 0.000015, 123456.789, 0.30000000000000004],  # plain decimals: the same in both
        {"\ue000": 1, "\U0001f600": 2},
        {"q": 'say "1.5e3"', "n": 1},  # an escaped quote
        {"a": 'x"', "b": 1.0},  # one that would hide the double from a split at quotes
        [True, False, None, 2**53 - 1, -(2**53) + 1],
        {"true": "false", "e": "E", ".": 1},
    ],
    ids=repr,
)
def test_values_that_only_print_like_json_get_the_writers_answer(value: Any) -> None:
    assert _fast(value) == _writer(value)


@needs_orjson
def test_the_fast_path_serves_plain_payloads() -> None:
    """The common payload (BMP text, small integers, nesting) is orjson's output as it is."""
    payload = {"order": {"id": "o-1", "lines": [{"sku": "s1", "qty": 2, "price": 19.99}]}, "note": "caf\u00e9 \u2603"}
    assert jcs.canonicalize(payload) == jcs._canonical(payload)
    assert jcs._orjson_if_canonical(payload) == jcs._canonical(payload)


@needs_orjson
def test_a_wide_value_takes_orjson_however_many_containers_it_holds() -> None:
    """Only depth sends a value to the writer: an order of 300 lines (600 objects, depth 3) is
    canonical as orjson prints it."""
    order = {"lines": [{"sku": f"s{i}", "qty": i, "price": {"amount": i, "currency": "USD"}} for i in range(300)]}

    fast = jcs._orjson_if_canonical(order)

    assert fast is not None
    assert fast == jcs._canonical(order)
