"""Rate limits shared by every web process through Redis (``docs/operations.md``).

Two fixed-window limits, both optional:

- per API key: the key's ``rate_limit`` column (requests per window), and the budget of every
  key it was minted from (``shared_rate_limits``): a minted key never adds to its minter's;
- per tenant: ``RATE_LIMIT_PER_MINUTE`` for every tenant credential.

Windows are aligned to the clock (``RATE_LIMIT_WINDOW_SECONDS``, default 60). One Lua script
checks every applicable counter and, when all allow the request, increments them all, in a
single round trip: a refused request spends no budget (a minted key past its own limit never
locks out its minter). A request over a limit gets 429
``rate_limited`` with ``Retry-After`` (seconds to the next window) and ``RateLimit-*`` headers;
allowed requests carry the ``RateLimit-*`` headers of their tightest limit.

Redis down or slow (socket timeout ``REDIS_SOCKET_TIMEOUT_MS``, then the ``redis`` circuit
breaker) fails open: the request is served and ``rate_limit_fail_open_total`` counts it.
Credentials with no limit cost nothing here (no Redis call).
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from sequencer_project import metrics
from sequencer_project.api import errors
from sequencer_project.api.operations import RATE_LIMIT_STATE_ATTR
from sequencer_project.api.principal import Principal
from sequencer_project.redis_client import REDIS_UNAVAILABLE, guarded
from sequencer_project.resilience import CircuitOpenError

logger = logging.getLogger(__name__)

KEY_PREFIX = "ratelimit:"

# KEYS: one counter per limit; ARGV[1]: expiry in seconds; ARGV[1 + i]: the limit of KEYS[i].
# Returns the counts with this request, in KEYS order. Only a request every limit allows is
# counted (every counter incremented); one over any limit changes nothing, so a minted key
# hammering past its own limit never spends its minter's budget (ADR 0015).
_INCREMENT_SCRIPT = """
local counts = {}
local over = false
for i, key in ipairs(KEYS) do
  counts[i] = tonumber(redis.call('GET', key) or '0') + 1
  if counts[i] > tonumber(ARGV[i + 1]) then over = true end
end
if not over then
  for i, key in ipairs(KEYS) do
    if redis.call('INCR', key) == 1 then redis.call('EXPIRE', key, ARGV[1]) end
  end
end
return counts
"""


class RateLimitedError(errors.SequencerError):
    code = "rate_limited"
    http_status = 429
    title = "Rate limit exceeded"


@dataclass(frozen=True, slots=True)
class Limit:
    scope: str  # "api_key" or "tenant": a metric label, never an id
    key: str
    limit: int
    whose: str = ""  # how a refusal names the budget, when not "this <scope>"


def limits_for(principal: Principal) -> list[Limit]:
    limits: list[Limit] = []
    if principal.rate_limit:
        limits.append(Limit("api_key", f"key:{principal.credential_id}", principal.rate_limit))
    for credential_id, limit in principal.shared_rate_limits:  # its minters' budgets (ADR 0015)
        limits.append(
            Limit("api_key", f"key:{credential_id}", limit, "the key this one was minted from (a budget they share)")
        )
    if settings.RATE_LIMIT_PER_MINUTE > 0 and principal.tenant_id is not None:
        limits.append(Limit("tenant", f"tenant:{principal.tenant_id}", settings.RATE_LIMIT_PER_MINUTE))
    return limits


_SCRIPT_SHA = hashlib.sha1(_INCREMENT_SCRIPT.encode()).hexdigest()  # noqa: S324  (Redis names scripts by SHA-1)


def _increment(client: redis.Redis[bytes], keys: list[str], limits: list[int], expire_seconds: int) -> list[int]:
    """One round trip (EVALSHA); loads the script once per Redis server (after a restart too)."""
    args = (_SCRIPT_SHA, len(keys), *keys, expire_seconds, *limits)
    try:
        counts = client.execute_command("EVALSHA", *args)
    except redis.exceptions.NoScriptError:
        client.execute_command("SCRIPT LOAD", _INCREMENT_SCRIPT)
        counts = client.execute_command("EVALSHA", *args)
    return [int(n) for n in counts]


def check_rate_limits(principal: Principal, *, now: float | None = None) -> tuple[int, int, int] | None:
    """Count this request against the principal's limits.

    Returns ``(limit, remaining, reset_seconds)`` of the tightest limit, ``None`` when no limit
    applies or Redis is unavailable (fail open); raises :class:`RateLimitedError` when over.
    """
    return enforce_limits(limits_for(principal), now=now)


def enforce_limits(limits: list[Limit], *, now: float | None = None) -> tuple[int, int, int] | None:
    """Count one request against ``limits`` (any scope: key, tenant, client IP); see above."""
    if not limits:
        return None
    window = settings.RATE_LIMIT_WINDOW_SECONDS
    current = time.time() if now is None else now
    window_index = int(current // window)
    reset = max(1, int((window_index + 1) * window - current + 0.999))
    keys = [f"{KEY_PREFIX}{item.key}:{window_index}" for item in limits]
    try:
        counts = guarded(lambda client: _increment(client, keys, [item.limit for item in limits], window + 5))
    except CircuitOpenError:
        metrics.RATE_LIMIT_FAIL_OPEN.labels(reason="circuit_open").inc()
        return None
    except REDIS_UNAVAILABLE as exc:
        metrics.RATE_LIMIT_FAIL_OPEN.labels(reason="redis_error").inc()
        logger.warning("rate limiter failing open: %s", exc)
        return None
    tightest: tuple[int, int, int] | None = None
    exceeded: Limit | None = None
    for item, count in zip(limits, counts, strict=True):
        remaining = max(item.limit - count, 0)
        if count > item.limit:
            exceeded = exceeded or item
            metrics.RATE_LIMIT_DECISIONS.labels(scope=item.scope, outcome="limited").inc()
        else:
            metrics.RATE_LIMIT_DECISIONS.labels(scope=item.scope, outcome="allowed").inc()
        if tightest is None or remaining < tightest[1]:
            tightest = (item.limit, remaining, reset)
    if exceeded is not None:
        raise RateLimitedError(
            f"More than {exceeded.limit} requests in {window} s for"
            f" {exceeded.whose or 'this ' + exceeded.scope.replace('_', ' ')}.",
            headers={
                "Retry-After": str(reset),
                "RateLimit-Limit": str(exceeded.limit),
                "RateLimit-Remaining": "0",
                "RateLimit-Reset": str(reset),
            },
            limit=exceeded.limit,
            scope=exceeded.scope,
        )
    return tightest


class RedisRateLimit(BaseThrottle):
    """DRF throttle: runs after authentication, on every API view."""

    def allow_request(self, request: Request, view: Any) -> bool:
        principal = request.user
        if not isinstance(principal, Principal):
            return True  # unauthenticated calls are refused by the permission check
        state = check_rate_limits(principal)
        if state is not None:
            setattr(request._request, RATE_LIMIT_STATE_ATTR, state)
        return True
