"""Typed readers of request input: JSON body members, then query and path parameters. A wrong
type or an unusable value is a 4xx naming the field or parameter.

The body already passed the generic JSON limits (depth, U+0000: ``parsers.loads``). These
readers check the JSON type before anything compares, hashes or converts the value (``{} in
NETWORKS`` raised ``TypeError``: a 500), and bound what PostgreSQL would refuse later (bigint
range, text length).

Two kinds of field error, as the reference answers them (axum's ``Json<T>`` extractor runs serde
before the handler sees anything):

* **shape** — a required member missing or null, a member of the wrong JSON type, a value the
  reference's declared type cannot hold (a negative or oversized ``u32``/``u64``, a UUID that is
  not one, a word outside a serde ``enum``): serde refuses the body, so 422 ``invalid_request``
  for every endpoint, by construction.
* **value** — a member of the right type that the handler then refuses (too long, outside the
  endpoint's own range, not one of the words a ``String`` field accepts): 400. By default
  ``invalid_field_value``; an endpoint with its own public 400 code passes ``error``.

Query and path parameters are text, so they have no shape errors: anything missing, malformed
or out of range is 400 ``invalid_parameter`` naming the parameter (``query_*``, ``path_*``). An
empty query parameter (``?name=``) reads as absent.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from rest_framework.request import Request

from sequencer_project.api.body import read_json_body
from sequencer_project.api.errors import (
    InvalidFieldValueError,
    InvalidParameterError,
    InvalidRequestError,
    SequencerError,
)
from ves.rfc3339 import parse_rfc3339

BIGINT_MAX = 2**63 - 1  # every integer parameter ends up compared with a bigint column

# Ranges of the integer types the reference declares (serde refuses values outside them: 422).
U32 = (0, 2**32 - 1)
U64 = (0, 2**64 - 1)
I32 = (-(2**31), 2**31 - 1)

FieldError = Callable[[str, str], SequencerError]
T = TypeVar("T")

_ASCII_INT = re.compile(r"-?[0-9]{1,19}")
_TRUE, _FALSE = ("true", "1"), ("false", "0")


def invalid_request(name: str, message: str) -> SequencerError:
    """A shape error: 422 ``invalid_request`` with ``errors = {name: [message]}``."""
    return InvalidRequestError(f"Invalid value at {name}: {message}", errors={name: [message]})


def invalid_field_value(name: str, message: str) -> SequencerError:
    """The default value error: 400 ``invalid_field_value`` with ``errors = {name: [message]}``."""
    return InvalidFieldValueError(f"Invalid value at {name}: {message}", errors={name: [message]}, field=name)


def field_value_error(error: type[SequencerError]) -> FieldError:
    """The value error of an endpoint with its own public 400 code: ``error`` with the detail
    ``'name' message`` and the ``field`` extension."""

    def refuse(name: str, message: str) -> SequencerError:
        return error(f"'{name}' {message}", errors={name: [message]}, field=name)

    return refuse


def json_object(body: object) -> dict[str, Any]:
    """The parsed body, which must be a JSON object (422 ``invalid_request`` otherwise)."""
    if not isinstance(body, dict):
        raise InvalidRequestError("The body must be a JSON object.")
    return body


def request_fields(request: Request, error: FieldError = invalid_field_value) -> Fields:
    """The request's JSON object body, ready for the readers: the one way a view reads a body.

    415 for another media type, 413 over ``MAX_BODY_SIZE_BYTES``, 400 for malformed JSON, JSON
    nested too deep or holding U+0000, 422 when the body is not an object.
    """
    return Fields(json_object(read_json_body(request)), error)


def parse_uuid_text(value: object) -> UUID | None:
    """A UUID written in ASCII (``uuid.UUID`` also reads Arabic-Indic digits), else ``None``."""
    if not isinstance(value, str) or not value.isascii():
        return None
    try:
        return UUID(value)
    except ValueError:
        return None


def hex_bytes(value: object, name: str, error: FieldError, *, lengths: Collection[int] = ()) -> bytes:
    """``value`` read as hex: an optional ``0x`` or ``0X``, then an even number of ASCII hex
    digits and nothing else (``bytes.fromhex`` alone also skips spaces and reads no prefix).

    Not a string: 422 ``invalid_request``. Not such hex, or a byte length outside ``lengths``
    (any non-empty length when empty): ``error``, the endpoint's 400.
    """
    if not isinstance(value, str):
        raise invalid_request(name, "must be a hex string.")
    digits = value[2:] if value[:2] in ("0x", "0X") else value
    if not digits or len(digits) % 2 or not digits.isascii() or not digits.isalnum():
        raise error(name, "must be an even number of hex digits, optionally after 0x.")
    try:
        raw = bytes.fromhex(digits)
    except ValueError:
        raise error(name, "must be an even number of hex digits, optionally after 0x.") from None
    if lengths and len(raw) not in lengths:
        raise error(name, f"must be {' or '.join(map(str, lengths))} bytes of hex, not {len(raw)}.")
    return raw


@dataclass(frozen=True, slots=True)
class Fields:
    """The members of one JSON object body.

    Shape errors are always 422 ``invalid_request``; ``error`` builds the endpoint's value
    error (400).
    """

    body: dict[str, Any]
    error: FieldError = invalid_field_value

    def _value(self, name: str, required: bool, message: str = "is required.") -> Any:
        value = self.body.get(name)
        if value is None and required:
            raise invalid_request(name, message)
        return value

    def with_error(self, error: FieldError) -> Fields:
        """The same body, refusing values with ``error``."""
        return Fields(self.body, error)

    def has(self, name: str) -> bool:
        """Whether the body holds member ``name`` (even as null)."""
        return name in self.body

    def given(self, name: str) -> bool:
        """Whether the body holds member ``name`` with a value: an optional member sent as null is
        absent, as the reference's ``Option`` fields read it."""
        return self.body.get(name) is not None

    def raw(self, name: str) -> Any:
        """Member ``name`` as parsed JSON, ``None`` when absent or null, for a value the endpoint
        checks itself (free JSON such as a payload, or a reader of the endpoint's own)."""
        return self.body.get(name)

    def member(self, name: str, *, message: str = "is required.") -> Any:
        """Member ``name`` as parsed JSON, null included; 422 when the body does not hold it."""
        if name not in self.body:
            raise invalid_request(name, message)
        return self.body[name]

    def boolean(self, name: str, *, message: str = "must be a boolean.") -> bool | None:
        """An optional boolean (422 otherwise); ``None`` when absent or null."""
        value = self.body.get(name)
        if value is None or isinstance(value, bool):
            return value
        raise invalid_request(name, message)

    def timestamp(self, name: str, *, message: str = "must be an RFC 3339 timestamp.") -> datetime | None:
        """An optional RFC 3339 timestamp string (422 otherwise); ``None`` when absent or null."""
        value = self.body.get(name)
        if value is None:
            return None
        parsed = parse_rfc3339(value) if isinstance(value, str) else None
        if parsed is None:
            raise invalid_request(name, message)
        return parsed

    def text(self, name: str, *, max_length: int, required: bool = True, default: str = "", blank: bool = True) -> str:
        """A string (422 otherwise) of at most ``max_length`` characters (400 otherwise);
        ``default`` when absent or null. ``blank=False`` refuses one of only white space (400)."""
        value = self._value(name, required)
        if value is None:
            return default
        if not isinstance(value, str):
            raise invalid_request(name, "must be a string.")
        if len(value) > max_length:
            raise self.error(name, f"must be a string of at most {max_length} characters.")
        if not blank and not value.strip():
            raise self.error(name, "must not be blank.")
        return value

    def choice(self, name: str, choices: Collection[str], *, default: str | None = None, enum: bool = False) -> str:
        """One of ``choices`` (required unless a ``default`` is given).

        ``enum=True`` when the reference declares a serde ``enum``: an unknown word is then a
        shape error (422); otherwise the reference reads a ``String`` and its handler refuses
        the word (400).
        """
        value = self._value(name, default is None)
        if value is None:
            assert default is not None
            return default
        if not isinstance(value, str):
            raise invalid_request(name, "must be a string.")
        if value not in choices:
            message = f"must be one of {', '.join(sorted(choices))}."
            raise invalid_request(name, message) if enum else self.error(name, message)
        return value

    def hex(self, name: str, *, lengths: Collection[int] = ()) -> bytes:
        """Required member ``name`` as hex bytes (:func:`hex_bytes`); 422 when absent or null."""
        return hex_bytes(self._value(name, True), name, self.error, lengths=lengths)

    def optional_hex(self, name: str, *, lengths: Collection[int] = ()) -> bytes | None:
        """:meth:`hex` when present and not null, else ``None``."""
        return None if self.body.get(name) is None else self.hex(name, lengths=lengths)

    def uuid(self, name: str, *, message: str | None = None) -> UUID:
        """A required UUID string (anything else is a shape error; ``message`` words both)."""
        parsed = parse_uuid_text(self._value(name, True, message or "is required."))
        if parsed is None:
            raise invalid_request(name, message or "must be a UUID string.")
        return parsed

    def uuid_list(self, name: str, *, max_items: int) -> list[UUID] | None:
        """An optional list of UUID strings (422 otherwise) of at most ``max_items`` (400 otherwise)."""
        value = self._value(name, False)
        if value is None:
            return None
        parsed = [parse_uuid_text(item) for item in value] if isinstance(value, list) else [None]
        if None in parsed:
            raise invalid_request(name, "must be a list of UUID strings.")
        if len(parsed) > max_items:
            raise self.error(name, f"must be a list of at most {max_items} UUID strings.")
        return [item for item in parsed if item is not None]

    def integer(
        self,
        name: str,
        *,
        minimum: int = 0,
        maximum: int = BIGINT_MAX,
        default: int | None = None,
        type_range: tuple[int, int] = U64,
        message: str | None = None,
    ) -> int:
        """An integer of the reference's type ``type_range`` (booleans, floats and values the
        type cannot hold: 422) in ``minimum..maximum`` (400 otherwise); required without a
        default. ``message`` words the 422 of a missing or ill-typed member."""
        value = self._value(name, default is None, message or "is required.")
        if value is None:
            assert default is not None
            return default
        low, high = type_range
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise invalid_request(name, message or f"must be an integer in {low}..{high}.")
        if not minimum <= value <= maximum:
            raise self.error(name, f"must be an integer in {minimum}..{maximum}.")
        return int(value)

    def optional_integer(
        self,
        name: str,
        *,
        minimum: int = 0,
        maximum: int = BIGINT_MAX,
        type_range: tuple[int, int] = U64,
        message: str | None = None,
    ) -> int | None:
        """:meth:`integer` when present and not null, else ``None``."""
        if self.body.get(name) is None:
            return None
        return self.integer(name, minimum=minimum, maximum=maximum, type_range=type_range, message=message)


