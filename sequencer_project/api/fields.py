"""Typed readers of JSON body members: a wrong type or an unusable value is a 4xx naming the field.

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
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sequencer_project.api.errors import InvalidFieldValueError, InvalidRequestError, SequencerError

BIGINT_MAX = 2**63 - 1  # every integer parameter ends up compared with a bigint column

# Ranges of the integer types the reference declares (serde refuses values outside them: 422).
U32 = (0, 2**32 - 1)
U64 = (0, 2**64 - 1)
I32 = (-(2**31), 2**31 - 1)

FieldError = Callable[[str, str], SequencerError]


def invalid_request(name: str, message: str) -> SequencerError:
    """A shape error: 422 ``invalid_request`` with ``errors = {name: [message]}``."""
    return InvalidRequestError(f"Invalid value at {name}: {message}", errors={name: [message]})


def invalid_field_value(name: str, message: str) -> SequencerError:
    """The default value error: 400 ``invalid_field_value`` with ``errors = {name: [message]}``."""
    return InvalidFieldValueError(f"Invalid value at {name}: {message}", errors={name: [message]}, field=name)


def json_object(body: object) -> dict[str, Any]:
    """The parsed body, which must be a JSON object (422 ``invalid_request`` otherwise)."""
    if not isinstance(body, dict):
        raise InvalidRequestError("The body must be a JSON object.")
    return body


def parse_uuid_text(value: object) -> UUID | None:
    """A UUID written in ASCII (``uuid.UUID`` also reads Arabic-Indic digits), else ``None``."""
    if not isinstance(value, str) or not value.isascii():
        return None
    try:
        return UUID(value)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Fields:
    """The members of one JSON object body.

    Shape errors are always 422 ``invalid_request``; ``error`` builds the endpoint's value
    error (400).
    """

    body: dict[str, Any]
    error: FieldError = invalid_field_value

    def _value(self, name: str, required: bool) -> Any:
        value = self.body.get(name)
        if value is None and required:
            raise invalid_request(name, "is required.")
        return value

    def text(self, name: str, *, max_length: int, required: bool = True, default: str = "") -> str:
        """A string (422 otherwise) of at most ``max_length`` characters (400 otherwise);
        ``default`` when absent or null."""
        value = self._value(name, required)
        if value is None:
            return default
        if not isinstance(value, str):
            raise invalid_request(name, "must be a string.")
        if len(value) > max_length:
            raise self.error(name, f"must be a string of at most {max_length} characters.")
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

    def uuid(self, name: str) -> UUID:
        """A required UUID string (anything else is a shape error)."""
        parsed = parse_uuid_text(self._value(name, True))
        if parsed is None:
            raise invalid_request(name, "must be a UUID string.")
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
    ) -> int:
        """An integer of the reference's type ``type_range`` (booleans, floats and values the
        type cannot hold: 422) in ``minimum..maximum`` (400 otherwise); required without a
        default."""
        value = self._value(name, default is None)
        if value is None:
            assert default is not None
            return default
        low, high = type_range
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise invalid_request(name, f"must be an integer in {low}..{high}.")
        if not minimum <= value <= maximum:
            raise self.error(name, f"must be an integer in {minimum}..{maximum}.")
        return int(value)

    def optional_integer(
        self, name: str, *, minimum: int = 0, maximum: int = BIGINT_MAX, type_range: tuple[int, int] = U64
    ) -> int | None:
        """:meth:`integer` when present and not null, else ``None``."""
        if self.body.get(name) is None:
            return None
        return self.integer(name, minimum=minimum, maximum=maximum, type_range=type_range)
