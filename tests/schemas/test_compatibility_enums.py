"""Compatibility of finite value sets (``enum``/``const``): a list only grows safely, however long
(docs/schemas.md, "Compatibility"). A 1,500-value enum gaining one value had been refused as if
20 of its values were gone: the exact check ran out of its step budget."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.compatibility import compatibility_problems

SCALARS = st.one_of(st.booleans(), st.integers(-5, 5), st.sampled_from([0.0, 1.0, 2.5]), st.sampled_from(["a", "b"]))


def _json_equal_in(value: Any, values: list[Any]) -> bool:
    """JSON Schema's equality: 1 == 1.0, but true is not 1."""
    return any((type(value) is bool) == (type(v) is bool) and value == v for v in values)


@given(st.lists(SCALARS, min_size=1, max_size=6), st.lists(SCALARS, min_size=1, max_size=6))
def test_an_enum_is_a_backward_successor_exactly_when_it_keeps_every_old_value(old: list[Any], new: list[Any]) -> None:
    problems = compatibility_problems("backward", {"enum": old}, {"enum": new})
    kept = all(_json_equal_in(value, new) for value in old)
    assert (problems == []) is kept, problems


@pytest.mark.parametrize("beside", [{}, {"type": "string"}, {"type": "string", "maxLength": 6}])
def test_a_long_enum_gains_a_value_and_loses_one(beside: dict[str, Any]) -> None:
    values = [f"v{n:05}" for n in range(1_500)]
    old = {**beside, "enum": values}
    assert compatibility_problems("backward", old, {**beside, "enum": [*values, "new"]}) == []
    assert compatibility_problems("full", old, {**beside, "enum": values[::-1]}) == []
    assert compatibility_problems("backward", old, {**beside, "enum": values[1:]}) == [
        'backward: $: value "v00000" is no longer accepted'
    ]
    assert compatibility_problems("forward", old, {**beside, "enum": [*values, "new"]}) == [
        'forward: $: value "new" is no longer accepted'
    ]


def test_an_enum_beside_other_keywords_is_still_evaluated() -> None:
    # old allows "a" only as a string of length 1; new's extra keyword refuses it
    assert compatibility_problems("backward", {"enum": ["a", 1]}, {"enum": ["a", 1], "type": "string"}) == [
        "backward: $: value 1 is no longer accepted"
    ]
    assert compatibility_problems("backward", {"enum": ["a", 1], "type": "string"}, {"enum": ["a"]}) == []
