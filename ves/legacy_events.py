"""A legacy event as the client sends it: its id and time fixed before the first attempt, so a
re-send is answered as an exact replay, and every value checked to be JSON first."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ves.arguments import InvalidArgumentError, checked_json

__all__ = ["now_rfc3339", "prepared_legacy_event"]


def now_rfc3339() -> str:
    """The current time as the sequencer writes it: RFC 3339, milliseconds, ``Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def prepared_legacy_event(event: Mapping[str, Any], where: str) -> dict[str, Any]:
    """``event`` (called ``where`` in errors) with its id and time fixed, UUIDs as text; it must
    be JSON (:class:`InvalidArgumentError` naming the field otherwise)."""
    if not isinstance(event, Mapping):
        raise InvalidArgumentError(f"{where} must be an object, got {event!r}")
    prepared = dict(event)
    prepared.setdefault("event_id", str(uuid.uuid4()))
    prepared.setdefault("created_at", now_rfc3339())
    fields = {key: str(value) if isinstance(value, uuid.UUID) else value for key, value in prepared.items()}
    checked_json(fields, where)
    return fields
