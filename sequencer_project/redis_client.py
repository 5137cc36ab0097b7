"""The process's Redis client for the web tier (rate limits, health), behind a circuit breaker.

Timeouts are short on purpose (``REDIS_SOCKET_TIMEOUT_MS``, default 50 ms): Redis is an
optimisation on the request path, never a reason to wait. After ``REDIS_BREAKER_FAILURES``
consecutive failures the ``redis`` breaker opens and callers skip Redis entirely for
``REDIS_BREAKER_RESET_SECONDS`` (then one probe). redis-py's pool re-creates its connections
after a fork, so one client per process is safe under gunicorn.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import redis
from django.conf import settings

from sequencer_project.process_instance import ProcessInstance
from sequencer_project.resilience import CircuitBreaker, get_breaker

T = TypeVar("T")

# Failures that mean "Redis is not answering", as opposed to a bad command (a bug).
REDIS_UNAVAILABLE: tuple[type[BaseException], ...] = (redis.ConnectionError, redis.TimeoutError, OSError)


def redis_breaker(name: str = "redis") -> CircuitBreaker:
    """The breaker ``name`` (``redis``: this client's; ``celery_broker``: the broker's), tuned by
    the ``REDIS_BREAKER_*`` settings."""
    return get_breaker(
        name,
        failure_threshold=settings.REDIS_BREAKER_FAILURES,
        reset_timeout=settings.REDIS_BREAKER_RESET_SECONDS,
        max_reset_timeout=settings.REDIS_BREAKER_MAX_RESET_SECONDS,
    )


def process_redis_client(connect: Callable[[], redis.Redis[bytes]]) -> ProcessInstance[redis.Redis[bytes]]:
    """One Redis client a process, made by ``connect`` on first use (safe after a fork, see
    above); ``reset`` closes it."""
    return ProcessInstance(connect, close=lambda client: client.close())


def _connect() -> redis.Redis[bytes]:
    timeout = settings.REDIS_SOCKET_TIMEOUT_MS / 1000
    return redis.Redis.from_url(
        settings.REDIS_URL,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry_on_timeout=False,
        health_check_interval=30,
    )


_client = process_redis_client(_connect)
get_redis = _client.get
reset_redis_client = _client.reset


def guarded(fn: Callable[[redis.Redis[bytes]], T]) -> T:
    """Run ``fn(client)`` through the Redis breaker; raises ``CircuitOpenError`` or a Redis error."""
    client = get_redis()
    return redis_breaker().call(lambda: fn(client), failure_types=REDIS_UNAVAILABLE)
