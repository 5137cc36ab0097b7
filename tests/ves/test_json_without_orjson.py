"""``ves`` without orjson reads and writes JSON exactly as it does with it.

orjson is an optional extra of the ``stateset-ves`` distribution (the server always installs it;
docs/adr/0023-ves-as-its-own-distribution.md). Without it ``ves.json_text.loads`` is
``loads_without_orjson``, the standard library's decoder held to orjson's rules, and ``ves.jcs``
and ``ves.legacy_json`` write everything with their own writers. These tests hold the fallback
to orjson itself on generated documents and on hostile text (deep nesting, huge numbers, NaN
literals, lone surrogates, invalid UTF-8, a byte order mark, trailing data, odd input types), and
a copy of the library imported with orjson hidden to the library as the server runs it.
"""

from __future__ import annotations

import array
import importlib
import json
import math
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from decimal import Decimal, localcontext
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ves
from ves import hashes, hpke, jcs, json_text, legacy_json
from ves.encryption import open_payload
from ves.json_text import loads_without_orjson

# ---- comparing outcomes -------------------------------------------------------------------------

Outcome = tuple[str, Any]


def _read(loader: Callable[[Any], Any], data: Any) -> Outcome:
    """``("value", value)`` or ``("refused", None)``; any exception but a JSONDecodeError escapes."""
    try:
        return ("value", loader(data))
    except json.JSONDecodeError:  # orjson.JSONDecodeError is one too
        return ("refused", None)


def _same_value(left: Any, right: Any) -> bool:
    """Equal JSON values of the same types, with keys in the same order and doubles bit for bit
    (``-0.0`` is not ``0``); iterative, so 1024 levels compare without recursion."""
    pending = [(left, right)]
    while pending:
        a, b = pending.pop()
        if type(a) is not type(b):
            return False
        if isinstance(a, dict):
            if list(a) != list(b):
                return False
            pending.extend(zip(a.values(), b.values(), strict=True))
        elif isinstance(a, list):
            if len(a) != len(b):
                return False
            pending.extend(zip(a, b, strict=True))
        elif isinstance(a, float):
            if repr(a) != repr(b):
                return False
        elif a != b:
            return False
    return True


def _read_on_a_list_stack(data: Any) -> Any:
    """``loads_without_orjson`` with its list-stack reader, which otherwise reads only what the
    standard decoder stops on with a ``RecursionError`` (Python 3.11, near 1000 levels)."""
    return json_text._loads(json_text._text_of(data), json_text._read_iteratively)


def _assert_agrees(data: Any, *, wide: bool = False) -> Outcome:
    """The fallback reads ``data`` as orjson does (the same value, or a refusal): as it is and
    with its list-stack reader; ``wide``, also inside an array with more than 1024 brackets, whose
    levels the fallback counts before it decodes."""
    expected = _read(orjson.loads, data)
    padded: str | bytes | None = None
    if wide and type(data) is str:
        padded = "[" + data + ",[]" * 1025 + "]"
    elif wide and type(data) is bytes:
        padded = b"[" + data + b",[]" * 1025 + b"]"
    readings = [(data, expected, loads_without_orjson), (data, expected, _read_on_a_list_stack)]
    if padded is not None:
        readings.append((padded, _read(orjson.loads, padded), loads_without_orjson))
    for text, orjson_outcome, loader in readings:
        outcome = _read(loader, text)
        assert outcome[0] == orjson_outcome[0], (loader.__name__, text[:300], orjson_outcome[0], outcome[0])
        assert _same_value(outcome[1], orjson_outcome[1]), (loader.__name__, text[:300])
    return expected


# ---- generated documents ------------------------------------------------------------------------

texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=10) | st.sampled_from(
    ["", "\x00", "\x1f", "\x7f", "\ufeff", "\u2028", "\U0001f600", "\\u0041", '"', "NaN", "-0"]
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.sampled_from([2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1, 0, 10**20, -(10**20)])
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(texts, children, max_size=5),
    max_leaves=25,
)
documents = st.builds(
    lambda value, ascii_only, indent: json.dumps(value, ensure_ascii=ascii_only, indent=indent),
    json_values,
    st.booleans(),  # \uXXXX escapes, surrogate pairs included, or raw UTF-8
    st.sampled_from([None, 0, 2]),
)


def _as(kind: str, text: str) -> Any:
    raw = text.encode("utf-8", "surrogatepass")
    return {"str": text, "bytes": raw, "bytearray": bytearray(raw), "memoryview": memoryview(raw)}[kind]


input_kinds = st.sampled_from(["str", "bytes", "bytearray", "memoryview"])


@settings(max_examples=200, deadline=None)
@given(documents, input_kinds)
def test_generated_documents_read_as_orjson_reads_them(document: str, kind: str) -> None:
    outcome = _assert_agrees(_as(kind, document), wide=True)

    assert outcome[0] == "value"


# Pieces that break or bend JSON where they land: brackets, separators, quotes, escapes, number
# characters, control bytes, invalid UTF-8, an encoded surrogate, a byte order mark.
PIECES = [
    *(bytes([c]) for c in b'[]{},:"\\ \t\r\n\x0b\x0c\x00\x1f0123456789-+.eE/'),
    b"NaN",
    b"Infinity",
    b"-Infinity",
    b"true",
    b"nul",
    b"\\u",
    b"\\ud800",
    b"\\udc00",
    b"\\u00",
    b"\xff",
    b"\xc3",
    b"\xc0\x80",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\xef\xbb\xbf",
    b"1e400",
    b"99999999999999999999",
]


@st.composite
def mutated_documents(draw: st.DrawFn) -> bytes:
    text = bytearray(draw(documents).encode("utf-8"))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        at = draw(st.integers(min_value=0, max_value=len(text)))
        piece = draw(st.sampled_from(PIECES))
        change = draw(st.sampled_from(["insert", "replace", "delete"]))
        if change == "insert":
            text[at:at] = piece
        elif change == "replace":
            text[at : at + len(piece)] = piece
        else:
            del text[at : at + draw(st.integers(min_value=1, max_value=3))]
    return bytes(text)


@settings(max_examples=500, deadline=None)
@given(mutated_documents())
def test_damaged_documents_are_refused_or_read_as_orjson_does(document: bytes) -> None:
    _assert_agrees(document, wide=True)


number_literals = st.from_regex(r"\A-?(0|[1-9][0-9]{0,400})(\.[0-9]{1,40})?([eE][-+]?[0-9]{1,4})?\Z")
near_numbers = st.from_regex(r"\A[-+]?[0-9.eE+-]{1,12}\Z")


@settings(max_examples=400, deadline=None)
@given(number_literals | near_numbers, st.sampled_from(["{}", "[{}]", '{{"k":{}}}', " {} "]))
def test_numbers_read_to_the_same_int_or_double_or_refusal(literal: str, frame: str) -> None:
    """Integers an i64 or u64 holds stay integers, larger ones become the nearest double, a
    number beyond the double range is refused, and every double is correctly rounded."""
    _assert_agrees(frame.format(literal).encode("ascii"))


@settings(max_examples=100, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: x != 0 and math.isfinite(abs(x) * 2)))
def test_decimals_halfway_between_two_doubles_round_as_orjson_rounds_them(value: float) -> None:
    """The hardest decimal inputs: exactly halfway between neighbouring doubles, and a digit
    either side of that, printed in full."""
    neighbour = math.nextafter(value, math.inf)
    with localcontext() as context:
        context.prec = 1200
        halfway = (Decimal(value) + Decimal(neighbour)) / 2
        for decimal in (halfway, halfway.next_minus(), halfway.next_plus()):
            _assert_agrees(format(decimal, "e").encode("ascii"))
            _assert_agrees(format(decimal, "f").encode("ascii"))


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=-(10**400), max_value=10**400) | st.integers(min_value=-(2**65), max_value=2**65))
def test_integers_beyond_64_bits_become_doubles_and_beyond_doubles_are_refused(value: int) -> None:
    _assert_agrees(str(value).encode("ascii"))
    _assert_agrees(f'{{"n":[{value}]}}'.encode("ascii"))


