"""Circuit breakers and jittered retries for calls to remote services (Redis, replicas, chains).

A :class:`CircuitBreaker` is per process and thread-safe. It counts *consecutive* failures;
at ``failure_threshold`` it opens and refuses calls at once (no socket, no timeout) for
``reset_timeout`` seconds, then lets up to ``half_open_max_calls`` probe calls through
(half-open). A probe success closes it; a probe failure reopens it with the timeout doubled,
up to ``max_reset_timeout``. States are exported as ``circuit_breaker_state`` (0 closed,
1 half-open, 2 open) and listed by ``/health/detailed``.

:func:`retry_call` retries a small tuple of transient exceptions with "full jitter"
exponential backoff: attempt *n* sleeps a uniform random time in ``[0, min(max_delay,
base_delay * 2**n))``.
"""

from __future__ import annotations

import enum
import logging
import random
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from sequencer_project import metrics

logger = logging.getLogger(__name__)

T = TypeVar("T")


class BreakerState(enum.Enum):
    CLOSED = "closed"
    HALF_OPEN = "half_open"
    OPEN = "open"


_STATE_VALUE = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}


class CircuitOpenError(Exception):
    """The breaker refused the call without trying it."""

    def __init__(self, name: str, retry_after: float) -> None:
        super().__init__(f"circuit '{name}' is open; retry in {retry_after:.1f}s")
        self.name = name
        self.retry_after = retry_after


class CircuitBreaker:
    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 5,
        reset_timeout: float = 5.0,
        max_reset_timeout: float = 300.0,
        half_open_max_calls: int = 1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1 or half_open_max_calls < 1 or reset_timeout <= 0:
            raise ValueError("failure_threshold and half_open_max_calls must be >= 1, reset_timeout > 0")
        self.name = name
        self.failure_threshold = failure_threshold
        self.base_reset_timeout = reset_timeout
        self.max_reset_timeout = max(max_reset_timeout, reset_timeout)
        self.half_open_max_calls = half_open_max_calls
        self._clock = clock
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._reset_timeout = reset_timeout
        self._probes_in_flight = 0
        # Calls since the process started, for /health/detailed (the reference's member names).
        self._successes = 0
        self._failures_total = 0
        self._rejected = 0
        metrics.CIRCUIT_BREAKER_STATE.labels(breaker=name).set(0)
        # Every series at 0 from the start, so the first transition or refusal shows in rate().
        metrics.CIRCUIT_BREAKER_REJECTIONS.labels(breaker=name)
        for state in BreakerState:
            metrics.CIRCUIT_BREAKER_TRANSITIONS.labels(breaker=name, state=state.value)

    @property
    def state(self) -> BreakerState:
        with self._lock:
            self._advance()
            return self._state

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            self._advance()
            retry_in = max(0.0, self._opened_at + self._reset_timeout - self._clock())
            return {
                "state": self._state.value,
                "consecutive_failures": self._failures,
                "retry_in_seconds": round(retry_in, 3) if self._state is BreakerState.OPEN else 0.0,
                "successes": self._successes,
                "failures": self._failures_total,
                "rejected": self._rejected,
            }

    def _advance(self) -> None:
        """Open → half-open once the reset timeout has passed. Caller holds the lock."""
        if self._state is BreakerState.OPEN and self._clock() >= self._opened_at + self._reset_timeout:
            self._transition(BreakerState.HALF_OPEN)
            self._probes_in_flight = 0

    def _transition(self, to: BreakerState) -> None:
        if to is self._state:
            return
        logger.warning("circuit %s: %s -> %s", self.name, self._state.value, to.value)
        self._state = to
        metrics.CIRCUIT_BREAKER_STATE.labels(breaker=self.name).set(_STATE_VALUE[to])
        metrics.CIRCUIT_BREAKER_TRANSITIONS.labels(breaker=self.name, state=to.value).inc()

    def before_call(self) -> bool:
        """Admit a call or raise :class:`CircuitOpenError`. Pair with ``on_success``/``on_failure``.

        True when the call is admitted as a half-open probe: a caller whose ordinary call may
        succeed without touching the remote service (a kept connection that only looks alive)
        must then make a real round trip, or the probe closes the breaker on no evidence."""
        with self._lock:
            self._advance()
            if self._state is BreakerState.CLOSED:
                return False
            if self._state is BreakerState.HALF_OPEN and self._probes_in_flight < self.half_open_max_calls:
                self._probes_in_flight += 1
                return True
            retry_after = max(0.0, self._opened_at + self._reset_timeout - self._clock())
            self._rejected += 1
        metrics.CIRCUIT_BREAKER_REJECTIONS.labels(breaker=self.name).inc()
        raise CircuitOpenError(self.name, retry_after)

    def on_success(self) -> None:
        with self._lock:
            self._successes += 1
            self._failures = 0
            if self._state is not BreakerState.CLOSED:
                self._reset_timeout = self.base_reset_timeout
                self._probes_in_flight = 0
                self._transition(BreakerState.CLOSED)

    def on_failure(self) -> None:
        with self._lock:
            self._failures_total += 1
            self._failures += 1
            if self._state is BreakerState.HALF_OPEN:
                # A failed probe reopens at once, waiting twice as long before the next probe.
                self._reset_timeout = min(self._reset_timeout * 2, self.max_reset_timeout)
                self._open()
            elif self._state is BreakerState.CLOSED and self._failures >= self.failure_threshold:
                self._open()

    def _open(self) -> None:
        self._opened_at = self._clock()
        self._probes_in_flight = 0
        self._transition(BreakerState.OPEN)

    def call(self, fn: Callable[[], T], *, failure_types: tuple[type[BaseException], ...] = (Exception,)) -> T:
        """Run ``fn`` through the breaker. Exceptions outside ``failure_types`` count as success."""
        self.before_call()
        try:
            result = fn()
        except failure_types:
            self.on_failure()
            raise
        except BaseException:
            self.on_success()
            raise
        self.on_success()
        return result

    def reset(self) -> None:
        """Close the breaker (tests and operators)."""
        with self._lock:
            self._failures = 0
            self._reset_timeout = self.base_reset_timeout
            self._probes_in_flight = 0
            self._transition(BreakerState.CLOSED)


