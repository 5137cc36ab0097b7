"""``created_at`` of legacy ingest: the fast reader (Python's ``fromisoformat`` on what has RFC
3339's shape) takes exactly what the strict reader (``ves.rfc3339``, the reference's rule) takes."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from events.envelopes import parse_created_at
from events.field_errors import FieldErrors
from ves.rfc3339 import parse_rfc3339

# RFC 3339's shape and its near misses: a separator, a fraction with or without digits, an
# offset with or without its colon, case, stray characters where fromisoformat is lenient.
NEAR_RFC3339 = st.from_regex(
    r"\A\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2})?([.,]\d{0,7})?([Zz]|[+-]\d{2}(:?\d{2})?)?\Z", fullmatch=True
)


def _fast(text: str) -> object:
    return parse_created_at(text, "created_at", FieldErrors())


@given(NEAR_RFC3339)
@example("2026-12-07T00:00:00.Z")
@example("2026-12-07T00:00:00.+05:00")
@example("2026-12-07T00:00:00.-05:00")
@example("2026-12-07T00:00:00.5Z")
def test_the_fast_reader_takes_what_the_strict_reader_takes(text: str) -> None:
    strict = parse_rfc3339(text) if "T" in text.upper() else None  # the space separator is refused here

    assert _fast(text) == strict