@pytest.mark.parametrize("digits", [308, 309, 4300, 4301, 20000])
def test_integer_literals_longer_than_pythons_int_limit_are_refused_like_orjson(digits: int) -> None:
    """Python's ``int`` refuses more than 4300 digits with its own ValueError; the fallback never
    calls it on more than 20 characters."""
    assert _assert_agrees(b"9" * digits)[0] == ("value" if digits <= 308 else "refused")
    _assert_agrees(b"-" + b"1" * digits)


@pytest.mark.parametrize("literal", ["NaN", "-NaN", "Infinity", "-Infinity", "+Infinity", "nan", "inf", "-inf", "Inf"])
@pytest.mark.parametrize("frame", ["{}", "[1,{}]", '{{"k":{}}}', " {} "])
def test_nan_and_infinity_literals_are_refused(literal: str, frame: str) -> None:
    assert _assert_agrees(frame.format(literal).encode("ascii"))[0] == "refused"


ESCAPES = ["\\ud83d", "\\ude00", "\\uD800", "\\uDFFF", "\\udbff", "\\u0041", "a", "\\\\", "\\\\ud800", "\\n"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(ESCAPES), max_size=6).map("".join), st.sampled_from(['"{}"', '["{}"]', '{{"{}":1}}']))
def test_escaped_surrogates_pair_up_or_are_refused(escapes: str, frame: str) -> None:
    """A high surrogate escape followed by a low one is one character; any other surrogate
    escape is refused, in a value or a key; an escaped backslash before ``ud800`` is text."""
    _assert_agrees(frame.format(escapes).encode("ascii"))


@settings(max_examples=100, deadline=None)
@given(st.text(st.characters(categories=["Cs"]) | st.characters(max_codepoint=0x7F), min_size=1, max_size=6))
def test_a_str_holding_surrogates_is_refused(text: str) -> None:
    """orjson reads a ``str`` as UTF-8, which cannot hold a surrogate, paired or not."""
    _assert_agrees(json.dumps(text, ensure_ascii=False))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=12), st.sampled_from([b'"{}"', b"{}", b'["{}"]', b'{{"{}":0}}']))
def test_invalid_utf8_is_refused_and_valid_utf8_is_read(raw: bytes, frame: bytes) -> None:
    _assert_agrees(frame.replace(b"{}", raw))


@settings(max_examples=50, deadline=None)
@given(documents, st.sampled_from(["bytes", "str"]))
def test_a_leading_byte_order_mark_is_refused(document: str, kind: str) -> None:
    assert _assert_agrees(_as(kind, "\ufeff" + document))[0] == "refused"
    assert _assert_agrees(_as(kind, "[\ufeff" + document + "]"))[0] == "refused"
    assert _assert_agrees(_as(kind, json.dumps("\ufeff", ensure_ascii=False)))[0] == "value"


@settings(max_examples=100, deadline=None)
@given(documents, st.text(" \t\r\n\x0b\x0c\x00,]}x[\ufeff", min_size=1, max_size=4))
def test_trailing_whitespace_is_read_and_trailing_data_refused(document: str, tail: str) -> None:
    outcome = _assert_agrees((document + tail).encode("utf-8"))

    assert (outcome[0] == "value") == (tail.strip(" \t\r\n") == "")


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c", ""]), json_values), max_size=8))
def test_the_last_duplicate_key_wins_at_the_first_ones_place(members: list[tuple[str, Any]]) -> None:
    text = "{" + ",".join(f"{json.dumps(key)}:{json.dumps(value)}" for key, value in members) + "}"

    _assert_agrees(text.encode("utf-8"))


