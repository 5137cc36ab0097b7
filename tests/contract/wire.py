"""Checks of JSON members as the reference's serde types write them (types, null vs absent, forms).

Each check is a predicate on one decoded JSON value. ``assert_members`` requires every member
the reference writes, with its type; members of ours beyond them are allowed (a reference
client ignores them), unless ``exact`` says the reference's set is the whole answer.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any

Check = Callable[[Any], bool]

# chrono's to_rfc3339(): UTC, explicit +00:00, fraction in 0/3/6/9 digits (the fewest that hold it)
OFFSET_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3}|\.\d{6}|\.\d{9})?\+00:00$")


def text(value: Any) -> bool:
    return isinstance(value, str)


def integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def boolean(value: Any) -> bool:
    return isinstance(value, bool)


def uuid_text(value: Any) -> bool:
    """A UUID in the hyphenated lower-case form serde writes for ``Uuid``."""
    if not isinstance(value, str):
        return False
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


def offset_time(value: Any) -> bool:
    """A timestamp written by ``to_rfc3339()`` (``+00:00``, never ``Z``)."""
    return isinstance(value, str) and OFFSET_TIME.match(value) is not None


def anything(value: Any) -> bool:
    return True


def nullable(check: Check) -> Check:
    return lambda value: value is None or check(value)


def array_of(check: Check) -> Check:
    return lambda value: isinstance(value, list) and all(check(item) for item in value)


def object_with(spec: Mapping[str, Check]) -> Check:
    """An object holding every member of ``spec``, each passing its check (others allowed)."""
    return lambda value: isinstance(value, dict) and all(n in value and check(value[n]) for n, check in spec.items())


def equal(expected: Any) -> Check:
    return lambda value: value == expected and type(value) is type(expected)


def assert_members(body: Any, spec: Mapping[str, Check], *, exact: bool = False) -> None:
    """``body`` is an object holding every member of ``spec``, each passing its check."""
    assert isinstance(body, dict), body
    missing = [name for name in spec if name not in body]
    assert not missing, f"missing {missing} in {body}"
    wrong = {name: body[name] for name, check in spec.items() if not check(body[name])}
    assert not wrong, f"wrong type or form: {wrong}"
    if exact:
        assert set(body) == set(spec), f"members beyond the reference's: {set(body) - set(spec)}"


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    """A problem+json answer with ``status`` (equal to the HTTP status) and ``code``."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json"), response["Content-Type"]
    body: dict[str, Any] = response.json()
    assert (body["status"], body["code"]) == (status, code), body
    return body
