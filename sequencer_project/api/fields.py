"""Typed readers of JSON body members: a wrong type or an unusable value is a 4xx naming the field.

The body already passed the generic JSON limits (depth, U+0000: ``parsers.loads``). These
readers check the JSON type before anything compares, hashes or converts the value (``{} in
NETWORKS`` raised ``TypeError``: a 500), and bound what PostgreSQL would refuse later (bigint
range, text length). Each endpoint keeps its public error code: a reader raises
``error(name, message)``, by default 422 ``invalid_request`` with the field in ``errors``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sequencer_project.api.errors import InvalidRequestError, SequencerError

BIGINT_MAX = 2**63 - 1

FieldError = Callable[[str, str], SequencerError]


def invalid_request(name: str, message: str) -> SequencerError:
    """The default field error: 422 ``invalid_request`` with ``errors = {name: [message]}``."""
    return InvalidRequestError(f"Invalid value at {name}: {message}", errors={name: [message]})


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
    """The members of one JSON object body; ``error`` builds the endpoint's field error."""

    body: dict[str, Any]
    error: FieldError = invalid_request

    def _value(self, name: str, required: bool) -> Any:
        value = self.body.get(name)
        if value is None and required:
            raise self.error(name, "is required.")
        return value

    def text(self, name: str, *, max_length: int, required: bool = True, default: str = "") -> str:
        """A string of at most ``max_length`` characters (``default`` when absent or null)."""
        value = self._value(name, required)
        if value is None:
            return default
        if not isinstance(value, str) or len(value) > max_length:
            raise self.error(name, f"must be a string of at most {max_length} characters.")
        return value

    def choice(self, name: str, choices: Collection[str], *, default: str | None = None) -> str:
        """One of ``choices`` (required unless a ``default`` is given)."""
        value = self._value(name, default is None)
        if value is None:
            assert default is not None
            return default
        if not isinstance(value, str) or value not in choices:
            raise self.error(name, f"must be one of {', '.join(sorted(choices))}.")
        return value

    def uuid(self, name: str) -> UUID:
        """A required UUID string."""
        parsed = parse_uuid_text(self._value(name, True))
        if parsed is None:
            raise self.error(name, "must be a UUID string.")
        return parsed

    def uuid_list(self, name: str, *, max_items: int) -> list[UUID] | None:
        """An optional list of at most ``max_items`` UUID strings."""
        value = self._value(name, False)
        if value is None:
            return None
        parsed = [parse_uuid_text(item) for item in value] if isinstance(value, list) else [None]
        if len(parsed) > max_items or None in parsed:
            raise self.error(name, f"must be a list of at most {max_items} UUID strings.")
        return [item for item in parsed if item is not None]

    def integer(self, name: str, *, minimum: int = 0, maximum: int = BIGINT_MAX, default: int | None = None) -> int:
        """An integer in ``minimum..maximum`` (booleans and floats refused; required without a default)."""
        value = self._value(name, default is None)
        if value is None:
            assert default is not None
            return default
        if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
            raise self.error(name, f"must be an integer in {minimum}..{maximum}.")
        return int(value)

    def optional_integer(self, name: str, *, minimum: int = 0, maximum: int = BIGINT_MAX) -> int | None:
        """:meth:`integer` when present and not null, else ``None``."""
        if self.body.get(name) is None:
            return None
        return self.integer(name, minimum=minimum, maximum=maximum)
