"""Generic limits on parsed JSON request bodies: nesting depth and U+0000 (no Django import).

Every body is parsed by :func:`sequencer_project.api.parsers.loads`, which applies both, so a
new endpoint gets them without doing anything (ADR 0016, ``docs/reliability.md``).

* **Depth.** :data:`MAX_JSON_DEPTH` levels of objects and arrays for the whole body. Our
  recursive consumers break much deeper (measured with 300 frames already on the stack:
  ``jsonschema`` checking a schema of nested ``allOf`` at ~114 levels, validating a payload
  against a recursive ``anyOf`` schema at ~115, ``merge_patch`` at ~690, orjson refuses to write
  more than 254), so 64 leaves them about twice the room they need.
* **NUL.** PostgreSQL ``text`` and ``jsonb`` cannot hold U+0000 (``jsonb`` fails with
  ``unsupported Unicode escape sequence``); JSON can only carry it as the escape ``\\u0000``.

Both checks are cheap when they cannot fail: the depth walk (:func:`ves.json_depth.too_deep`,
which RFC 8785 canonicalisation uses too) is skipped when the body has fewer ``[`` plus ``{``
bytes than the limit, the NUL walk when the raw bytes hold no ``\\u0000``. Otherwise they walk
the parsed value iteratively (no recursion, so no recursion limit).
"""

from __future__ import annotations

from typing import Any

MAX_JSON_DEPTH = 64
NUL_ESCAPE = b"\\u0000"


def _printable(text: str) -> str:
    return text.replace("\x00", "\\u0000")


def nul_path(value: Any) -> str | None:
    """The JSON path (``a.b[0]``; ``""`` for the root) of the first string or key holding U+0000."""
    pending: list[tuple[Any, str]] = [(value, "")]
    while pending:
        node, path = pending.pop()
        if isinstance(node, str):
            if "\x00" in node:
                return path
        elif isinstance(node, dict):
            for key, child in node.items():
                child_path = f"{path}.{_printable(key)}" if path else _printable(key)
                if "\x00" in key:
                    return child_path
                pending.append((child, child_path))
        elif isinstance(node, list):
            pending.extend((child, f"{path}[{index}]") for index, child in enumerate(node))
    return None


def has_nul_escape(raw: bytes) -> bool:
    """Whether the JSON text ``raw`` holds a ``\\u0000`` escape.

    Looks for a backslash first: a one-byte search (``memchr``) runs ~50 times faster than the
    six-byte one, which steps through a 129 KB batch body a few bytes at a time (65 µs per
    100-event request, measured), and most bodies hold no escape at all."""
    return b"\\" in raw and NUL_ESCAPE in raw


def raw_nul_path(raw: bytes, value: Any) -> str | None:
    """:func:`nul_path`, skipped when the JSON text ``raw`` of ``value`` has no ``\\u0000`` escape."""
    return nul_path(value) if has_nul_escape(raw) else None


def jsonb_problem(value: Any, serialised: bytes) -> str | None:
    """Why PostgreSQL ``jsonb`` cannot hold ``value`` (``serialised`` is its JSON text), or ``None``.

    Only U+0000 remains to check: orjson already refused lone surrogates, NaN and infinities
    when parsing, and turns integers beyond 64 bits into doubles, which ``numeric`` holds.
    """
    path = raw_nul_path(serialised, value)
    if path is None:
        return None
    where = f" at {path}" if path else ""
    return f"holds U+0000{where}, which PostgreSQL jsonb cannot store"