_registry: dict[str, CircuitBreaker] = {}
_registry_lock = threading.Lock()


def get_breaker(name: str, **options: float | int) -> CircuitBreaker:
    """The process-wide breaker called ``name`` (created with ``options`` on first use)."""
    with _registry_lock:
        found = _registry.get(name)
        if found is None:
            found = CircuitBreaker(name, **options)  # type: ignore[arg-type]
            _registry[name] = found
        return found


def all_breakers() -> dict[str, CircuitBreaker]:
    with _registry_lock:
        return dict(_registry)


def backoff_delay(attempt: int, *, base_delay: float, max_delay: float, rng: Callable[[], float]) -> float:
    """Full-jitter delay before retry number ``attempt`` (0-based)."""
    return float(rng() * min(max_delay, base_delay * (2**attempt)))


def retry_call(
    fn: Callable[[], T],
    *,
    retry_on: tuple[type[BaseException], ...],
    attempts: int = 3,
    base_delay: float = 0.05,
    max_delay: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
    rng: Callable[[], float] = random.random,
) -> T:
    """Call ``fn``; on an exception in ``retry_on`` sleep a jittered backoff and try again.

    At most ``attempts`` calls; the last exception propagates. Anything else propagates at once.
    """
    if attempts < 1:
        raise ValueError("attempts must be >= 1")
    for attempt in range(attempts):
        try:
            return fn()
        except retry_on:
            if attempt == attempts - 1:
                raise
            delay = backoff_delay(attempt, base_delay=base_delay, max_delay=max_delay, rng=rng)
            logger.info("transient failure, retry %d/%d in %.3fs", attempt + 1, attempts - 1, delay)
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover
