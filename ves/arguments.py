"""Checks of the client's arguments before anything is sent, each failing with one error type.

A wrong argument raises :class:`InvalidArgumentError` (a ``ValueError``) whose message names the
argument, and for an event's field the event's index (``events[2].entity_type``), instead of the
``KeyError``, ``AttributeError``, ``OverflowError`` or ``TypeError`` the code underneath would
raise. Values put in a URL path are checked here too, so none can change the path (``../``, ``?``).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from typing import Any

__all__ = [
    "KEY_PREFIX_MAX",
    "U32_MAX",
    "InvalidArgumentError",
    "checked_json",
    "checked_key_prefix",
    "checked_text",
    "checked_u32",
    "checked_uuid",
    "event_field",
    "uuid_text",
]

U32_MAX = 2**32 - 1
KEY_PREFIX_MAX = 64  # a whole SHA-256 hex digest (the server's limit, docs/auth.md)
_HEX_DIGITS = frozenset("0123456789abcdef")


class InvalidArgumentError(ValueError):
    """An argument of a client call is not what the call takes; nothing was sent."""


def checked_uuid(value: Any, name: str) -> uuid.UUID:
    """``value`` (a ``UUID`` or its text) as a ``UUID``."""
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    raise InvalidArgumentError(f"{name} must be a UUID, got {value!r}")


def uuid_text(value: Any, name: str) -> str:
    """``value`` (a ``UUID`` or its text) as the canonical text of a ``UUID``."""
    return str(checked_uuid(value, name))


def checked_text(value: Any, name: str) -> str:
    """``value`` when it is a non-empty string."""
    if not isinstance(value, str) or not value:
        raise InvalidArgumentError(f"{name} must be a non-empty string, got {value!r}")
    return value


def checked_u32(value: Any, name: str) -> int:
    """``value`` when it is an integer in ``0..2**32-1`` (a key id)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= U32_MAX:
        raise InvalidArgumentError(f"{name} must be an integer from 0 to {U32_MAX}, got {value!r}")
    return int(value)


def checked_key_prefix(value: Any, name: str = "key_hash_prefix") -> str:
    """An API key's hash prefix, lower-cased: 1 to :data:`KEY_PREFIX_MAX` hex digits, so it stays
    one path segment (nothing to percent-encode, no ``/``, ``..`` or ``?``)."""
    prefix = value.lower() if isinstance(value, str) else ""
    if not 1 <= len(prefix) <= KEY_PREFIX_MAX or not _HEX_DIGITS.issuperset(prefix):
        raise InvalidArgumentError(f"{name} must be 1 to {KEY_PREFIX_MAX} hex digits of the key's hash, got {value!r}")
    return prefix


def checked_json(value: Any, name: str) -> Any:
    """``value`` when it is JSON: objects with string keys, arrays (lists or tuples), strings,
    finite numbers, booleans and ``None``; else the error names where the first other value is."""
    problem = _json_problem(value, name)
    if problem is not None:
        raise InvalidArgumentError(problem)
    return value


def _json_problem(value: Any, where: str) -> str | None:
    if value is None or isinstance(value, str | bool | int):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{where} must be a finite number, got {value!r}"
    if isinstance(value, list | tuple):
        return next(
            (p for i, item in enumerate(value) if (p := _json_problem(item, f"{where}[{i}]")) is not None), None
        )
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{where} has a key that is not a string: {key!r}"
            if (problem := _json_problem(item, f"{where}.{key}")) is not None:
                return problem
        return None
    return f"{where} is not JSON: a {type(value).__name__} ({value!r})"


def event_field(event: Mapping[str, Any], index: int, name: str) -> Any:
    """Field ``name`` of ``events[index]``, which must be there."""
    if name not in event:
        raise InvalidArgumentError(f"events[{index}] has no {name!r}")
    return event[name]