@dataclass(slots=True)
class ShapeErrors:
    """Reads several members and refuses all their shape errors at once, for an endpoint whose
    reference answers every wrong member in one 422 (``errors`` in reading order).

    ``read`` returns ``None`` for a refused member; :meth:`check` then raises.
    """

    errors: dict[str, list[str]] = field(default_factory=dict)

    def read(self, reader: Callable[[], T]) -> T | None:
        try:
            return reader()
        except InvalidRequestError as exc:
            self.errors.update(exc.errors or {})
            return None

    def check(self) -> None:
        """422 ``invalid_request`` naming the first refused member, with every one in ``errors``."""
        if self.errors:
            first = next(iter(self.errors))
            raise InvalidRequestError(f"Invalid value at {first}: {self.errors[first][0]}", errors=self.errors)


# --- query and path parameters: 400 ``invalid_parameter`` naming the parameter ---------------


def parse_uuid(raw: str, name: str) -> UUID:
    """A UUID path or query parameter (400 ``invalid_parameter``); ASCII only, see ``parse_uuid_text``."""
    parsed = parse_uuid_text(raw)
    if parsed is None:
        raise InvalidParameterError(f"'{name}' must be a UUID.", parameter=name)
    return parsed


def ascii_int(raw: str) -> int | None:
    """The integer ``raw`` spells in ASCII digits (optional ``-``, at most 19 digits), else ``None``.

    ``int()`` alone is too lenient for request text: it reads ``'٣'`` as 3 and accepts blanks,
    ``+`` and ``_``; ``'²'.isdigit()`` is true but ``int('²')`` fails.
    """
    return int(raw) if _ASCII_INT.fullmatch(raw) else None


