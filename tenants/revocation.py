"""Cross-process key revocation: a Redis epoch that every revocation bumps.

Each process caches resolved API keys for ``API_KEY_CACHE_SECONDS``. A cached entry remembers
the epoch it was resolved under and is used only while Redis still reports that epoch, so a
revocation (which bumps the epoch after its transaction commits) invalidates every process's
cache before the next request. One ``GET`` per cached authentication; a cache miss reads the
database, which is authoritative anyway.

Redis down or slow (circuit breaker open): the epoch is unknown and the cache falls back to
its time-to-live alone, so authentication keeps working and a revocation takes at most
``API_KEY_CACHE_SECONDS`` to reach other processes, as before.
"""

from __future__ import annotations

import logging

from sequencer_project.redis_client import REDIS_UNAVAILABLE, guarded
from sequencer_project.resilience import CircuitOpenError

logger = logging.getLogger(__name__)

EPOCH_KEY = "apikeys:revocation_epoch"


def revocation_epoch() -> int | None:
    """The current epoch (0 before any revocation), or ``None`` when Redis cannot say."""
    try:
        raw = guarded(lambda client: client.get(EPOCH_KEY))
    except CircuitOpenError:
        return None
    except REDIS_UNAVAILABLE as exc:
        logger.warning("revocation epoch unavailable: %s", exc)
        return None
    return int(raw) if raw is not None else 0


def revocation_publish() -> None:
    """Bump the epoch so every process drops its cached keys. Best effort (TTL is the fallback)."""
    try:
        guarded(lambda client: client.incr(EPOCH_KEY))
    except CircuitOpenError:
        logger.warning("revocation not published (Redis circuit open), other processes expire it by TTL")
    except REDIS_UNAVAILABLE as exc:
        logger.warning("revocation not published, other processes expire it by TTL: %s", exc)
