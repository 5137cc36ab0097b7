"""A ``Retry-After`` header (RFC 9110, section 10.2.3) as seconds to wait, for both clients.

The header is either delay-seconds or an HTTP-date. A value that is neither, or that says to wait
a negative, NaN or infinite time, is no advice at all: the caller falls back to its own backoff
instead of crashing in ``time.sleep`` or waiting forever.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = ["retry_after_seconds"]


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """The wait ``value`` asks for in seconds (0 for a date already past), or ``None`` when it is
    missing or unusable. ``now`` is the time an HTTP-date is measured from (default: the clock)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    delay = _delay_seconds(text)
    if delay is not None:
        return delay
    return _seconds_until_date(text, now or datetime.now(UTC))


def _delay_seconds(text: str) -> float | None:
    """delay-seconds (decimals too, as some servers send them) when finite and not negative."""
    try:
        delay = float(text)
    except ValueError:
        return None
    return delay if math.isfinite(delay) and delay >= 0 else None


def _seconds_until_date(text: str, now: datetime) -> float | None:
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000": RFC 5322's "UTC, zone unknown"; HTTP-dates are GMT
        when = when.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)