def path_int(raw: str, name: str, *, minimum: int = 0, maximum: int = BIGINT_MAX) -> int:
    """An integer path parameter in ``minimum..maximum`` (ASCII digits), else 400 ``invalid_parameter``."""
    value = ascii_int(raw)
    if value is None or not minimum <= value <= maximum:
        raise InvalidParameterError(
            f"'{name}' must be an integer in {minimum}..{maximum} (ASCII digits).", parameter=name
        )
    return value


def path_text(value: str, name: str, limit: int) -> str:
    """A text path parameter: 1 to ``limit`` characters without NUL, else 400 ``invalid_parameter``."""
    if not 1 <= len(value) <= limit:
        raise InvalidParameterError(f"'{name}' must be 1 to {limit} characters.", parameter=name)
    if "\x00" in value:
        raise InvalidParameterError(f"'{name}' must not hold NUL (U+0000).", parameter=name)
    return value


def query_value_in(params: Mapping[str, str], name: str) -> str | None:
    """The value of query parameter ``name`` (its last, in a ``QueryDict``), ``None`` when absent.

    Given with no value (``?limit=``) it is a 400 ``invalid_parameter``, as the reference's typed
    query refuses it: an empty value is never read as the default, for any parameter."""
    raw = params.get(name)
    if raw == "":
        raise InvalidParameterError(
            f"Query parameter '{name}' is empty; leave it out or give it a value.", parameter=name
        )
    return raw


