"""Commitment lag for ``/metrics`` and ``/health/detailed``, published through Redis.

Each ``commitments.commitment_tick`` measures the lag (one query) and stores it in Redis with a
TTL of a few ticks; scraping only reads that key through the Redis circuit breaker. Scrapes and
health checks therefore never wait on PostgreSQL, and a missing value (no beat running, Redis
down) is reported as no value rather than a stale one.
"""

from __future__ import annotations

import logging

from django.conf import settings

from sequencer_project.redis_client import guarded

logger = logging.getLogger(__name__)

LAG_KEY = "commitments:lag_events"


def publish_lag(lag: int) -> None:
    ttl = max(60, int(settings.COMMITMENT_INTERVAL_SECONDS * 3))
    try:
        guarded(lambda client: client.set(LAG_KEY, str(lag), ex=ttl))
    except Exception:  # the gauge is best effort: a tick never fails because Redis did
        logger.warning("could not publish the commitment lag", exc_info=True)


def read_published_lag() -> float | None:
    try:
        raw = guarded(lambda client: client.get(LAG_KEY))
    except Exception:
        return None
    return float(raw) if raw is not None else None
