"""RFC 3339 timestamps: the check the reference applies to ``created_at`` (never re-formatted)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

__all__ = ["parse_rfc3339", "utc_instant"]

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:(\d{2})(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})\Z", re.ASCII)


def parse_rfc3339(text: str) -> datetime | None:
    """The instant of an RFC 3339 ``date-time`` string, in UTC, or ``None`` if it is not one
    (or its instant falls outside years 1..9999 in UTC).

    In UTC because RFC 3339 allows offsets to ±23:59 and PostgreSQL's ``timestamptz`` input only
    to ±15:59: ``2026-01-01T00:00:00+16:00`` is a valid timestamp it would refuse as written.
    The original string must be kept for signatures: ``.123Z``, ``.123000Z`` and ``+00:00``
    are the same instant but different signed bytes.
    """
    match = _RFC3339.match(text)
    if match is None:
        return None
    leap = match.group(1) == "60"  # a leap second (accepted, like chrono): the next second
    normalised = text.upper().replace(" ", "T").replace("Z", "+00:00")
    if leap:
        normalised = normalised[: match.start(1)] + "59" + normalised[match.end(1) :]
    head, dot, rest = normalised.partition(".")
    if dot:  # Python keeps at most 6 fractional digits
        digits = len(rest) - len(rest.lstrip("0123456789"))
        rest = rest[:digits][:6].ljust(6, "0") + rest[digits:]
        normalised = head + "." + rest
    try:
        parsed = datetime.fromisoformat(normalised)
        parsed = parsed + timedelta(seconds=1) if leap else parsed
    except (ValueError, OverflowError):
        return None
    return utc_instant(parsed)


def utc_instant(value: datetime) -> datetime | None:
    """``value`` in UTC, or ``None`` when the instant falls outside years 1..9999 in UTC.

    ``9999-12-31T23:59:59-23:59`` is a valid RFC 3339 string whose UTC instant Python (and so
    every read of the stored row) cannot represent: such timestamps are refused, not stored.
    """
    try:
        return value.astimezone(UTC)
    except OverflowError:
        return None