def query_uuid(request: Request, name: str) -> UUID:
    """A required UUID query parameter (400 ``invalid_parameter`` when missing or malformed)."""
    return query_uuid_in(request.query_params, name)


def query_uuid_in(params: Mapping[str, str], name: str) -> UUID:
    """:func:`query_uuid` over parsed query parameters (a ``QueryDict``: its last value counts)."""
    raw = query_value_in(params, name)
    if raw is None:
        raise InvalidParameterError(f"Query parameter '{name}' is required.", parameter=name)
    return parse_uuid(raw, name)


def query_uuid_optional(request: Request, name: str) -> UUID | None:
    """An optional UUID query parameter: ``None`` when absent, 400 when empty or malformed."""
    raw = query_value_in(request.query_params, name)
    return None if raw is None else parse_uuid(raw, name)


def query_text(request: Request, name: str) -> str | None:
    """An optional free-text filter without the white space around it (a value pasted with a
    blank matches what it names): ``None`` when absent, empty or only whitespace (a form's blank
    field; the one kind of parameter whose empty value is not refused, as the reference's
    ``Option<String>`` reads it without error); with NUL characters (which PostgreSQL text cannot
    hold) a 400."""
    raw = (request.query_params.get(name) or "").strip()
    return _without_nul(raw, name) if raw else None


def _without_nul(raw: str, name: str) -> str:
    """``raw``, or a 400 naming ``name`` when it holds NUL (which PostgreSQL text cannot hold)."""
    if "\x00" in raw:
        raise InvalidParameterError(f"'{name}' must not contain NUL characters.", parameter=name)
    return raw


def query_choice(
    request: Request,
    name: str,
    choices: Collection[str],
    *,
    canonical: Callable[[str], str | None] | None = None,
) -> str | None:
    """An optional word of ``choices`` (an enum filter: an unknown word is a 400, as the
    reference's typed query refuses it). ``canonical`` maps what a client may send (another case,
    an alias) to the word, ``None`` for an unknown one; without it the word must match exactly."""
    raw = query_value_in(request.query_params, name)
    if raw is None:
        return None
    raw = _without_nul(raw, name)
    value = canonical(raw) if canonical is not None else raw if raw in choices else None
    if value is None:
        raise InvalidParameterError(f"'{name}' must be one of {', '.join(sorted(choices))}.", parameter=name)
    return value


