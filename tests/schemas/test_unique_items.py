"""``uniqueItems`` in linear time (``schemas.evaluation``) decides as jsonschema's equality does (ADR 0046)."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from jsonschema._utils import equal, uniq  # jsonschema's own definition, the reference here

from schemas.evaluation import frozen
from schemas.registry import build_validator, validate_payload

# Values that collide under Python's equality but not JSON Schema's (True == 1, False == 0),
# that JSON Schema calls equal (1 == 1.0, -0.0 == 0), and containers of them at any depth.
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from([0, 1, 2, 0.0, -0.0, 1.0, 2.0, 1.5]),
    st.text(alphabet="ab1", max_size=2),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(alphabet="ab", max_size=2), inner, max_size=3),
    max_leaves=10,
)
_ARRAYS = st.lists(_VALUES, max_size=8)
SCHEMA = {"type": "array", "uniqueItems": True}
VALIDATOR = build_validator(SCHEMA)


def _unique_pairwise(items: list[Any]) -> bool:
    """jsonschema's definition: no two items ``equal`` (what its ``uniq`` falls back to)."""
    return not any(equal(one, two) for one, two in itertools.combinations(items, 2))


@settings(max_examples=1_000, deadline=None)
@given(_ARRAYS)
def test_the_linear_check_decides_as_jsonschemas_equality(items: list[Any]) -> None:
    unique = _unique_pairwise(items)

    assert (validate_payload(VALIDATOR, items) == ()) is unique
    if not uniq(items):  # jsonschema's sort-then-compare: what it finds, we find
        assert not unique


@settings(max_examples=500, deadline=None)
@given(_VALUES, _VALUES)
def test_frozen_forms_are_equal_exactly_when_the_values_are(one: Any, two: Any) -> None:
    assert (frozen(one) == frozen(two)) is equal(one, two)
    if equal(one, two):
        assert hash(frozen(one)) == hash(frozen(two))


def test_the_message_is_jsonschemas_in_json_notation() -> None:
    items = [{"a": 1}, {"a": 1.0}]
    [expected] = Draft202012Validator(SCHEMA).iter_errors(items)

    [error] = validate_payload(VALIDATOR, items)

    assert expected.message == "[{'a': 1}, {'a': 1.0}] has non-unique elements"
    assert (error.path, error.message) == ("", '[{"a": 1}, {"a": 1.0}] has non-unique elements')


def test_a_duplicate_jsonschemas_sort_misses_is_found() -> None:
    """jsonschema sorts the items and compares neighbours; [True] and [1] sort as equal (Python),
    so the two [True] need not be neighbours and it answers "unique". The spec says they are not."""
    items: list[Any] = [[True], [1], [True]]

    assert uniq(items) is True
    assert not _unique_pairwise(items)
    assert validate_payload(VALIDATOR, items) != ()
