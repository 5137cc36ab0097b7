"""Hostile values for every field of every request body and every path parameter.

A body mutation replaces the value at one position of a valid body (any depth, arrays
included) with raw JSON bytes, so values orjson would never write (integers past 64 bits,
``1e309``, lone surrogates, 2,000 levels of nesting) reach the server as sent; or it deletes
that member. Path mutations replace one path parameter with a hostile string.
``HOSTILE_FUZZ_DEEP=1`` adds the longer lists (``tests/reliability/test_hostile_bodies_and_paths.py``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import orjson

DEEP = os.environ.get("HOSTILE_FUZZ_DEEP", "") not in ("", "0")

_PLACEHOLDER = "@@mutation@@"
_QUOTED = b'"' + _PLACEHOLDER.encode() + b'"'
DELETE = b"<delete>"  # not JSON: remove the member instead


def nested(depth: int) -> bytes:
    return b'{"a":[' * (depth // 2) + b"1" + b"]}" * (depth // 2)


# Every class at every position in `make test`: CORE everywhere, one of ROTATING per position
# (in turn, so each is sent about len(positions)/len(ROTATING) times per operation).
CORE_VALUES: list[bytes] = [
    DELETE,
    b'{"a":1}',
    b'["x"]',
    b"null",
    b"true",
    b"-1",
    b"1.5",
    b"9223372036854775808",  # 2**63: past bigint
    b'"\xc2\xb2"',  # '²': str.isdigit() is true, int() fails
    b'""',
    b'"x\\u0000y"',
    b'"' + b"x" * 70_000 + b'"',
    nested(66),  # one level past the body limit wherever it sits
]
ROTATING_VALUES: list[bytes] = [
    b"{}",
    b"[]",
    b"18446744073709551616",  # 2**64: orjson reads a double
    b'{"k\\u0000":1}',
    b'"\\u0001\\u001b\\u007f"',
    nested(400),  # past what jsonschema and the schema checks could recurse through
    b'"\\ud800"',  # lone surrogate
]
DEEP_VALUES: list[bytes] = [
    b"false",
    b"0",
    b"[[],[[]],{}]",
    b"9223372036854775807",
    b"-9223372036854775809",
    b"4294967296",
    b"1e308",
    b"1e309",
    b"-0.0",
    b"1e3",
    b"0.1",
    b'"1"',
    b'"\xd9\xa3"',  # Arabic-Indic three: int() accepts it
    b'"\xef\xbc\x91"',  # fullwidth one
    b'"\\u0000"',
    b'["\\u0000"]',
    b'"\xe2\x80\xae\xf0\x9f\x92\xa5"',  # RTL override, emoji
    b'"\'; DROP TABLE events; --"',
    b'"00000000-0000-0000-0000-000000000000"',
    b'{"a":{"b":{"c":[1,2,{"d":null}]}}}',
    nested(2000),
    b'"' + b"x" * 1_000_000 + b'"',
    b"[" + b"1," * 10_000 + b"1]",
]


def values_for(index: int) -> list[bytes]:
    """The values sent at the ``index``-th position of a body."""
    if DEEP:
        return CORE_VALUES + ROTATING_VALUES + DEEP_VALUES
    return [*CORE_VALUES, ROTATING_VALUES[index % len(ROTATING_VALUES)]]


# Path parameters: sent percent-encoded, so the view receives exactly these strings.
QUICK_PATH_VALUES = ["\u00b2", "\u0663", "-1", "1e3", "0x10", " 1", "a" * 10_000, "%00", "\x00", "\u00e9\u202e"]
DEEP_PATH_VALUES = [
    "0",
    "1" * 30,
    "+1",
    "1_0",
    "\uff11",
    "\u0663" * 32,  # a UUID of Arabic-Indic digits (uuid.UUID accepts it)
    "{" + "1" * 32 + "}",
    "00000000-0000-0000-0000-000000000000",
    "'; DROP TABLE events; --",
    "..",
    "\U0001f4a5",
    "\x01\x1f",
]
PATH_VALUES = QUICK_PATH_VALUES + DEEP_PATH_VALUES if DEEP else QUICK_PATH_VALUES


def positions(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every position in a JSON value, the root first (keys of objects, indices of arrays)."""
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from positions(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from positions(child, (*prefix, index))


def mutate(body: Any, position: tuple[Any, ...], raw: bytes) -> bytes | None:
    """``body`` with the value at ``position`` replaced by ``raw`` (or deleted); ``None`` if undefined."""
    if not position:
        return None if raw is DELETE else raw
    copy = orjson.loads(orjson.dumps(body))
    parent = copy
    for step in position[:-1]:
        parent = parent[step]
    leaf = position[-1]
    if raw is DELETE:
        if not isinstance(parent, dict):
            return None
        del parent[leaf]
        return orjson.dumps(copy)
    parent[leaf] = _PLACEHOLDER
    encoded = orjson.dumps(copy)
    assert encoded.count(_QUOTED) == 1
    return encoded.replace(_QUOTED, raw)


def label(position: tuple[Any, ...]) -> str:
    text = "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in position)
    return text.lstrip(".") or "(body)"
