"""The process's Redis client for the web tier (rate limits, health), behind a circuit breaker.

Timeouts are short on purpose (``REDIS_SOCKET_TIMEOUT_MS``, default 50 ms): Redis is an
optimisation on the request path, never a reason to wait. After ``REDIS_BREAKER_FAILURES``
consecutive failures the ``redis`` breaker opens and callers skip Redis entirely for
``REDIS_BREAKER_RESET_SECONDS`` (then one probe). redis-py's pool re-creates its connections
after a fork, so one client per process is safe under gunicorn.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

import redis
from django.conf import settings

from sequencer_project.resilience import CircuitBreaker, get_breaker

T = TypeVar("T")

_client: redis.Redis[bytes] | None = None
_client_lock = threading.Lock()

# Failures that mean "Redis is not answering", as opposed to a bad command (a bug).
REDIS_UNAVAILABLE: tuple[type[BaseException], ...] = (redis.ConnectionError, redis.TimeoutError, OSError)


def redis_breaker() -> CircuitBreaker:
    return get_breaker(
        "redis",
        failure_threshold=settings.REDIS_BREAKER_FAILURES,
        reset_timeout=settings.REDIS_BREAKER_RESET_SECONDS,
    )


def get_redis() -> redis.Redis[bytes]:
    global _client
    if _client is None:
        with _client_lock:
            if _client is None:
                timeout = settings.REDIS_SOCKET_TIMEOUT_MS / 1000
                _client = redis.Redis.from_url(
                    settings.REDIS_URL,
                    socket_timeout=timeout,
                    socket_connect_timeout=timeout,
                    retry_on_timeout=False,
                    health_check_interval=30,
                )
    return _client


def reset_redis_client() -> None:
    """Drop the client (tests point REDIS_URL elsewhere)."""
    global _client
    with _client_lock:
        if _client is not None:
            _client.close()
        _client = None


def guarded(fn: Callable[[redis.Redis[bytes]], T]) -> T:
    """Run ``fn(client)`` through the Redis breaker; raises ``CircuitOpenError`` or a Redis error."""
    client = get_redis()
    return redis_breaker().call(lambda: fn(client), failure_types=REDIS_UNAVAILABLE)
