"""Commitment lag for ``/metrics`` and ``/health/detailed``, published through Redis.

Each ``commitments.commitment_tick`` measures the lag (one query) and stores it in Redis with a
TTL of a few ticks; scraping only reads that key through the Redis circuit breaker. Scrapes and
health checks therefore never wait on PostgreSQL, and a missing value (no beat running, Redis
down) is reported as no value rather than a stale one.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.conf import settings

from sequencer_project.redis_client import guarded

logger = logging.getLogger(__name__)

LAG_KEY = "commitments:lag_events"
# When the last tick published (Unix seconds), kept a day: /health/detailed's commitment_tick
# component says how long ago, and degrades once that is longer than a few intervals.
TICK_KEY = "commitments:tick_at"
TICK_KEPT_SECONDS = 86_400


def publish_lag(lag: int) -> None:
    ttl = max(60, int(settings.COMMITMENT_INTERVAL_SECONDS * 3))

    def publish(client: Any) -> None:
        client.set(LAG_KEY, str(lag), ex=ttl)
        client.set(TICK_KEY, f"{time.time():.3f}", ex=TICK_KEPT_SECONDS)

    try:
        guarded(publish)
    except Exception:  # the gauge is best effort: a tick never fails because Redis did
        logger.warning("could not publish the commitment lag", exc_info=True)


def tick_stale_seconds() -> float:
    """How long without a tick before the commitment_tick component degrades: five intervals,
    at least 10 s (a tick may take up to COMMITMENT_TICK_SEAL_SECONDS)."""
    return max(10.0, 5 * settings.COMMITMENT_INTERVAL_SECONDS)


def commitment_tick_health() -> dict[str, Any]:
    """``components.commitment_tick`` of ``/health/detailed``: how long ago the automatic
    commitment tick last ran and the lag it measured; ``degraded`` when none ran for
    :func:`tick_stale_seconds` (beat stopped, or the worker does not take the ``commitments``
    queue) or none is recorded. Read from Redis only, never PostgreSQL."""
    try:
        raw_at, raw_lag = guarded(lambda client: client.mget([TICK_KEY, LAG_KEY]))
    except Exception as exc:
        return {"status": "degraded", "message": "the last tick is not known", "error": type(exc).__name__}
    if raw_at is None:
        return {"status": "degraded", "message": "no commitment tick recorded (is Celery beat running?)"}
    ago = round(max(0.0, time.time() - float(raw_at)), 1)
    report: dict[str, Any] = {"last_tick_seconds_ago": ago, "lag_events": None if raw_lag is None else int(raw_lag)}
    if ago > tick_stale_seconds():
        message = f"no commitment tick for {ago:g} s (beat stopped, or no worker takes the commitments queue)"
        return {"status": "degraded", "message": message, **report}
    return {"status": "healthy", **report}


def read_published_lag() -> float | None:
    try:
        raw = guarded(lambda client: client.get(LAG_KEY))
    except Exception:
        return None
    return float(raw) if raw is not None else None
