"""RFC 8785 JSON Canonicalization Scheme, exactly as the Rust reference applies it.

Rules (``docs/ves.md``, VES.md §2): object members sorted by the UTF-16 code units of
their keys; no whitespace; strings escaped with the two-character escapes for ``"``, ``\\``,
``\\b``, ``\\f``, ``\\n``, ``\\r``, ``\\t`` and ``\\u00xx`` (lowercase hex) for other control
characters, everything else raw UTF-8; **every number goes through an IEEE-754 double** and
is printed with ECMAScript ``Number.prototype.toString`` (so integers beyond 2^53 are rounded
like the reference, ``1.0`` prints ``1`` and ``1e21`` prints ``1e+21``). NaN, infinities,
integers beyond the double range and lone surrogates are rejected with :class:`JcsError`.

The PyPI ``rfc8785`` package is deliberately not used: it raises on integers >= 2^53, which
the reference accepts.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["JcsError", "canonicalize", "format_number"]

_MAX_DEPTH = 128


class JcsError(ValueError):
    """The value has no canonical form (NaN/Infinity, huge integer, lone surrogate, non-JSON type)."""


_ESCAPES: dict[int, str] = {i: f"\\u{i:04x}" for i in range(0x20)}
_ESCAPES.update({ord('"'): '\\"', ord("\\"): "\\\\", 8: "\\b", 12: "\\f", 10: "\\n", 13: "\\r", 9: "\\t"})


def format_number(value: float) -> str:
    """ECMAScript ``Number.prototype.toString`` of a double (shortest round-trip digits)."""
    if math.isnan(value) or math.isinf(value):
        raise JcsError("NaN and Infinity have no JSON form")
    if value == 0:
        return "0"  # also -0
    sign = "-" if value < 0 else ""
    text = repr(abs(value))  # Python's repr is the shortest round-trip digit string
    mantissa, _, exp_text = text.partition("e")
    exponent = int(exp_text) if exp_text else 0
    int_part, _, frac_part = mantissa.partition(".")
    digits = int_part + frac_part
    n = len(int_part) + exponent  # value = 0.<digits> x 10^n
    stripped = digits.lstrip("0")
    n -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
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


def _key_order(key: str) -> bytes:
    try:
        return key.encode("utf-16-be")
    except UnicodeEncodeError as exc:
        raise JcsError("object key contains a lone surrogate") from exc


def _emit(value: Any, out: list[str], depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise JcsError(f"nesting deeper than {_MAX_DEPTH}")
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(json_string(value))
    elif isinstance(value, int):
        try:
            as_float = float(value)
        except OverflowError as exc:
            raise JcsError("integer outside the double range") from exc
        out.append(format_number(as_float))
    elif isinstance(value, float):
        out.append(format_number(value))
    elif isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise JcsError("object keys must be strings")
        out.append("{")
        first = True
        for key in sorted(value, key=_key_order):
            if not first:
                out.append(",")
            first = False
            out.append(json_string(key))
            out.append(":")
            _emit(value[key], out, depth + 1)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _emit(item, out, depth + 1)
        out.append("]")
    else:
        raise JcsError(f"{type(value).__name__} is not a JSON value")


def canonicalize(value: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of a parsed JSON value."""
    out: list[str] = []
    _emit(value, out, 0)
    try:
        return "".join(out).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise JcsError("string contains a lone surrogate") from exc
