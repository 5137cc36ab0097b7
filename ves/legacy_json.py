"""The reference's *legacy* (non-VES) JSON serialisation and payload hash.

The Rust reference hashes legacy event payloads as ``SHA-256(serde_json::to_vec(value))``
with no domain tag. That serialiser is compact, sorts object keys by their UTF-8 bytes
(BTreeMap order, identical to code point order), prints integers as integers and
doubles in ``ryu`` style: always a ``.0`` or an exponent, no ``+`` in the exponent,
scientific notation from 1e16 upwards and below 1e-5, and ``-0.0`` kept.

This is *not* RFC 8785 (see ``ves.jcs`` for that): it matches JCS only for payloads
without doubles.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from ves.jcs import JsonErrors, json_writer, shortest_digits
from ves.json_text import HAVE_ORJSON

if HAVE_ORJSON:
    import orjson

__all__ = ["LegacyJsonError", "dumps", "fast_dumps", "loads_as_serde", "may_hold_minus_zero", "payload_hash"]

_MAX_DEPTH = 254  # orjson refuses to serialise deeper documents; stay consistent with it


class LegacyJsonError(ValueError):
    """The value cannot be serialised the way the reference does (NaN, lone surrogate, depth)."""


def _float(value: float) -> str:
    """Format a finite double the way the ``ryu`` crate's ``format64`` does."""
    if value != value or value in (float("inf"), float("-inf")):
        raise LegacyJsonError("NaN and infinities are not valid JSON")
    if value == 0.0:
        return "-0.0" if str(value).startswith("-") else "0.0"
    sign = "-" if value < 0 else ""
    digits, point = shortest_digits(abs(value))
    length = len(digits)
    if point - length >= 0 and point <= 16:
        return f"{sign}{digits}{'0' * (point - length)}.0"
    if 0 < point <= 16:
        return f"{sign}{digits[:point]}.{digits[point:]}"
    if -5 < point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    exp = point - 1
    if length == 1:
        return f"{sign}{digits}e{exp}"
    return f"{sign}{digits[0]}.{digits[1:]}e{exp}"


def _sorted_keys(value: dict[str, Any]) -> list[str]:
    """BTreeMap order: by UTF-8 bytes (lone surrogates sort too; the final encode rejects them)."""
    return sorted(value, key=lambda k: k.encode("utf-8", "surrogatepass"))


_ERRORS = JsonErrors(
    LegacyJsonError,
    "nesting too deep",
    "unsupported JSON value of type {type}",
    "lone surrogates are not valid JSON text",
)
_dumps = json_writer(integer=str, double=_float, sorted_keys=_sorted_keys, max_depth=_MAX_DEPTH, errors=_ERRORS)


def dumps(value: Any) -> bytes:
    """Serialise ``value`` exactly as ``serde_json::to_vec`` of a ``serde_json::Value``."""
    return _dumps(value)


if HAVE_ORJSON:

    def fast_dumps(value: Any) -> bytes:
        """:func:`dumps`, through orjson whenever that gives the same bytes.

        orjson sorts keys, escapes strings and prints doubles like ``serde_json`` except that it
        writes a ``+`` in positive exponents (``1e+16`` where ryu writes ``1e16``). Output without
        ``e+`` anywhere is therefore identical; anything else (including a string that merely
        contains ``e+``) takes the exact pure-Python path. Property-tested against :func:`dumps`
        for every value JSON text parses to (what the server and ``ves.bundle`` hash). orjson
        also writes some values no JSON text parses to, which :func:`dumps` (and so this
        function without orjson) refuses: NaN and the infinities (as ``null``), UUIDs,
        datetimes, dataclasses and enums.
        """
        try:
            out = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        except (TypeError, orjson.JSONEncodeError):
            return dumps(value)
        if b"+" in out and b"e+" in out:  # the one-byte search is ~4x faster; most payloads have no '+'
            return dumps(value)
        return out

else:  # the distribution without its orjson extra: the exact serialiser alone

    def fast_dumps(value: Any) -> bytes:
        """:func:`dumps` (orjson, its fast path, is not installed): the same bytes for every value
        JSON text parses to (``tests/ves/test_json_without_orjson.py``)."""
        return _dumps(value)


def payload_hash(value: Any) -> bytes:
    """The legacy ``payload_hash``: SHA-256 of :func:`dumps`, no domain tag."""
    return hashlib.sha256(fast_dumps(value)).digest()


def _integer(text: str) -> int | float:
    # serde_json reads the literal -0 as the double -0.0 (an i64 cannot hold a negative zero), and
    # an integer beyond i64/u64 as a double, as orjson does
    if text == "-0":
        return -0.0
    value = int(text)
    return value if -(2**63) <= value < 2**64 else float(text)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


# "-0" not followed by a fraction, an exponent or more digits, found by its literal (the fast
# search); it is the integer literal -0 only where a JSON number can start: at the text's start,
# after "[", ":", "," or a blank. Elsewhere (dates "2026-01-05", UUIDs "…-0a1f-…") it is inside a
# string; in a string after such a character it is a harmless false positive (the slow reading
# gives the same value). A pattern that begins with the lookbehind would scan byte by byte
# instead: ~16 µs per KB against ~0.1.
_MINUS_ZERO = re.compile(rb"-0(?![.eE0-9])")
_NUMBER_STARTS = frozenset(b"[:, \t\r\n")


def may_hold_minus_zero(text: bytes) -> bool:
    """Whether valid JSON ``text`` may hold the integer literal ``-0`` (see :func:`loads_as_serde`)."""
    if b"-0" not in text:
        return False
    for match in _MINUS_ZERO.finditer(text):
        start = match.start()
        if start == 0 or text[start - 1] in _NUMBER_STARTS:
            return True
    return False


def loads_as_serde(text: bytes) -> Any:
    """The value ``serde_json`` reads from valid JSON ``text``: as ``orjson.loads`` (and
    ``ves.json_text.loads``) reads it, except that the integer literal ``-0`` is the double
    ``-0.0``, which serializes (and so hashes) as ``-0.0`` (orjson, like Python, reads it as the
    integer 0, which prints ``0``).

    Only for text orjson has already accepted (depth, encoding and range checked): callers call
    it when :func:`may_hold_minus_zero`, the one case where the two readings differ.
    """
    return json.loads(text, parse_int=_integer, parse_constant=_no_constant)
