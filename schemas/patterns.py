"""Schema regular expressions on RE2, in time linear in the text (ADR 0046, ``docs/schemas.md``).

jsonschema runs ``pattern`` and ``patternProperties`` through Python's ``re``, which backtracks
with no time limit while holding the GIL: ``^(a+)+$`` on 35 ``a`` and a ``!`` stalls every
thread of a web process past its timeout. Every pattern the project's validators evaluate goes
through :func:`search` instead: Google's RE2 (``google-re2``), an automaton that never
backtracks, which releases the GIL while it scans.

RE2 speaks most of ECMA-262, the dialect JSON Schema names, but not backreferences or
lookaround (their cost is what makes backtracking exponential). :func:`translated` rewrites
the ECMA-262 (and Python) escapes RE2 spells differently; a pattern RE2 still cannot compile,
or whose compiled program exceeds :data:`MAX_PROGRAM_SIZE`, is refused at registration with
:func:`pattern_problem`'s reason, and raises :class:`PatternError` if a schema stored before
holds one.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

import re2  # type: ignore[import-untyped]  # google-re2 ships no type information

__all__ = ["MAX_PROGRAM_SIZE", "PatternError", "pattern_problem", "scan_cost", "search", "translated"]

# RE2 instructions of a compiled pattern (forward and reverse programs). The scan of a text of n
# bytes costs at most about n x (the instructions alive at once) when RE2's DFA gives up, and a
# bounded repetition repeats its operand: ``[ab]{0,1000}`` is 2,000 instructions. The largest
# patterns a schema plausibly holds (an e-mail address, 510; ``^[\p{L}\p{M}' .-]+$``, 1,332;
# ``^.{1,255}$``, 2,296) fit; ``\p{L}{1,100}`` (120,000) does not: bound lengths with maxLength.
MAX_PROGRAM_SIZE = 4_000
# Memory RE2 may take per compiled pattern (its programs and DFA state cache); past it, it
# refuses the pattern ("pattern too large") instead of allocating. RE2's default is 8 MiB.
RE2_MAX_MEM = 1 << 20
# Compiled patterns kept per process, shared by every validator: at most this many times
# RE2_MAX_MEM (256 MiB) even if every cached pattern filled its DFA cache.
COMPILED_PATTERNS = 256
_QUOTED_MAX = 120
_HINT = "patterns run on RE2, in linear time: backreferences and lookaround are not supported"

# ECMA-262's \s (WhiteSpace and LineTerminator) as RE2 class members; RE2's own \s is ASCII
# [\t\n\f\r ] only (no \v, no-break space or Unicode spaces).
_ECMA_SPACE = r"\t\n\x0B\f\r \x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}\x{FEFF}"
_HEX = frozenset("0123456789abcdefABCDEF")


class PatternError(ValueError):
    """A pattern this server cannot run: RE2 cannot compile it, or it is too large."""


def _quoted(pattern: str) -> str:
    text = repr(pattern)
    return text if len(text) <= _QUOTED_MAX else text[: _QUOTED_MAX - 3] + "..."


def _hex_digits(pattern: str, start: int, count: int) -> str | None:
    digits = pattern[start : start + count]
    return digits if len(digits) == count and all(c in _HEX for c in digits) else None


def _code_point(value: int) -> str:
    return f"\\x{{{value:X}}}"


def _unicode_escape(pattern: str, i: int) -> tuple[int, str] | None:
    r"""``\u`` and four hex digits (a surrogate pair of two as one code point), or ``\u{hex}``,
    at ``i``: (length, RE2)."""
    if pattern.startswith("{", i + 2):
        end = pattern.find("}", i + 3)
        braced = pattern[i + 3 : end] if end != -1 else ""
        if 0 < len(braced) <= 6 and all(c in _HEX for c in braced):
            return end + 1 - i, _code_point(int(braced, 16))
        return None
    digits = _hex_digits(pattern, i + 2, 4)
    if digits is None:
        return None
    high = int(digits, 16)
    low_digits = _hex_digits(pattern, i + 8, 4) if pattern.startswith("\\u", i + 6) else None
    if 0xD800 <= high <= 0xDBFF and low_digits is not None and 0xDC00 <= int(low_digits, 16) <= 0xDFFF:
        return 12, _code_point(0x10000 + ((high - 0xD800) << 10) + (int(low_digits, 16) - 0xDC00))
    return 6, _code_point(high)


def _escape(pattern: str, i: int, in_class: bool) -> tuple[int, str]:
    """The escape at ``pattern[i]`` (a backslash): how many characters it spans, and its RE2 form."""
    letter = pattern[i + 1]
    if letter == "u":
        unicode = _unicode_escape(pattern, i)
        if unicode is not None:
            return unicode
    elif letter == "U":  # Python's \U and eight hex digits
        digits = _hex_digits(pattern, i + 2, 8)
        if digits is not None:
            return 10, _code_point(int(digits, 16))
    elif letter == "c" and i + 2 < len(pattern) and pattern[i + 2].isascii() and pattern[i + 2].isalpha():
        return 3, _code_point(ord(pattern[i + 2]) % 32)  # ECMA-262 control escape
    elif letter == "Z":  # Python's end of text
        return 2, "\\z"
    elif letter == "s":
        return 2, _ECMA_SPACE if in_class else f"[{_ECMA_SPACE}]"
    elif letter == "S" and not in_class:  # in a class, RE2's \S stays (a class cannot negate a part)
        return 2, f"[^{_ECMA_SPACE}]"
    elif letter == "Q":  # RE2's literal text up to \E: copied as is
        end = pattern.find("\\E", i + 2)
        stop = len(pattern) if end == -1 else end + 2
        return stop - i, pattern[i:stop]
    return 2, pattern[i : i + 2]


def translated(pattern: str) -> str:
    r"""``pattern`` with the escapes RE2 lacks or spells otherwise rewritten to RE2's.

    ``\u`` and four hex digits, ``\u{hex}`` (ECMA-262) and ``\U`` and eight (Python) become
    ``\x{hex}`` (RE2 has no ``\u``), a surrogate pair one code point; ``\cX`` its control character; ``\Z`` (Python)
    ``\z``; ``\s`` and, outside a class, ``\S`` ECMA-262's whitespace. Everything else is RE2's
    to read, or to refuse. Classes are tracked as RE2 reads them (a ``]`` first in a class is a
    literal; ``[:alpha:]`` names a class).
    """
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    while i < n:
        char = pattern[i]
        if char == "\\" and i + 1 < n:
            length, replacement = _escape(pattern, i, in_class)
            out.append(replacement)
            i += length
        elif in_class and pattern.startswith("[:", i) and (end := pattern.find(":]", i + 2)) != -1:
            out.append(pattern[i : end + 2])
            i = end + 2
        elif in_class:
            in_class = char != "]"
            out.append(char)
            i += 1
        elif char == "[":
            in_class = True
            start = i + 1 + pattern.startswith("^", i + 1)
            start += pattern.startswith("]", start)
            out.append(pattern[i:start])
            i = start
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _options() -> Any:
    options = re2.Options()
    options.max_mem = RE2_MAX_MEM
    options.log_errors = False  # RE2 would print each refusal on stderr
    options.never_capture = True  # only whether it matches counts: no submatch engine
    return options


@dataclass(frozen=True, slots=True)
class _Compiled:
    regexp: Any  # re2's compiled pattern, or None with ``problem``
    problem: str | None
    width: int = 0  # instructions a scan may have alive at once, at most (:func:`scan_cost`)


_WIDE_ESCAPE = re.compile(r"\\x\{([0-9A-Fa-f]+)\}")  # linear: no nested repetition


def _width(regexp: Any, rewritten: str) -> int:
    """The size of ``rewritten`` compiled over Latin-1, every code point past U+00FF as U+00FF:
    its structure (alternatives, repetitions) without the byte sequences UTF-8 spells a large
    class with (``\\p{L}`` is 1,200 instructions in UTF-8, 1 in Latin-1, while a scan follows
    only a few of them at once). The UTF-8 size if that fails to compile."""
    clamped = _WIDE_ESCAPE.sub(lambda m: m[0] if int(m[1], 16) <= 0xFF else "\\x{FF}", rewritten)
    options = _options()
    options.encoding = re2.Options.Encoding.LATIN1
    try:
        latin1 = re2.compile("".join(c if ord(c) <= 0xFF else "\xff" for c in clamped).encode("latin-1"), options)
    except re2.error:
        return int(regexp.programsize)
    return min(int(latin1.programsize), int(regexp.programsize))


def _reason(error: re2.error) -> str:
    detail = error.args[0] if error.args else ""
    return detail.decode("utf-8", "replace") if isinstance(detail, bytes) else str(detail)


@functools.lru_cache(maxsize=COMPILED_PATTERNS)
def _compiled(pattern: str) -> _Compiled:
    rewritten = translated(pattern)
    try:
        regexp = re2.compile(rewritten, _options())
    except re2.error as exc:
        return _Compiled(None, f"{_quoted(pattern)} is not a pattern RE2 can run ({_reason(exc)}; {_HINT})")
    size = max(regexp.programsize, regexp.reverseprogramsize)
    if regexp.reverseprogramsize < 0:  # RE2 could not fit the reverse program in its memory
        size = MAX_PROGRAM_SIZE + 1
    if size > MAX_PROGRAM_SIZE:
        return _Compiled(
            None,
            f"{_quoted(pattern)} compiles to more than {MAX_PROGRAM_SIZE} RE2 instructions (a bounded "
            "repetition repeats its operand: bound a length with minLength/maxLength instead of "
            "'.{1,255}' or '\\p{L}{1,100}')",
        )
    return _Compiled(regexp, None, _width(regexp, rewritten))


def pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` cannot run (the reason a schema holding it is refused), or ``None``."""
    return _compiled(pattern).problem


def scan_cost(pattern: str, text: str) -> int:
    """An upper bound of what scanning ``text`` for ``pattern`` costs, in bytes x instructions
    (about 10 ns each): RE2's automaton is linear, but when an adversarial text defeats its DFA
    cache, each byte advances every instruction alive (at most the pattern's width). Typical
    scans stay in the DFA at a few ns per byte. :class:`PatternError` as :func:`search`."""
    compiled = _compiled(pattern)
    if compiled.regexp is None:
        raise PatternError(compiled.problem)
    size = len(text) if text.isascii() else 4 * len(text)  # UTF-8 bytes, at most
    return size * compiled.width


def search(pattern: str, text: str) -> bool:
    """Whether ``pattern`` matches anywhere in ``text`` (JSON Schema's unanchored search), on RE2.

    :class:`PatternError` when the pattern cannot run (only a schema stored before patterns
    were checked holds one). The text is scanned as UTF-8, outside the GIL.
    """
    compiled = _compiled(pattern)
    if compiled.regexp is None:
        raise PatternError(compiled.problem)
    # surrogatepass: a lone surrogate (no JSON parser here yields one) scans as bytes, never raises
    return compiled.regexp.search(text.encode("utf-8", "surrogatepass")) is not None
