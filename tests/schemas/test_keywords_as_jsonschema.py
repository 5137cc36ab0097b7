"""The keywords ``schemas.evaluation`` re-implements answer as jsonschema's own (ADR 0046): the
same errors, paths and messages, on generated schemas and documents where both can run."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft7Validator, Draft201909Validator, Draft202012Validator
from jsonschema.protocols import Validator

from schemas.evaluation import hardened

_KEYS = st.sampled_from(["a", "b", "ab", "x1", "y"])
_PATTERNS = st.sampled_from(["^a", "b$", "[0-9]", "^x", "a|y", "^$"])
_LEAVES = st.sampled_from(
    [True, False, {}, {"type": "integer"}, {"type": "string", "pattern": "^a+$"}, {"minimum": 2}, {"const": 1}]
)


def _object_schemas(leaf: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {},
        optional={
            "properties": st.dictionaries(_KEYS, leaf, max_size=2),
            "patternProperties": st.dictionaries(_PATTERNS, leaf, max_size=2),
            "additionalProperties": leaf,
            "unevaluatedProperties": leaf,
            "required": st.lists(_KEYS, max_size=2, unique=True),
        },
    )


_SCHEMAS = st.recursive(
    _object_schemas(_LEAVES),
    lambda inner: st.one_of(
        _object_schemas(inner),
        st.fixed_dictionaries(
            {"allOf": st.lists(inner, min_size=1, max_size=2)}, optional={"unevaluatedProperties": _LEAVES}
        ),
        st.fixed_dictionaries(
            {"anyOf": st.lists(inner, min_size=1, max_size=2)}, optional={"unevaluatedProperties": _LEAVES}
        ),
        st.fixed_dictionaries({"if": inner, "then": inner}, optional={"else": inner, "unevaluatedProperties": _LEAVES}),
        st.fixed_dictionaries({"dependentSchemas": st.dictionaries(_KEYS, inner, max_size=1)}),
    ),
    max_leaves=6,
)
_DOCUMENTS = st.dictionaries(_KEYS, st.one_of(st.integers(0, 3), st.sampled_from(["a", "aa", "b", ""])), max_size=4)


def _errors(cls: type[Validator], schema: Any, document: Any) -> list[tuple[Any, ...]]:
    found = cls(schema).iter_errors(document)
    return sorted((tuple(e.absolute_path), tuple(map(str, e.absolute_schema_path)), e.message) for e in found)


@pytest.mark.parametrize("draft", [Draft202012Validator, Draft201909Validator, Draft7Validator])
@settings(max_examples=300, deadline=None)
@given(schema=_SCHEMAS, document=_DOCUMENTS)
def test_the_same_errors_as_jsonschema(draft: type[Validator], schema: dict[str, Any], document: Any) -> None:
    assert _errors(hardened(draft), schema, document) == _errors(draft, schema, document)
