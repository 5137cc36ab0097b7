"""The two kinds of field error of ``sequencer_project.api.fields``: the reference's extractor
(serde) refuses a missing member, a wrong JSON type or a value its declared type cannot hold with
422; its handlers refuse a well-typed value with 400."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sequencer_project.api.errors import BadRequestError, InvalidFieldValueError, InvalidRequestError, SequencerError
from sequencer_project.api.fields import (
    I32,
    U32,
    Fields,
    ShapeErrors,
    field_value_error,
    hex_bytes,
    invalid_field_value,
)

Read = Callable[[Fields], object]

SHAPE: list[tuple[dict[str, Any], Read]] = [
    ({}, lambda f: f.text("name", max_length=3)),
    ({"name": None}, lambda f: f.text("name", max_length=3)),
    ({"name": 5}, lambda f: f.text("name", max_length=3)),
    ({"name": ["a"]}, lambda f: f.choice("name", {"a"})),
    ({"name": "b"}, lambda f: f.choice("name", {"a"}, enum=True)),
    ({"name": "not-a-uuid"}, lambda f: f.uuid("name")),
    ({"name": "0" * 32}, lambda f: f.uuid_list("name", max_items=5)),
    ({"name": ["nope"]}, lambda f: f.uuid_list("name", max_items=5)),
    ({"name": "12"}, lambda f: f.integer("name")),
    ({"name": True}, lambda f: f.integer("name")),
    ({"name": 1.0}, lambda f: f.integer("name")),
    ({"name": -1}, lambda f: f.integer("name")),  # a u64 cannot be negative
    ({"name": 2**32}, lambda f: f.integer("name", maximum=2**40, type_range=U32)),
    ({"name": 2**31}, lambda f: f.optional_integer("name", maximum=2**40, type_range=I32)),
    ({}, lambda f: f.member("name")),
    ({"name": "yes"}, lambda f: f.boolean("name")),
    ({"name": 0}, lambda f: f.boolean("name")),
    ({"name": "2024-13-01T00:00:00Z"}, lambda f: f.timestamp("name")),
    ({"name": 1700000000}, lambda f: f.timestamp("name")),
]

VALUE: list[tuple[dict[str, Any], Read]] = [
    ({"name": "abcd"}, lambda f: f.text("name", max_length=3)),
    ({"name": "b"}, lambda f: f.choice("name", {"a"})),
    ({"name": [str(i).zfill(32) for i in range(3)]}, lambda f: f.uuid_list("name", max_items=2)),
    ({"name": 0}, lambda f: f.integer("name", minimum=1)),
    ({"name": 11}, lambda f: f.integer("name", maximum=10)),
    ({"name": 2**63}, lambda f: f.integer("name")),  # a u64, but beyond PostgreSQL bigint
    ({"name": -5}, lambda f: f.integer("name", minimum=-1, type_range=I32)),
]


def _raised(body: dict[str, Any], read: Read, fields: Fields | None = None) -> SequencerError:
    with pytest.raises(SequencerError) as caught:
        read(fields or Fields(body))
    return caught.value


@pytest.mark.parametrize(("body", "read"), SHAPE)
def test_shape_errors_are_422_invalid_request_naming_the_member(body: dict[str, Any], read: Read) -> None:
    error = _raised(body, read)
    assert (error.http_status, error.code) == (422, "invalid_request")
    assert list(error.errors or {}) == ["name"]


@pytest.mark.parametrize(("body", "read"), VALUE)
def test_value_errors_are_400_invalid_field_value_naming_the_member(body: dict[str, Any], read: Read) -> None:
    error = _raised(body, read)
    assert (error.http_status, error.code) == (400, "invalid_field_value")
    assert list(error.errors or {}) == ["name"]
    assert error.extensions["field"] == "name"


def test_an_endpoint_code_replaces_value_errors_only() -> None:
    def endpoint_error(name: str, message: str) -> SequencerError:
        # An existing class: a test subclass would join the hierarchy the OpenAPI document lists.
        return BadRequestError(message, field=name)

    assert _raised({}, lambda f: f.integer("n", maximum=1), Fields({"n": 2}, endpoint_error)).code == "bad_request"
    assert _raised({}, lambda f: f.integer("n"), Fields({"n": "2"}, endpoint_error)).code == "invalid_request"


def test_well_formed_values_pass() -> None:
    fields = Fields({"t": "ab", "c": "a", "i": 7, "l": ["0" * 32]})
    assert fields.text("t", max_length=3) == "ab"
    assert fields.choice("c", {"a"}, enum=True) == "a"
    assert fields.integer("i", minimum=1, maximum=7) == 7
    assert fields.optional_integer("missing") is None
    assert fields.uuid_list("l", max_items=1) is not None


def test_optional_members_pass_absent_or_null_and_a_required_member_may_be_null() -> None:
    fields = Fields({"b": True, "s": "2024-01-02T03:04:05Z", "n": None})
    assert fields.boolean("b") is True
    assert fields.boolean("n") is None
    assert fields.timestamp("s") is not None
    assert fields.timestamp("missing") is None
    assert fields.member("n") is None  # present: a free JSON member may be null
    assert (fields.has("n"), fields.has("missing")) == (True, False)


def test_a_message_words_both_a_missing_and_an_ill_typed_member() -> None:
    message = "Required; a UUID."
    for body in ({}, {"name": "nope"}):
        assert _raised(body, lambda f: f.uuid("name", message=message)).errors == {"name": [message]}
    assert _raised({"name": -1}, lambda f: f.integer("name", message=message)).errors == {"name": [message]}


def test_shape_errors_collect_every_refused_member_in_reading_order() -> None:
    fields = Fields({"a": "nope", "b": 1, "c": 5})
    shape = ShapeErrors()
    assert shape.read(lambda: fields.uuid("a")) is None
    assert shape.read(lambda: fields.integer("b")) == 1
    assert shape.read(lambda: fields.boolean("c")) is None
    assert shape.read(lambda: fields.member("d")) is None
    with pytest.raises(SequencerError) as caught:
        shape.check()
    error = caught.value
    assert (error.http_status, error.code) == (422, "invalid_request")
    assert list(error.errors or {}) == ["a", "c", "d"]
    assert error.detail == "Invalid value at a: must be a UUID string."


def test_shape_errors_let_value_errors_through_at_once() -> None:
    shape = ShapeErrors()
    with pytest.raises(SequencerError) as caught:
        shape.read(lambda: Fields({"n": 11}).integer("n", maximum=10))
    assert caught.value.code == "invalid_field_value"
    shape.check()  # nothing collected: no error


@given(st.binary(min_size=1, max_size=64), st.sampled_from(["", "0x", "0X"]), st.booleans())
def test_hex_reads_back_any_bytes_with_or_without_a_prefix_in_either_case(raw: bytes, prefix: str, upper: bool) -> None:
    text = prefix + (raw.hex().upper() if upper else raw.hex())

    assert Fields({"h": text}).hex("h") == raw
    assert hex_bytes(text, "h", invalid_field_value, lengths=(len(raw),)) == raw


@pytest.mark.parametrize(
    "text", ["", "0x", "abc", "ab cd", " abcd", "abcd\n", "zz", "0xg0", "\u0660\u0661", "ab\uff10"]
)
def test_hex_refuses_anything_but_even_ascii_hex_digits_with_the_endpoints_400(text: str) -> None:
    with pytest.raises(SequencerError) as refused:
        Fields({"h": text}, field_value_error(InvalidFieldValueError)).hex("h")

    assert refused.value.http_status == 400
    assert refused.value.errors == {"h": ["must be an even number of hex digits, optionally after 0x."]}


@given(st.text(max_size=80))
def test_hex_answers_any_text_with_bytes_or_a_400_never_another_error(text: str) -> None:
    refusals: list[InvalidFieldValueError] = []
    try:
        hex_bytes(text, "h", invalid_field_value)
    except InvalidFieldValueError as refused:
        refusals.append(refused)

    assert all(list(refused.errors or {}) == ["h"] for refused in refusals)


def test_hex_of_the_wrong_type_is_a_shape_error_and_a_wrong_length_names_the_lengths() -> None:
    for value in (12, ["ab"], {"a": 1}, True):
        with pytest.raises(InvalidRequestError):
            Fields({"h": value}).hex("h")
    with pytest.raises(InvalidFieldValueError) as refused:
        Fields({"h": "ab" * 31}).hex("h", lengths=(32,))
    assert refused.value.errors == {"h": ["must be 32 bytes of hex, not 31."]}
    assert Fields({}).optional_hex("h") is None
    assert Fields({"h": None}).optional_hex("h") is None
    assert Fields({"h": "0xab"}).optional_hex("h") == b"\xab"
    with pytest.raises(InvalidRequestError):
        Fields({}).hex("h")


def test_an_endpoint_value_error_carries_the_errors_map_too() -> None:
    refused = field_value_error(InvalidFieldValueError)("amount", "must be positive.")

    assert refused.errors == {"amount": ["must be positive."]}
    assert refused.extensions == {"field": "amount"}


def test_a_text_that_must_not_be_blank_refuses_white_space_with_the_endpoints_400() -> None:
    assert Fields({"n": " a "}).text("n", max_length=5, blank=False) == " a "
    assert Fields({"n": " \t"}).text("n", max_length=5) == " \t"
    for blank in ("", "   ", "\n\t"):
        with pytest.raises(InvalidFieldValueError) as refused:
            Fields({"n": blank}).text("n", max_length=5, blank=False)
        assert refused.value.errors == {"n": ["must not be blank."]}