@settings(max_examples=50, deadline=None)
@given(
    st.integers(min_value=990, max_value=1030),
    st.sampled_from(["arrays", "objects", "alternating"]),
    st.sampled_from(["1", "[]", "{}", '"x"', '"\\ud800"', "NaN", "1e400", "-0", ""]),
    st.sampled_from(["", " ", "\n", "x", ",", "]", "}"]),
)
def test_nesting_reads_1024_levels_and_refuses_the_1025th(depth: int, shape: str, leaf: str, tail: str) -> None:
    """Never a RecursionError: Python 3.11 counts the decoder's levels against the recursion
    limit (1000 by default), so documents near the limit go to the list-stack reader."""
    openers = [("[" if shape == "arrays" or (shape == "alternating" and i % 2) else '{"k":') for i in range(depth)]
    closers = ["]" if opener == "[" else "}" for opener in reversed(openers)]
    text = "".join(openers) + leaf + "".join(closers) + tail

    outcome = _assert_agrees(text.encode("ascii"), wide=True)
    _assert_agrees(text[: len(text) // 2].encode("ascii"), wide=True)  # cut short

    if leaf in ("1", '"x"', "-0") and tail.strip() == "":
        assert outcome[0] == ("value" if depth <= 1024 else "refused")


@pytest.mark.parametrize("depth", [1024, 1025, 100_000])
def test_very_deep_and_unclosed_documents_are_refused_without_recursion(depth: int) -> None:
    assert _assert_agrees(b"[" * depth)[0] == "refused"
    assert _assert_agrees(b"[" * depth + b"]" * depth)[0] == ("value" if depth <= 1024 else "refused")


class _Bytes(bytes):
    pass


class _Text(str):
    __slots__ = ()


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty bytes"),
        pytest.param("", id="empty str"),
        pytest.param(b" ", id="blank bytes"),
        pytest.param(" \n", id="blank str"),
        pytest.param(_Bytes(b"[1]"), id="bytes subclass"),
        pytest.param(_Text("[1]"), id="str subclass"),
        pytest.param(1, id="int"),
        pytest.param(None, id="None"),
        pytest.param([b"1"], id="list"),
        pytest.param(memoryview(b"1x2x3")[::2], id="memoryview not contiguous"),  # "123"
        pytest.param(memoryview(b"[12]")[1:3], id="memoryview slice"),
        pytest.param(memoryview(array.array("H", [0x3131])), id="memoryview of u16"),  # its raw bytes
        pytest.param(memoryview(b"1234").cast("B", shape=[2, 2]), id="memoryview 2d"),
        pytest.param(bytearray(b'{"a":[1]}'), id="bytearray"),
    ],
)
def test_only_the_input_types_orjson_takes_are_read(data: Any) -> None:
    _assert_agrees(data)


def test_every_refusal_is_a_json_decode_error_and_a_value_error() -> None:
    for data in (b"NaN", b"1e400", b'"\\ud800"', b"\xff", b"\xef\xbb\xbf1", b"[" * 2000, b"[1] x", 1):
        with pytest.raises(json.JSONDecodeError) as caught:
            loads_without_orjson(data)  # type: ignore[arg-type]  # 1 is not an input type
        assert isinstance(caught.value, ValueError)


# ---- the library with orjson hidden -------------------------------------------------------------


@pytest.fixture(scope="module")
def without_orjson() -> SimpleNamespace:
    """A second copy of ``ves`` imported while ``import orjson`` fails, as where it is not installed.

    ``sys.modules`` is restored before the tests run (this copy is reached only through the
    namespace), so every other test and module keeps the ordinary ``ves`` and orjson.
    """
    saved = {
        name: module for name, module in sys.modules.items() if name in ("orjson", "ves") or name.startswith("ves.")
    }
    for name in saved:
        del sys.modules[name]
    sys.modules["orjson"] = None  # type: ignore[assignment]  # makes `import orjson` raise ImportError
    try:
        names = ("json_text", "jcs", "legacy_json", "encryption", "hashes")
        copy = SimpleNamespace(**{name: importlib.import_module(f"ves.{name}") for name in names})
    finally:
        for name in [name for name in sys.modules if name == "ves" or name.startswith("ves.")]:
            del sys.modules[name]
        del sys.modules["orjson"]
        sys.modules.update(saved)
    return copy


