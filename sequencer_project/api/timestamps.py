"""Timestamps written the way the reference's chrono writes them, for wire-compatible bodies.

The reference formats ``DateTime<Utc>`` two ways: ``to_rfc3339()`` gives ``+00:00`` and serde
gives ``Z``. Both use chrono's automatic precision: no fraction for whole seconds, else 3, 6
or 9 digits, the fewest that hold the value (PostgreSQL keeps microseconds, so at most 6).
Our default renderer writes Python's ``isoformat`` with ``Z``; bodies that copy a reference
answer field for field use these instead.
"""

from __future__ import annotations

from datetime import UTC, datetime


def chrono_rfc3339(value: datetime, *, use_z: bool = False) -> str:
    """``value`` as chrono's ``to_rfc3339()`` (``use_z=False``) or serde (``use_z=True``) writes it."""
    utc = value.astimezone(UTC)
    whole = utc.replace(microsecond=0, tzinfo=None).isoformat(timespec="seconds")
    micro = utc.microsecond
    if micro == 0:
        fraction = ""
    elif micro % 1000 == 0:
        fraction = f".{micro // 1000:03d}"
    else:
        fraction = f".{micro:06d}"
    return whole + fraction + ("Z" if use_z else "+00:00")


def chrono_rfc3339_or_none(value: datetime | None) -> str | None:
    return None if value is None else chrono_rfc3339(value)