def query_bool(request: Request, name: str) -> bool | None:
    """An optional boolean: ``true``/``1`` or ``false``/``0`` in any case, else (empty too) 400."""
    raw = query_value_in(request.query_params, name)
    if raw is None:
        return None
    word = raw.lower()
    if word in _TRUE or word in _FALSE:
        return word in _TRUE
    raise InvalidParameterError(f"'{name}' must be true or false.", parameter=name)


def query_timestamp(request: Request, name: str) -> datetime | None:
    """An optional RFC 3339 timestamp (the same reader as :meth:`Fields.timestamp` and event
    ``created_at``: ``parse_rfc3339``), in UTC; 400 when it is not one."""
    raw = query_value_in(request.query_params, name)
    if raw is None:
        return None
    parsed = parse_rfc3339(raw)
    if parsed is None:
        raise InvalidParameterError(
            f"'{name}' must be an RFC 3339 timestamp with a UTC offset, e.g. 2026-01-01T00:00:00Z.", parameter=name
        )
    return parsed


def query_int(request: Request, name: str, *, default: int, minimum: int, maximum: int | None = None) -> int:
    """An integer query parameter; a ``default`` below ``minimum`` makes it required.

    Values above ``maximum`` are clamped; values beyond the bigint range are refused (400
    ``invalid_parameter`` naming the range), whatever their length, clamped parameters too.
    """
    return query_int_in(request.query_params, name, default=default, minimum=minimum, maximum=maximum)


def query_int_optional(request: Request, name: str, *, minimum: int) -> int | None:
    """An optional integer query parameter (at least ``minimum``, at most a bigint): ``None`` when
    absent; 400 ``invalid_parameter`` when empty or out of range."""
    if name not in request.query_params:
        return None
    return query_int(request, name, default=minimum, minimum=minimum)


def query_count(
    request: Request, name: str, *, default: int, minimum: int, maximum: int, above: type[SequencerError]
) -> int:
    """An integer query parameter in ``minimum..maximum``, ``default`` when absent.

    Every refusal names that range: a value above it, of any length, is ``above`` (the
    reference's 413 ``batch_too_large`` for ``limit``); anything else (not an integer, below
    ``minimum``) is 400 ``invalid_parameter``. Unlike :func:`query_int`, which clamps
    above its maximum, for a count whose excess the caller refuses (payments' lists).
    """
    raw = query_value_in(request.query_params, name)
    if raw is None:
        return default
    message = f"'{name}' must be an integer from {minimum} to {maximum}."
    digits = raw.isascii() and raw.isdigit()
    value = ascii_int(raw.lstrip("0") or "0") if digits else ascii_int(raw)
    if (value is None and digits) or (value is not None and value > maximum):  # None: over 19 digits
        raise above(message, parameter=name)
    if value is None or value < minimum:
        raise InvalidParameterError(message, parameter=name)
    return value


def query_int_in(
    params: Mapping[str, str], name: str, *, default: int, minimum: int, maximum: int | None = None
) -> int:
    """:func:`query_int` over parsed query parameters."""
    raw = query_value_in(params, name)
    if raw is None:
        if default < minimum:
            raise InvalidParameterError(f"Query parameter '{name}' is required.", parameter=name)
        return default
    value = ascii_int(raw)
    if value is None:  # not an integer, or one of more than 19 digits (past any bigint)
        raise InvalidParameterError(f"'{name}' must be an integer from {minimum} to {BIGINT_MAX}.", parameter=name)
    if value < minimum:
        raise InvalidParameterError(f"'{name}' must be at least {minimum}.", parameter=name)
    if value > BIGINT_MAX:  # past any bigint, as a longer number: refused, clamped or not
        raise InvalidParameterError(f"'{name}' must be an integer from {minimum} to {BIGINT_MAX}.", parameter=name)
    if maximum is not None and value > maximum:
        value = maximum
    return value
