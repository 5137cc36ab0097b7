"""The retry loop both ingest paths (legacy and VES) run their write transaction in.

A transaction is run again, up to :data:`MAX_ATTEMPTS` times, when another store of the tenant
took one of its event ids after it classified (:class:`EventIdRaceError`), or when PostgreSQL
aborted it for a conflict with another transaction (:data:`RETRYABLE_SQLSTATES`: the same
statements may succeed when run again); anything else is raised at once. The loop runs once
per request (or request group), never per event.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import TypeVar

from django.db import DatabaseError

from events.errors import SequenceExhaustedError

T = TypeVar("T")

MAX_ATTEMPTS = 3
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})  # serialization failure, deadlock detected
# The only BIGINT arithmetic of an append is head + events (every value a client sends is
# checked against its column's range first), so an overflow is the stream's sequence running out.
NUMERIC_VALUE_OUT_OF_RANGE = "22003"


class EventIdRaceError(Exception):
    """Another store of the tenant inserted one of our event ids after we classified."""


def ingest_with_retries(
    run_once: Callable[[], T], *, tenant_id: uuid.UUID, store_id: uuid.UUID, label: str, log: logging.Logger
) -> T:
    """``run_once()`` (one write transaction), retried up to ``MAX_ATTEMPTS`` times.

    ``label`` prefixes the log lines and the final error (``""`` for legacy, ``"VES "``);
    ``log`` is the calling module's logger.
    """
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return run_once()
        except EventIdRaceError:
            log.info("%sevent id race on %s/%s, attempt %d; retrying", label, tenant_id, store_id, attempt)
        except DatabaseError as exc:
            sqlstate = getattr(exc.__cause__, "sqlstate", None)
            if sqlstate == NUMERIC_VALUE_OUT_OF_RANGE:
                raise SequenceExhaustedError(
                    f"Stream {tenant_id}/{store_id} has too few sequence numbers left (the last is 2^63 - 1)."
                ) from exc
            if sqlstate not in RETRYABLE_SQLSTATES or attempt == MAX_ATTEMPTS:
                raise
            log.info("retrying %singest after sqlstate %s, attempt %d", label, sqlstate, attempt)
    raise DatabaseError(f"{label}ingest could not complete after retries")
