"""Compatibility rules (docs/schemas.md): table cases, and a property checked on generated documents."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from schemas.compatibility import check_schema, compatibility_problems, widening_problems
from schemas.registry import build_validator, schema_errors

ORDER: dict[str, Any] = {
    "type": "object",
    "properties": {"total": {"type": "integer", "minimum": 0}, "currency": {"type": "string", "enum": ["USD", "EUR"]}},
    "required": ["total"],
}


def _with(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**base, **changes}


BACKWARD_CASES: list[tuple[str, Any, bool]] = [
    ("identical", ORDER, True),
    ("description added", _with(ORDER, description="an order"), True),
    ("required property dropped", _with(ORDER, required=[]), True),
    ("new required property", _with(ORDER, required=["total", "currency"]), False),
    (
        "integer widened to number",
        _with(ORDER, properties={**ORDER["properties"], "total": {"type": "number", "minimum": 0}}),
        True,
    ),
    (
        "number narrowed to integer",
        _with(ORDER, properties={**ORDER["properties"], "total": {"type": "string"}}),
        False,
    ),
    ("minimum lowered", _with(ORDER, properties={**ORDER["properties"], "total": {"type": "integer"}}), True),
    (
        "minimum raised",
        _with(ORDER, properties={**ORDER["properties"], "total": {"type": "integer", "minimum": 1}}),
        False,
    ),
    (
        "enum widened",
        _with(ORDER, properties={**ORDER["properties"], "currency": {"type": "string", "enum": ["USD", "EUR", "GBP"]}}),
        True,
    ),
    (
        "enum narrowed",
        _with(ORDER, properties={**ORDER["properties"], "currency": {"type": "string", "enum": ["USD"]}}),
        False,
    ),
    ("additionalProperties closed", _with(ORDER, additionalProperties=False), False),
    (
        "new optional typed property on an open object",
        _with(ORDER, properties={**ORDER["properties"], "note": {"type": "string"}}),
        False,
    ),
    ("everything allowed", {}, True),
    ("nothing allowed", False, False),
    ("unknown keyword added", _with(ORDER, allOf=[{"type": "object"}]), False),
]


@pytest.mark.parametrize(("name", "new", "compatible"), BACKWARD_CASES, ids=[c[0] for c in BACKWARD_CASES])
def test_backward_rules(name: str, new: Any, compatible: bool) -> None:
    assert (compatibility_problems("backward", ORDER, new) == []) is compatible


def test_forward_is_backward_reversed_and_full_is_both() -> None:
    looser = _with(ORDER, required=[])
    assert compatibility_problems("backward", ORDER, looser) == []
    assert compatibility_problems("forward", ORDER, looser) != []
    assert compatibility_problems("forward", looser, ORDER) == []
    assert compatibility_problems("full", ORDER, looser) != []
    assert compatibility_problems("full", ORDER, _with(ORDER, title="same")) == []
    assert compatibility_problems("none", ORDER, False) == []


def test_removing_a_property_of_a_closed_object_is_not_backward() -> None:
    closed = _with(ORDER, additionalProperties=False)
    without = _with(closed, properties={"total": ORDER["properties"]["total"]})
    problems = compatibility_problems("backward", closed, without)
    assert problems == ["backward: $.currency: the new schema rejects every value"]


def test_refs_are_compatible_only_when_identical() -> None:
    with_ref = {"$defs": {"n": {"type": "integer"}}, "properties": {"a": {"$ref": "#/$defs/n"}}}
    assert compatibility_problems("backward", with_ref, with_ref) == []
    assert compatibility_problems("backward", with_ref, {**with_ref, "$defs": {"n": {"type": "number"}}}) != []


def test_schema_check_reports_the_path() -> None:
    assert check_schema(ORDER) is None
    problem = check_schema({"type": "object", "properties": {"a": {"type": "nope"}}})
    assert problem is not None
    assert "properties" in problem


# --- property: "compatible" is a proof on documents ----------------------------------------

_scalars = st.sampled_from(["integer", "number", "string", "boolean", "null"])
_values = st.integers(-2, 2) | st.sampled_from(["a", "b"]) | st.none()
# Drafts in which the generated keywords mean different things: draft 4 has no ``const``.
_drafts = st.sampled_from(
    [
        "http://json-schema.org/draft-04/schema#",
        "http://json-schema.org/draft-07/schema#",
        "https://json-schema.org/draft/2020-12/schema",
    ]
)
_leaf = st.fixed_dictionaries(
    {},
    optional={
        "type": _scalars | st.lists(_scalars, min_size=1, max_size=3, unique=True),
        "minimum": st.integers(-3, 3),
        "maximum": st.integers(-3, 3),
        "maxLength": st.integers(0, 3),
        "minLength": st.integers(0, 3),
        "enum": st.lists(_values, min_size=1, max_size=3),
        "const": _values,
        "$schema": _drafts,  # a subschema declaring its draft: jsonschema switches there
    },
)
_names = st.sampled_from(["a", "b", "c"])
_schemas = st.recursive(
    _leaf | st.booleans(),
    lambda inner: (
        st.fixed_dictionaries(
            {"type": st.just("object")},
            optional={
                "properties": st.dictionaries(_names, inner, max_size=3),
                "required": st.lists(_names, max_size=3, unique=True),
                "additionalProperties": inner,
            },
        )
        | st.fixed_dictionaries({"type": st.just("array")}, optional={"items": inner, "maxItems": st.integers(0, 3)})
    ),
    max_leaves=6,
)


def _in_draft(schema: Any, draft: str | None) -> Any:
    return {"$schema": draft, **schema} if draft is not None and isinstance(schema, dict) else schema


# Versions as registered: a root that may declare its draft (2020-12 when it does not).
_versions = st.builds(_in_draft, _schemas, st.none() | _drafts)
_documents = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-4, 4)
    | st.floats(-4, 4, allow_nan=False)
    | st.sampled_from(["", "a", "b"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_names | st.just("z"), inner, max_size=3),
    max_leaves=8,
)


def _draft_of(schema: Any) -> str:
    return str(schema.get("$schema", "default")) if isinstance(schema, dict) else "default"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(old=_versions, new=_versions, documents=st.lists(_documents, min_size=1, max_size=20))
def test_backward_compatible_means_every_old_document_stays_valid(old: Any, new: Any, documents: list[Any]) -> None:
    """Soundness across drafts too: the versions may declare different ``$schema`` (at the root or
    in a subschema), and documents are checked by the validators ingest builds for them."""
    assume(check_schema(old) is None and check_schema(new) is None)  # only registrable versions are compared
    same_draft = _draft_of(old) == _draft_of(new)
    event(f"root drafts {'equal' if same_draft else 'differ'}")
    if widening_problems(old, new):
        return
    event("compatible pair")  # hypothesis statistics show how often the proof path runs
    if not same_draft:
        event("compatible pair across drafts (old accepts nothing or new everything)")
    old_validator, new_validator = build_validator(old), build_validator(new)
    for document in documents:
        if not schema_errors(old_validator, document):
            assert not schema_errors(new_validator, document), (old, new, document)


@settings(max_examples=200, deadline=None)
@given(schema=_schemas, documents=st.lists(_documents, max_size=10))
def test_every_schema_is_compatible_with_a_relaxed_copy(schema: Any, documents: list[Any]) -> None:
    """Dropping ``required`` and bounds never breaks backward compatibility, and the check agrees."""

    def relax(s: Any) -> Any:
        if not isinstance(s, dict):
            return s
        out = {k: v for k, v in s.items() if k not in ("required", "minimum", "maximum", "minLength", "maxLength")}
        if "properties" in out:
            out["properties"] = {k: relax(v) for k, v in out["properties"].items()}
        for key in ("items", "additionalProperties"):
            if key in out:
                out[key] = relax(out[key])
        return out

    assert widening_problems(schema, schema) == []
    relaxed = relax(schema)
    assert widening_problems(schema, relaxed) == []
    for document in documents:
        if Draft202012Validator(schema).is_valid(document):
            assert Draft202012Validator(relaxed).is_valid(document)
