"""RFC 8785 JSON Canonicalization Scheme, exactly as the Rust reference applies it.

Rules (``docs/ves.md``, VES.md §2): object members sorted by the UTF-16 code units of
their keys; no whitespace; strings escaped with the two-character escapes for ``"``, ``\\``,
``\\b``, ``\\f``, ``\\n``, ``\\r``, ``\\t`` and ``\\u00xx`` (lowercase hex) for other control
characters, everything else raw UTF-8; **every number goes through an IEEE-754 double** and
is printed with ECMAScript ``Number.prototype.toString`` (so integers beyond 2^53 are rounded
like the reference, ``1.0`` prints ``1`` and ``1e21`` prints ``1e+21``). NaN, infinities,
integers beyond the double range and lone surrogates are rejected with :class:`JcsError`.

The PyPI ``rfc8785`` package is deliberately not used: it raises on integers >= 2^53, which
the reference accepts. With orjson installed (an optional extra of the ``stateset-ves``
distribution that the server always has, :mod:`ves.json_text`), :func:`canonicalize` takes
orjson's sorted output whenever it already is the canonical form (no double printed with an
exponent or as an integral value, no integer that a double would round, no character beyond the
Basic Multilingual Plane, every value a JSON one) and writes the rest itself; the two are
property-tested equal (``tests/ves/test_jcs_fast_path.py``). Without orjson it writes everything
itself, the same bytes (``tests/ves/test_json_without_orjson.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ves.json_depth import too_deep
from ves.json_text import HAVE_ORJSON

if HAVE_ORJSON:
    import orjson

__all__ = ["JcsError", "canonicalize", "format_number"]

_MAX_DEPTH = 128
_EXACT_INT = 2**53  # every integer of smaller magnitude is exactly a double


class JcsError(ValueError):
    """The value has no canonical form (NaN/Infinity, huge integer, lone surrogate, non-JSON type)."""


_ESCAPES: dict[int, str] = {i: f"\\u{i:04x}" for i in range(0x20)}
_ESCAPES.update({ord('"'): '\\"', ord("\\"): "\\\\", 8: "\\b", 12: "\\f", 10: "\\n", 13: "\\r", 9: "\\t"})


def shortest_digits(value: float) -> tuple[str, int]:
    """The shortest round-trip digits of a positive finite double and where its point goes.

    Returns ``(digits, point)`` with ``value = 0.<digits> x 10^point``, no leading or trailing
    zeros in ``digits``. Python's ``repr`` already is the shortest round-trip digit string, so both
    number printers (ECMAScript here, ``ryu`` in ``ves.legacy_json``) only place the point.
    """
    mantissa, _, exp_text = repr(value).partition("e")
    int_part, _, frac_part = mantissa.partition(".")
    all_digits = int_part + frac_part
    stripped = all_digits.lstrip("0")
    point = len(int_part) + int(exp_text or 0) - (len(all_digits) - len(stripped))
    return stripped.rstrip("0"), point


def format_number(value: float) -> str:
    """ECMAScript ``Number.prototype.toString`` of a double (shortest round-trip digits)."""
    if math.isnan(value) or math.isinf(value):
        raise JcsError("NaN and Infinity have no JSON form")
    if value == 0:
        return "0"  # also -0
    sign = "-" if value < 0 else ""
    digits, n = shortest_digits(abs(value))
    k = len(digits)
    if k <= n <= 21:
        out = digits + "0" * (n - k)
    elif 0 < n <= 21:
        out = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        out = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        exp = f"e+{e}" if e >= 0 else f"e-{-e}"
        out = digits[0] + ("." + digits[1:] if k > 1 else "") + exp
    return sign + out


def json_string(value: str) -> str:
    """A JSON string literal escaped as RFC 8785 (and serde_json) do: the two-character escapes,
    other control characters as lowercase ``\\u00xx``, everything else raw."""
    return '"' + value.translate(_ESCAPES) + '"'


@dataclass(frozen=True, slots=True)
class JsonErrors:
    """What a :func:`json_writer` raises for a value it cannot write, and each message."""

    error: type[ValueError]
    too_deep: str
    not_json: str  # ``{type}`` is replaced by the value's type name
    lone_surrogate: str


def json_writer(
    *,
    integer: Callable[[int], str],
    double: Callable[[float], str],
    sorted_keys: Callable[[dict[Any, Any]], list[str]],
    max_depth: int,
    errors: JsonErrors,
) -> Callable[[Any], bytes]:
    """A serialiser of parsed JSON values to compact UTF-8 JSON text with sorted object keys.

    The one walk behind :func:`canonicalize` and ``ves.legacy_json.dumps``: they differ only in
    how numbers print, how keys sort (``sorted_keys`` also checks them), how deep a value may
    nest and what they raise. Strings escape as :func:`json_string`.
    """

    def emit(value: Any, out: list[str], depth: int) -> None:
        if depth > max_depth:
            raise errors.error(errors.too_deep)
        if value is None:
            out.append("null")
        elif value is True:
            out.append("true")
        elif value is False:
            out.append("false")
        elif isinstance(value, str):
            out.append(json_string(value))
        elif isinstance(value, int):
            out.append(integer(value))
        elif isinstance(value, float):
            out.append(double(value))
        elif isinstance(value, dict):
            out.append("{")
            first = True
            for key in sorted_keys(value):
                if not first:
                    out.append(",")
                first = False
                out.append(json_string(key))
                out.append(":")
                emit(value[key], out, depth + 1)
            out.append("}")
        elif isinstance(value, list | tuple):
            out.append("[")
            for i, item in enumerate(value):
                if i:
                    out.append(",")
                emit(item, out, depth + 1)
            out.append("]")
        else:
            raise errors.error(errors.not_json.format(type=type(value).__name__))

    def dumps(value: Any) -> bytes:
        out: list[str] = []
        emit(value, out, 0)
        try:
            return "".join(out).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise errors.error(errors.lone_surrogate) from exc

    return dumps


def _key_order(key: str) -> bytes:
    try:
        return key.encode("utf-16-be")
    except UnicodeEncodeError as exc:
        raise JcsError("object key contains a lone surrogate") from exc


def _sorted_keys(value: dict[Any, Any]) -> list[str]:
    for key in value:
        if not isinstance(key, str):
            raise JcsError("object keys must be strings")
    return sorted(value, key=_key_order)


def _integer(value: int) -> str:
    if -_EXACT_INT < value < _EXACT_INT:
        return str(value)  # exact as a double, and ECMAScript prints such a double's integer digits
    try:
        as_float = float(value)
    except OverflowError as exc:
        raise JcsError("integer outside the double range") from exc
    return format_number(as_float)


_ERRORS = JsonErrors(
    JcsError, f"nesting deeper than {_MAX_DEPTH}", "{type} is not a JSON value", "string contains a lone surrogate"
)
_canonical = json_writer(
    integer=_integer, double=format_number, sorted_keys=_sorted_keys, max_depth=_MAX_DEPTH, errors=_ERRORS
)


if HAVE_ORJSON:
    # orjson refuses datetimes, dataclasses, subclasses of str, int, dict and list, and integers a
    # double would round (beyond 2^53 - 1) with these, so they reach the writer above, which decides;
    # it writes UUIDs and enums, which the round trip below tells apart from the JSON they print as.
    _ORJSON_OPTIONS = (
        orjson.OPT_SORT_KEYS
        | orjson.OPT_STRICT_INTEGER
        | orjson.OPT_PASSTHROUGH_DATACLASS
        | orjson.OPT_PASSTHROUGH_DATETIME
        | orjson.OPT_PASSTHROUGH_SUBCLASS
    )
    _FOUR_BYTE_LEADS = (b"\xf0", b"\xf1", b"\xf2", b"\xf3", b"\xf4")
    _INTEGRAL_DOUBLES = (b".0,", b".0]", b".0}")  # ``15.0`` before the next separator

    def canonicalize(value: Any) -> bytes:
        """The RFC 8785 canonical UTF-8 bytes of a parsed JSON value."""
        fast = _orjson_if_canonical(value)
        return fast if fast is not None else _canonical(value)

    def _orjson_if_canonical(value: Any) -> bytes | None:
        """orjson's sorted output of ``value`` when it is RFC 8785's, else ``None``.

        Both print a double's shortest round-trip digits, and orjson prints them without an exponent
        only between 1e-5 and 1e16, where ECMAScript does too. The output can still differ in three
        ways, each refused here with C-speed byte searches: a double that orjson prints with an
        exponent or as an integral value (``15.0``, where ECMAScript prints ``15``), a key order
        (orjson sorts by code point, RFC 8785 by UTF-16 code unit: the orders differ only beyond the
        Basic Multilingual Plane, whose characters take four UTF-8 bytes) and a value that only
        prints like JSON (a UUID, an enum, a tuple, NaN, which orjson writes as ``null``).
        """
        try:
            out = orjson.dumps(value, option=_ORJSON_OPTIONS)
        except TypeError:  # orjson.JSONEncodeError too: a lone surrogate, a non-str key, too deep
            return None
        if not out.isascii() and any(lead in out for lead in _FOUR_BYTE_LEADS):
            return None
        if b"\\" in out and b'\\"' in out:  # an escaped quote: splitting at quotes would not find the strings
            return None
        outside = b"".join(out.split(b'"')[::2])  # brackets, separators, numbers and literals
        if (
            b"e" in outside.replace(b"true", b"").replace(b"false", b"")  # an exponent
            or any(integral in outside for integral in _INTEGRAL_DOUBLES)
            or outside.endswith(b".0")
            or too_deep(outside, value, _MAX_DEPTH)  # the writer refuses it; a wide value is fine
        ):
            return None
        if orjson.loads(out) != value:
            return None
        return out

else:  # the distribution without its orjson extra: the writer alone, the same bytes

    def canonicalize(value: Any) -> bytes:
        """The RFC 8785 canonical UTF-8 bytes of a parsed JSON value."""
        return _canonical(value)
