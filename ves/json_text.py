"""JSON text to Python values by orjson's rules, whether or not orjson is installed.

orjson is an optional extra of the ``stateset-ves`` distribution, which the server always
installs (docs/adr/0023-ves-as-its-own-distribution.md, docs/ves.md "Installing the SDK and CLI
alone"). With it, :func:`loads` *is* ``orjson.loads`` and :data:`JSONDecodeError` is
``orjson.JSONDecodeError``, chosen once at import, so the server's hot path pays nothing for the
choice. Without it, :func:`loads` is :func:`loads_without_orjson`: the standard library's
decoder, held to orjson 3's rules so that a value and a refusal never depend on whether the extra
is installed (``tests/ves/test_json_without_orjson.py`` checks the two against each other):

- only ``bytes``, ``bytearray``, a C-contiguous ``memoryview`` (its raw bytes) or ``str``
  (exactly those types, not subclasses); bytes must be UTF-8 and a ``str`` must have no
  surrogate; an empty text and a leading byte order mark are refused;
- ``NaN``, ``Infinity`` and ``-Infinity`` are refused, and so is a number that overflows a double;
- an integer no i64 or u64 holds is read as the nearest double (as orjson does), not refused;
- an escaped lone surrogate (``"\\ud800"``) is refused, an escaped pair is one character;
- 1024 nested arrays and objects are read, a 1025th is refused (never a ``RecursionError``);
- the last of duplicate keys wins, at the first one's place; whitespace is space, tab, CR, LF.

Either way every refusal is a :data:`JSONDecodeError`, a ``json.JSONDecodeError`` and so a
``ValueError``. Messages and positions may differ between the two; values and refusals do not,
except that the fallback refuses a released ``memoryview``, whose former memory orjson reads.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Callable
from typing import Any

try:
    import orjson

    HAVE_ORJSON = True
except ImportError:  # the distribution without its orjson extra
    HAVE_ORJSON = False

__all__ = ["HAVE_ORJSON", "JSONDecodeError", "JsonInput", "loads", "loads_without_orjson"]

JsonInput = bytes | bytearray | memoryview | str

_MAX_DEPTH = 1024  # orjson reads 1024 nested arrays and objects and refuses a 1025th
_I64_MIN = -(2**63)
_U64_END = 2**64
_U64_DIGITS = 20  # a longer integer literal (sign included) is beyond i64 and u64
_SURROGATE = re.compile("[\ud800-\udfff]")
_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")  # a candidate: the walk decides
_NOT_BLANK = re.compile(r"[^ \t\n\r]")
_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_LEVEL_CHANGE = {"[": 1, "{": 1, "]": -1, "}": -1}
_NOT_INPUT = "Input must be bytes, bytearray, memoryview, or str"


class _Refused(ValueError):
    """A rule the standard decoder does not apply was broken; becomes a ``JSONDecodeError``."""

    def __init__(self, message: str, pos: int = 0) -> None:
        super().__init__(message)
        self.pos = pos


def _double(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _Refused(f"number is infinity when parsed as double: {text[:40]}")
    return value


def _integer(text: str) -> int | float:
    if len(text) <= _U64_DIGITS:
        value = int(text)
        if _I64_MIN <= value < _U64_END:
            return value
    return _double(text)  # as orjson: the nearest double, or refused beyond the double range


def _constant(name: str) -> Any:
    raise _Refused(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_float=_double, parse_int=_integer, parse_constant=_constant)
# The decoder's own string and scalar readers (C code), which typeshed leaves out.
_scan_string: Callable[[str, int, bool], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]
_scan_scalar: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]


def _text_of(data: JsonInput) -> str:
    """The text orjson would read from ``data``, or its refusal."""
    if type(data) is str:
        if _SURROGATE.search(data) is not None:  # orjson reads a str as UTF-8, which has none
            raise json.JSONDecodeError("str is not valid UTF-8: surrogates not allowed", "", 0)
        text = data
    else:
        raw = _raw_bytes(data)
        if raw is None:
            raise json.JSONDecodeError(_NOT_INPUT, "", 0)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise json.JSONDecodeError("str is not valid UTF-8", "", exc.start) from None
    if not text:
        raise json.JSONDecodeError("Input is a zero-length, empty document", text, 0)
    if text[0] == "\ufeff":
        raise json.JSONDecodeError("UTF-8 byte order mark (BOM) is not supported", text, 0)
    return text


def _raw_bytes(data: object) -> bytes | None:
    """The bytes orjson reads from ``data`` other than a ``str``, or ``None`` for a refused type."""
    if type(data) is bytes or type(data) is bytearray:
        return bytes(data)
    if type(data) is memoryview:
        try:
            return data.tobytes() if data.c_contiguous else None  # its raw bytes, whatever the item format
        except ValueError:  # released: orjson reads the memory the view had, which may be gone
            return None
    return None


def loads_without_orjson(data: JsonInput) -> Any:
    """The value ``orjson.loads(data)`` returns, or a ``json.JSONDecodeError`` where it refuses."""
    return _loads(_text_of(data), _read)


def _loads(text: str, read: Callable[[str], Any]) -> Any:
    """``read(text)`` with orjson's refusals as ``JSONDecodeError``s, lone surrogates refused."""
    try:
        value = read(text)
    except _Refused as exc:
        raise json.JSONDecodeError(str(exc), text, exc.pos) from None
    if "\\u" in text and _ESCAPED_SURROGATE.search(text) is not None and _holds_surrogate(value):
        raise json.JSONDecodeError("lone surrogate escaped in string", text, 0)
    return value


