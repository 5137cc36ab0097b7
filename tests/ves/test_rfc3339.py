"""``created_at`` parsing: RFC 3339 date-times only; the string itself is never re-formatted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from ves.rfc3339 import parse_rfc3339


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-12-20T17:51:10.243Z", datetime(2025, 12, 20, 17, 51, 10, 243000, tzinfo=UTC)),
        ("2025-06-01T12:00:00.000001Z", datetime(2025, 6, 1, 12, 0, 0, 1, tzinfo=UTC)),
        ("2025-06-01t12:00:00.123456789z", datetime(2025, 6, 1, 12, 0, 0, 123456, tzinfo=UTC)),
        ("2025-01-01 00:00:00+02:00", datetime(2025, 1, 1, tzinfo=timezone(timedelta(hours=2)))),
        ("2016-12-31T23:59:60Z", datetime(2017, 1, 1, tzinfo=UTC)),
    ],
)
def test_valid_timestamps(text: str, expected: datetime) -> None:
    assert parse_rfc3339(text) == expected


@pytest.mark.parametrize(
    "text", ["2026-01-01T00:00:00+16:00", "2026-01-01T00:00:00-23:59", "2025-01-01T00:00:00+02:00"]
)
def test_the_instant_is_in_utc_whatever_the_offset(text: str) -> None:
    """PostgreSQL's timestamptz input refuses offsets beyond ±15:59 that RFC 3339 allows."""
    parsed = parse_rfc3339(text)
    assert parsed is not None
    assert parsed.utcoffset() == timedelta(0)
    assert parsed == datetime.fromisoformat(text)


@pytest.mark.parametrize(
    "text",
    [
        "2025-01-01",
        "2025-01-01T00:00:00",
        "2025-02-30T00:00:00Z",
        "2025-01-01T00:00Z",
        "20250101T000000Z",
        "2025-01-01T00:00:00+0200",
        "2025-01-01T00:00:00.Z",
        " 2025-01-01T00:00:00Z",
        "2025-01-01T25:00:00Z",
        "9999-12-31T23:59:60Z",  # a leap second past the last representable instant
    ],
)
def test_invalid_timestamps(text: str) -> None:
    assert parse_rfc3339(text) is None
