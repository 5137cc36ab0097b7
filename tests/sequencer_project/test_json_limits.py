"""The generic JSON body limits (``sequencer_project/api/json_limits.py``, ADR 0016) and the strict
integer/UUID readers of request text; no database."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema.validators import validator_for

from events.projections.merge import merge_patch
from schemas.compatibility import check_schema
from schemas.registry import build_validator, validate_payload
from sequencer_project.api.errors import (
    ConflictError,
    InvalidFieldError,
    InvalidParameterError,
    JsonTooDeepError,
    MalformedJsonError,
)
from sequencer_project.api.fields import ascii_int, parse_uuid, path_int
from sequencer_project.api.json_limits import MAX_JSON_DEPTH, has_nul_escape, jsonb_problem, nul_path
from sequencer_project.api.json_numbers import huge_ints_as_floats
from sequencer_project.api.parsers import loads
from sequencer_project.api.problems import problem_body
from ves.json_depth import too_deep
from ves.legacy_json import dumps as legacy_dumps


@given(st.lists(st.sampled_from([b"\\u0000", b"\\u00001", b"\\", b"u0000", b"\\n", b"x", b"0", b'"']), max_size=12))
def test_the_nul_escape_is_found_wherever_it_stands(parts: list[bytes]) -> None:
    raw = b"".join(parts)

    assert has_nul_escape(raw) is (b"\\u0000" in raw)


def _arrays(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def test_the_body_may_nest_exactly_the_limit() -> None:
    assert loads(_arrays(MAX_JSON_DEPTH)) is not None
    with pytest.raises(JsonTooDeepError) as raised:
        loads(_arrays(MAX_JSON_DEPTH + 1))
    assert raised.value.extensions == {"limit": MAX_JSON_DEPTH}


def test_depth_counts_objects_and_arrays_but_not_brackets_in_strings() -> None:
    mixed = b'{"a":' * 32 + b"[" * 32 + b"]" * 32 + b"}" * 32
    assert not too_deep(mixed, orjson.loads(mixed), MAX_JSON_DEPTH)
    assert too_deep(b'{"b":' + mixed + b"}", orjson.loads(b'{"b":' + mixed + b"}"), MAX_JSON_DEPTH)
    wide = orjson.dumps([[1]] * 1000 + ["[[[[" * 100])  # many brackets, depth 2
    assert not too_deep(wide, orjson.loads(wide), MAX_JSON_DEPTH)


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ("\x00", ""),
        ({"a": "x\x00"}, "a"),
        ({"a": [1, {"b": ["ok", "\x00"]}]}, "a[1].b[1]"),
        ({"k\x00": 1}, "k\\u0000"),
        ({"a": {"k\x00": {"c": 1}}}, "a.k\\u0000"),
        ({"a": ["x", {"b": None}], "c": 1.5}, None),
    ],
)
def test_nul_path_names_the_first_string_or_key_holding_nul(value: Any, path: str | None) -> None:
    assert nul_path(value) == path
    raw = orjson.dumps(value)
    if path is None:
        assert loads(raw) == value
        assert jsonb_problem(value, raw) is None
    else:
        with pytest.raises(InvalidFieldError) as raised:
            loads(raw)
        assert raised.value.extensions == {"field": path}
        assert loads(raw, allow_nul=True) == value
        assert "\x00" not in (jsonb_problem(value, raw) or "\x00")


def test_an_escaped_backslash_before_u0000_is_text_not_nul() -> None:
    raw = b'{"text": "\\\\u0000"}'  # the six characters \u0000
    assert loads(raw) == {"text": "\\u0000"}


def test_lone_surrogates_never_parse() -> None:
    """orjson refuses them, so nothing reaches PostgreSQL, which refuses them too (22P02)."""
    for raw in (b'"\\ud800"', b'{"\\udc00": 1}', b'["x\\udfff"]'):
        with pytest.raises(MalformedJsonError):
            loads(raw)


def _at_stack_depth(frames: int, call: Callable[[], Any]) -> Any:
    return call() if frames <= 0 else _at_stack_depth(frames - 1, call)


def _object_levels(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = {"a": value}
    return value


def _all_of_schema(json_depth: int) -> Any:
    schema: Any = {"type": "integer"}
    for _ in range(json_depth // 2):  # {"allOf": [ ... ]}: two JSON levels each
        schema = {"allOf": [schema]}
    return schema


def test_recursive_consumers_survive_the_limit_with_room_to_spare() -> None:
    """What a body at the limit can make our recursive code do, with 300 frames already on the
    stack (a request is far shallower): the cheapest of these broke at about 115 levels."""
    recursive_any_of = {"anyOf": [{"type": "integer"}, {"type": "object", "properties": {"a": {"$ref": "#"}}}]}
    validator = validator_for(recursive_any_of)(recursive_any_of)
    payload = _object_levels(MAX_JSON_DEPTH)

    def consume() -> None:
        assert list(validator.iter_errors(payload)) == []
        assert check_schema(_all_of_schema(MAX_JSON_DEPTH)) is None
        assert merge_patch({}, payload) == payload
        assert huge_ints_as_floats(payload) == payload
        assert legacy_dumps(payload) == orjson.dumps(payload)

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)  # Python's default (importing web3 raises it, see below)
    try:
        _at_stack_depth(300, consume)
    finally:
        sys.setrecursionlimit(limit)


@pytest.mark.parametrize(
    "schema", [{"$ref": "#"}, {"allOf": [{"$ref": "#"}]}, {"$defs": {"a": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}]
)
def test_endless_references_are_stopped_even_under_web3s_recursion_limit(schema: Any) -> None:
    """``import web3`` sets the recursion limit to 100,000 (py_ecc): such a recursion would then
    overflow the C stack (a segfault) long before Python raised RecursionError."""
    import web3  # noqa: F401  (the import is the point)

    assert sys.getrecursionlimit() >= 100_000
    assert check_schema(schema) is not None
    assert [e.path for e in validate_payload(build_validator(schema), {"a": 1})] == [""]


@pytest.mark.parametrize("raw", ["\u00b2", "\u0663", " 1", "1 ", "+1", "1_0", "1e3", "0x10", "", "-", "1" * 20, "\x00"])
def test_integers_in_request_text_are_ascii_digits_only(raw: str) -> None:
    assert ascii_int(raw) is None
    with pytest.raises(InvalidParameterError):
        path_int(raw, "id")


def test_path_integers_are_bounded() -> None:
    assert path_int("0", "id") == 0
    assert path_int("9223372036854775807", "id") == 2**63 - 1
    assert ascii_int("-5") == -5
    for raw, bounds in (("-1", {}), ("9223372036854775808", {}), ("0", {"minimum": 1}), ("11", {"maximum": 10})):
        with pytest.raises(InvalidParameterError):
            path_int(raw, "id", **bounds)


@pytest.mark.parametrize("raw", ["\u0663" * 32, "\uff11" * 32, "not-a-uuid", ""])
def test_uuids_in_request_text_are_ascii(raw: str) -> None:
    with pytest.raises(InvalidParameterError):
        parse_uuid(raw, "id")


def test_an_extension_member_never_replaces_the_problem_status() -> None:
    body = problem_body(ConflictError("x", status="sequenced", code="other", title="t"), "req")
    assert (body["status"], body["code"], body["title"], body["instance"]) == (409, "conflict", "Conflict", "req")


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.text(alphabet='[]{}a"\\', max_size=4),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=4),
    max_leaves=40,
)


@given(value=_JSON, limit=st.integers(min_value=1, max_value=8))
def test_too_deep_says_whether_the_nesting_passes_the_limit(value: Any, limit: int) -> None:
    raw = orjson.dumps(value)
    assert too_deep(raw, orjson.loads(raw), limit) == (_depth(value) > limit)