def test_the_fallback_is_chosen_at_import_only_where_orjson_is_missing(without_orjson: SimpleNamespace) -> None:
    """With orjson the library uses it as it is (no wrapper on the server's hot path)."""
    assert json_text.HAVE_ORJSON
    assert json_text.loads is orjson.loads
    assert json_text.JSONDecodeError is orjson.JSONDecodeError
    hidden = without_orjson.json_text
    assert not hidden.HAVE_ORJSON
    assert hidden.loads is hidden.loads_without_orjson
    assert hidden.JSONDecodeError is json.JSONDecodeError
    assert not hasattr(without_orjson.jcs, "orjson")
    assert not hasattr(without_orjson.legacy_json, "orjson")
    assert sys.modules["ves"] is ves  # the ordinary library is back in place
    assert sys.modules["orjson"] is orjson


def _written(write: Callable[[Any], bytes], value: Any) -> bytes | str:
    """The bytes written, or the name of the exception class raised (the copies' classes are
    other objects with the same names)."""
    try:
        return write(value)
    except Exception as exc:  # the class is compared, whatever it is
        return f"{type(exc).__module__}.{type(exc).__qualname__}"


values_and_lookalikes = json_values | st.sampled_from(
    [float("nan"), [float("inf")], "\ud800", {"\udc00": 1}, {1: "key"}, 10**400, [[[[1]]]], (1, "a"), b"x"]
)


@settings(max_examples=300, deadline=None)
@given(values_and_lookalikes)
def test_rfc8785_bytes_are_the_same_without_orjson(without_orjson: SimpleNamespace, value: Any) -> None:
    assert _written(without_orjson.jcs.canonicalize, value) == _written(jcs.canonicalize, value)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_legacy_payload_bytes_and_hashes_are_the_same_without_orjson(
    without_orjson: SimpleNamespace, value: Any
) -> None:
    """For every value JSON text parses to (what the server and ``ves.bundle`` hash). Values no
    JSON text parses to (NaN, UUIDs, datetimes, enums, dataclasses) are refused by
    ``legacy_json.dumps``; orjson's fast path writes some of them (see ``fast_dumps``)."""
    assert _written(without_orjson.legacy_json.fast_dumps, value) == _written(legacy_json.fast_dumps, value)
    assert _written(without_orjson.legacy_json.payload_hash, value) == _written(legacy_json.payload_hash, value)
    assert _written(without_orjson.legacy_json.dumps, value) == _written(legacy_json.dumps, value)


@pytest.mark.parametrize("value", ["\ud800", {"k": "\udfff"}, [[[1]]], 2**64 + 1, -(2**63) - 1])
def test_legacy_refusals_and_huge_integers_are_the_same_without_orjson(
    without_orjson: SimpleNamespace, value: Any
) -> None:
    assert _written(without_orjson.legacy_json.fast_dumps, value) == _written(legacy_json.fast_dumps, value)


def test_legacy_depth_limit_is_the_same_without_orjson(without_orjson: SimpleNamespace) -> None:
    for depth in (253, 254, 255, 300):
        value: Any = 1
        for _ in range(depth):
            value = [value]
        assert _written(without_orjson.legacy_json.fast_dumps, value) == _written(legacy_json.fast_dumps, value)


_RECIPIENT = hpke.derive_key_pair(b"recipient-5")