def _read(text: str) -> Any:
    """The standard decoder's reading of ``text`` (C code), unless it nests more than 1024 levels.

    Text with no more brackets than that cannot, and more brackets are usually a wide value, so
    only then are the levels counted. Python 3.11 counts each of the decoder's levels against the
    recursion limit (1000 by default): a ``RecursionError`` sends the text to
    :func:`_read_iteratively`, which keeps its levels on a list.
    """
    if text.count("[") + text.count("{") > _MAX_DEPTH and _nests_too_deep(text):
        raise _Refused("depth limit exceeded")
    try:
        return _DECODER.decode(text)
    except RecursionError:
        return _read_iteratively(text)


def _nests_too_deep(text: str) -> bool:
    """Whether JSON ``text`` nests more than 1024 arrays and objects (brackets in strings do not
    count). Exact for valid JSON, where every quote outside a string starts one; other text is
    refused whatever this says."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(itertools.accumulate(map(_LEVEL_CHANGE.__getitem__, brackets)), default=0) > _MAX_DEPTH


def _holds_surrogate(value: Any) -> bool:
    """Whether a string or key anywhere in the parsed ``value`` holds a lone surrogate."""
    pending = [value]
    while pending:
        node = pending.pop()
        if type(node) is str:
            if _SURROGATE.search(node) is not None:
                return True
        elif type(node) is dict:
            pending.extend(node)
            pending.extend(node.values())
        elif type(node) is list:
            pending.extend(node)
    return False


def _skip_blanks(text: str, pos: int) -> int:
    """The first position from ``pos`` on that is not JSON whitespace (or the text's end)."""
    found = _NOT_BLANK.search(text, pos)
    return len(text) if found is None else found.start()


def _key(text: str, pos: int) -> tuple[str, int]:
    """An object key at ``pos`` and where its value starts (after the colon and blanks)."""
    if text[pos : pos + 1] != '"':
        raise json.JSONDecodeError("Expecting property name enclosed in double quotes", text, pos)
    key, pos = _scan_string(text, pos + 1, True)
    pos = _skip_blanks(text, pos)
    if text[pos : pos + 1] != ":":
        raise json.JSONDecodeError("Expecting ':' delimiter", text, pos)
    return key, _skip_blanks(text, pos + 1)


def _read_iteratively(text: str) -> Any:
    """``_DECODER.decode(text)`` with the open arrays and objects on a list, not the C stack.

    Scalars (strings, numbers, literals) are the decoder's own ``scan_once``; this loop only
    opens and closes containers, so values, duplicate keys and refusals are the decoder's, and a
    1025th level is refused as orjson refuses it.
    """
    opened: list[tuple[list[Any] | dict[str, Any], str]] = []  # with the key awaiting its value
    pos = _skip_blanks(text, 0)
    while True:
        char = text[pos : pos + 1]  # a value starts here
        value: Any
        if char in ("[", "{"):
            if len(opened) == _MAX_DEPTH:
                raise _Refused("depth limit exceeded", pos)
            pos = _skip_blanks(text, pos + 1)
            if char == "[" and text[pos : pos + 1] != "]":
                opened.append(([], ""))
                continue
            if char == "{" and text[pos : pos + 1] != "}":
                key, pos = _key(text, pos)
                opened.append(({}, key))
                continue
            value, pos = ([] if char == "[" else {}), pos + 1
        else:
            try:
                value, pos = _scan_scalar(text, pos)
            except StopIteration:
                raise json.JSONDecodeError("Expecting value", text, pos) from None
        while True:  # the value is complete: add it to its container, closing those that end
            pos = _skip_blanks(text, pos)
            if not opened:
                if pos != len(text):
                    raise json.JSONDecodeError("Extra data", text, pos)
                return value
            container, key = opened[-1]
            if isinstance(container, list):
                container.append(value)
            else:
                container[key] = value
            char = text[pos : pos + 1]
            if char == ",":
                pos = _skip_blanks(text, pos + 1)
                if isinstance(container, dict):
                    key, pos = _key(text, pos)
                    opened[-1] = (container, key)
                break
            if char != ("]" if isinstance(container, list) else "}"):
                raise json.JSONDecodeError("Expecting ',' delimiter", text, pos)
            pos += 1
            opened.pop()
            value = container


loads: Callable[[JsonInput], Any]
JSONDecodeError: type[json.JSONDecodeError]
if HAVE_ORJSON:
    loads = orjson.loads
    JSONDecodeError = orjson.JSONDecodeError
else:
    loads = loads_without_orjson
    JSONDecodeError = json.JSONDecodeError
