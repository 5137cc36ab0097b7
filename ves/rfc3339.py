"""RFC 3339 timestamps: the check the reference applies to ``created_at`` (never re-formatted)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

__all__ = ["parse_rfc3339"]

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:(\d{2})(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})\Z", re.ASCII)


def parse_rfc3339(text: str) -> datetime | None:
    """The aware datetime of an RFC 3339 ``date-time`` string, or ``None`` if it is not one.

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
    except ValueError:
        return None
    try:
        return parsed + timedelta(seconds=1) if leap else parsed
    except OverflowError:  # a leap second at the end of year 9999
        return None