def _fields(library: Any, **changes: Any) -> Any:
    values = {
        "ves_version": 1,
        "tenant_id": uuid.UUID(int=1),
        "store_id": uuid.UUID(int=2),
        "event_id": uuid.UUID(int=3),
        "source_agent_id": uuid.UUID(int=4),
        "agent_key_id": 1,
        "entity_type": "order",
        "entity_id": "ORD-1",
        "event_type": "order.created",
        "created_at": "2025-12-20T17:51:10.243Z",
        "payload_kind": 1,
        "payload_plain_hash": bytes(32),
        "payload_cipher_hash": bytes(32),
    }
    return library.EventSigningFields(**{**values, **changes})


@settings(max_examples=25, deadline=None)
@given(json_values)
def test_encrypted_payloads_open_to_the_same_value_without_orjson(
    without_orjson: SimpleNamespace, payload: Any
) -> None:
    encryption = without_orjson.encryption
    context = _fields(without_orjson.hashes)
    sealed = encryption.seal(context, payload, [(5, _RECIPIENT[1])], salt=bytes(16), dek=bytes(32), nonce=bytes(12))
    fields = _fields(
        without_orjson.hashes,
        payload_plain_hash=sealed.payload_plain_hash,
        payload_cipher_hash=sealed.payload_cipher_hash,
    )
    ordinary = _fields(
        hashes, payload_plain_hash=sealed.payload_plain_hash, payload_cipher_hash=sealed.payload_cipher_hash
    )
    opened = encryption.open_payload(fields, sealed.payload_encrypted, 5, _RECIPIENT[0])

    assert _same_value(opened, open_payload(ordinary, sealed.payload_encrypted, 5, _RECIPIENT[0]))


def test_a_plaintext_that_is_not_json_is_an_open_error_without_orjson(
    without_orjson: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The decode error the fallback raises is the one ``open_payload`` catches."""
    encryption = without_orjson.encryption
    monkeypatch.setattr(encryption, "canonicalize", lambda payload: b'{"a":NaN}')  # what is encrypted
    sealed = encryption.seal(_fields(without_orjson.hashes), {"a": 1}, [(5, _RECIPIENT[1])])
    fields = _fields(
        without_orjson.hashes,
        payload_plain_hash=sealed.payload_plain_hash,
        payload_cipher_hash=sealed.payload_cipher_hash,
    )

    with pytest.raises(encryption.OpenError, match="not JSON"):
        encryption.open_payload(fields, sealed.payload_encrypted, 5, _RECIPIENT[0])


# Run in a fresh interpreter where `import orjson` fails before anything is imported: every ves
# module imports, and reading, canonicalising and hashing give the ordinary library's answers.
_PROBE = """
import importlib, json, pkgutil, sys
sys.modules["orjson"] = None
import ves
for module in pkgutil.iter_modules(ves.__path__, "ves."):
    importlib.import_module(module.name)
from ves import jcs, json_text, legacy_json
assert not json_text.HAVE_ORJSON
value = json_text.loads(sys.stdin.buffer.read())
refused = False
try:
    json_text.loads(b'[1,NaN]')
except json.JSONDecodeError:
    refused = True
print(json.dumps({
    "canonical": jcs.canonicalize(value).decode(),
    "legacy": legacy_json.payload_hash(value).hex(),
    "refused": refused,
}))
"""


def test_the_whole_library_imports_and_agrees_where_orjson_is_not_installed() -> None:
    document = b'{"b":[1.5e21,-0,18446744073709551616,"\\ud83d\\ude00"],"a":"caf\\u00e9","\\u20ac":{"x":0.1}}'
    package_root = str(Path(ves.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([package_root, os.environ.get("PYTHONPATH", "")])}
    env.pop("DJANGO_SETTINGS_MODULE", None)

    done = subprocess.run(  # noqa: S603 - this interpreter and a fixed script
        [sys.executable, "-c", _PROBE], input=document, capture_output=True, env=env, timeout=60, check=False
    )

    assert done.returncode == 0, done.stderr.decode()
    value = orjson.loads(document)
    assert json.loads(done.stdout) == {
        "canonical": jcs.canonicalize(value).decode(),
        "legacy": legacy_json.payload_hash(value).hex(),
        "refused": True,
    }
