"""Timestamps written the way the reference writes them, where a client may compare the text.

The reference writes a timestamp in one of two forms: ``to_rfc3339()`` (an explicit
``+00:00`` offset) in the bodies it builds by hand (schemas), and ``Z`` where serde serialises
a ``DateTime<Utc>`` (our renderer's default, ``OPT_UTC_Z``). Both print the fraction of a
second in 0, 3, 6 or 9 digits, the fewest that hold it; PostgreSQL keeps microseconds, so 9
never occurs here.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["rfc3339_offset"]


def _fraction(microsecond: int) -> str:
    if microsecond == 0:
        return ""
    if microsecond % 1000 == 0:
        return f".{microsecond // 1000:03d}"
    return f".{microsecond:06d}"


def rfc3339_offset(value: datetime) -> str:
    """``value`` in UTC as the reference's ``to_rfc3339()``: ``2026-01-02T03:04:05.120+00:00``."""
    utc = value.astimezone(UTC)
    return f"{utc.replace(microsecond=0, tzinfo=None).isoformat()}{_fraction(utc.microsecond)}+00:00"
