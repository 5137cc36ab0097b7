"""Patterns on RE2 (``schemas.patterns``): the same verdicts as before on ordinary patterns, the
ECMA-262 escapes RE2 spells otherwise, and the documented differences (ADR 0046)."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.patterns import MAX_PROGRAM_SIZE, PatternError, pattern_problem, search, translated

# Atoms whose meaning Python's re, ECMA-262 and RE2 share on the texts drawn below (ASCII, no
# newline): \d, \w and \s differ only outside ASCII, and $ only before a final newline.
_ATOMS = st.sampled_from(
    ["a", "b", "c", "1", " ", ".", "[ab]", "[^a]", "[a-c1]", "\\d", "\\D", "\\w", "\\W", "\\s", "\\S", "\\.", "\\u0061"]
)
_QUANTIFIERS = st.sampled_from(["*", "+", "?", "{2}", "{0,2}", "{1,3}", "*?", "+?", "??"])


def _grown(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(inner, inner).map("".join),
        st.tuples(inner, inner).map(lambda pair: f"(?:{pair[0]}|{pair[1]})"),
        inner.map(lambda p: f"({p})"),
        st.tuples(inner, _QUANTIFIERS).map(lambda pair: f"(?:{pair[0]}){pair[1]}"),
    )


_PATTERNS = st.tuples(
    st.sampled_from(["", "^"]), st.recursive(_ATOMS, _grown, max_leaves=8), st.sampled_from(["", "$"])
)
_TEXTS = st.text(alphabet="abc1 \t_.", max_size=12)


@settings(max_examples=600, deadline=None)
@given(_PATTERNS, _TEXTS)
def test_ordinary_patterns_search_as_before(parts: tuple[str, str, str], text: str) -> None:
    pattern = "".join(parts)
    assert pattern_problem(pattern) is None
    assert search(pattern, text) is (re.search(pattern, text) is not None)


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("^[\\u0041-\\u005A]+$", "ABC", True),  # ECMA-262 \uXXXX: RE2 spells it \x{...}
        ("^[\\u0041-\\u005A]+$", "AbC", False),
        ("^\\uD83D\\uDE00$", "\U0001f600", True),  # a surrogate pair is one code point
        ("^\\u{1F600}$", "\U0001f600", True),
        ("^\\cJ$", "\n", True),  # ECMA-262 control escape
        ("^a\\s+b$", "a\u00a0\u2003b", True),  # ECMA-262 whitespace, wider than RE2's ASCII \s
        ("^\\S+$", "a\u00a0b", False),
        ("^[^\\s]+$", "a\u00a0b", False),
        ("\\\\u0041", "\\u0041", True),  # an escaped backslash then the text u0041
        ("^\\p{L}+$", "Ünïcödé", True),  # Unicode classes: refused by re before
        ("^.$", "\U0001f600", True),  # a code point, not a byte
        ("ab\\Z", "xab", True),  # Python's \Z is RE2's \z
    ],
)
def test_translated_escapes(pattern: str, text: str, expected: bool) -> None:
    assert search(pattern, text) is expected


@pytest.mark.parametrize(
    ("pattern", "text", "before", "now"),
    [
        ("^abc$", "abc\n", True, False),  # $ is the end of the text (ECMA-262), not before a final \n
        ("^\\d+$", "\u0663", True, False),  # \d, \w, \b are ASCII (ECMA-262), not Unicode
        ("^\\w$", "é", True, False),
    ],
)
def test_documented_differences_from_pythons_re(pattern: str, text: str, before: bool, now: bool) -> None:
    assert (re.search(pattern, text) is not None) is before
    assert search(pattern, text) is now


@pytest.mark.parametrize(
    "pattern", ["(a)\\1", "(?P<x>a)(?P=x)", "(?=a)", "(?!a)", "(?<=a)b", "(?<!a)b", "a{1000}{1000}", "x*+", "\\"]
)
def test_what_re2_cannot_run_is_named_with_a_reason(pattern: str) -> None:
    problem = pattern_problem(pattern)

    assert problem is not None
    assert problem.startswith(repr(pattern))
    with pytest.raises(PatternError, match="RE2"):
        search(pattern, "a")


@pytest.mark.parametrize(
    "pattern",
    [
        "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
        "^[\\p{L}\\p{M}' .-]+$",
        "^.{1,255}$",
        "^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$",
    ],
)
def test_realistic_patterns_fit_the_program_limit(pattern: str) -> None:
    assert pattern_problem(pattern) is None


@pytest.mark.parametrize("pattern", ["\\p{L}{1,100}", "[ab]{0,1000}[cd]{0,1000}", "x{0,999}y{0,999}z{0,999}"])
def test_patterns_past_the_program_limit_are_refused(pattern: str) -> None:
    problem = pattern_problem(pattern)

    assert problem is not None
    assert f"more than {MAX_PROGRAM_SIZE} RE2 instructions" in problem or "RE2 can run" in problem


def test_the_scan_is_linear_where_re_backtracks() -> None:
    started = time.monotonic()
    assert search("^(a+)+$", "a" * 1_000_000 + "!") is False
    assert search("(x+x+)+y", "x" * 1_000_000) is False
    assert time.monotonic() - started < 5  # re: ~2 s at 25 characters, doubling with each


def test_classes_are_tracked_as_re2_reads_them() -> None:
    # a "]" first in a class is a literal: \s is still inside the class, its members spelled out
    assert translated("[]\\s]").startswith("[]\\t\\n")
    assert [search("^[]\\s]$", text) for text in ("]", "\u00a0", "x")] == [True, True, False]
    assert translated("[[:alpha:]\\s]").startswith("[[:alpha:]\\t")
    assert translated("\\Q\\u0041\\E") == "\\Q\\u0041\\E"  # RE2's literal text stays as written
