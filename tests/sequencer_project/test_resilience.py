"""Circuit breaker state machine and jittered retries (pure logic, fake clock)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY

from sequencer_project import resilience
from sequencer_project.redis_client import redis_breaker
from sequencer_project.resilience import (
    BreakerState,
    CircuitBreaker,
    CircuitOpenError,
    backoff_delay,
    get_breaker,
    retry_call,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def state_of(breaker: CircuitBreaker) -> BreakerState:
    return breaker.state  # a call, so mypy does not narrow between assertions


def boom() -> None:
    raise ConnectionError("down")


def fail(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        with pytest.raises(ConnectionError):
            breaker.call(boom)


def test_it_opens_after_consecutive_failures_and_refuses_without_calling() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("t-open", failure_threshold=3, reset_timeout=5, clock=clock)
    calls: list[int] = []

    fail(breaker, 2)
    assert state_of(breaker) is BreakerState.CLOSED
    fail(breaker, 1)
    assert state_of(breaker) is BreakerState.OPEN

    with pytest.raises(CircuitOpenError) as refused:
        breaker.call(lambda: calls.append(1))
    assert calls == []
    assert refused.value.retry_after == pytest.approx(5)


def test_a_success_resets_the_failure_count() -> None:
    breaker = CircuitBreaker("t-reset", failure_threshold=3, reset_timeout=5, clock=FakeClock())

    fail(breaker, 2)
    breaker.call(lambda: None)
    fail(breaker, 2)

    assert state_of(breaker) is BreakerState.CLOSED


def test_half_open_admits_limited_probes_and_a_success_closes() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("t-half", failure_threshold=1, reset_timeout=5, half_open_max_calls=1, clock=clock)
    fail(breaker, 1)

    clock.now += 5
    assert state_of(breaker) is BreakerState.HALF_OPEN
    breaker.before_call()  # the one probe is in flight
    with pytest.raises(CircuitOpenError):
        breaker.before_call()  # a second caller is refused while the probe runs
    breaker.on_success()

    assert state_of(breaker) is BreakerState.CLOSED
    assert breaker.call(lambda: 42) == 42


def test_a_failed_probe_reopens_with_a_doubled_timeout_up_to_the_cap() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("t-double", failure_threshold=1, reset_timeout=5, max_reset_timeout=12, clock=clock)
    fail(breaker, 1)

    clock.now += 5
    fail(breaker, 1)  # probe fails
    assert state_of(breaker) is BreakerState.OPEN
    clock.now += 9.9
    assert state_of(breaker) is BreakerState.OPEN  # waits 10 s now
    clock.now += 0.1
    assert state_of(breaker) is BreakerState.HALF_OPEN
    fail(breaker, 1)
    clock.now += 11.9
    assert state_of(breaker) is BreakerState.OPEN  # capped at 12 s, not 20
    clock.now += 0.1
    assert state_of(breaker) is BreakerState.HALF_OPEN
    breaker.call(lambda: None)
    fail(breaker, 1)
    clock.now += 5  # closed again: back to the base timeout
    assert state_of(breaker) is BreakerState.HALF_OPEN


def missing_key() -> None:
    raise KeyError("missing")


def test_exceptions_outside_failure_types_do_not_trip_it() -> None:
    breaker = CircuitBreaker("t-types", failure_threshold=1, reset_timeout=5, clock=FakeClock())

    with pytest.raises(KeyError):
        breaker.call(missing_key, failure_types=(ConnectionError,))

    assert state_of(breaker) is BreakerState.CLOSED


def test_state_is_exported_as_a_gauge_and_listed_in_the_registry() -> None:
    clock = FakeClock()
    breaker = get_breaker("t-gauge", failure_threshold=1, reset_timeout=5, clock=clock)  # type: ignore[arg-type]

    fail(breaker, 1)
    assert REGISTRY.get_sample_value("circuit_breaker_state", {"breaker": "t-gauge"}) == 2
    clock.now += 5
    assert state_of(breaker) is BreakerState.HALF_OPEN
    assert REGISTRY.get_sample_value("circuit_breaker_state", {"breaker": "t-gauge"}) == 1
    breaker.call(lambda: None)
    assert REGISTRY.get_sample_value("circuit_breaker_state", {"breaker": "t-gauge"}) == 0
    assert get_breaker("t-gauge") is breaker
    assert breaker.snapshot()["state"] == "closed"


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(ValueError, match="failure_threshold"):
        CircuitBreaker("bad", failure_threshold=0)


def test_retry_backs_off_with_full_jitter_and_gives_up_after_the_last_attempt() -> None:
    sleeps: list[float] = []
    attempts: list[int] = []

    def flaky() -> str:
        attempts.append(1)
        raise TimeoutError("slow")

    with pytest.raises(TimeoutError):
        retry_call(
            flaky,
            retry_on=(TimeoutError,),
            attempts=4,
            base_delay=0.1,
            max_delay=0.3,
            sleep=sleeps.append,
            rng=lambda: 1.0,
        )

    assert len(attempts) == 4
    assert sleeps == pytest.approx([0.1, 0.2, 0.3])  # capped at max_delay
    assert backoff_delay(3, base_delay=0.1, max_delay=10, rng=lambda: 0.5) == pytest.approx(0.4)


def test_retry_returns_the_first_success_and_never_retries_other_errors() -> None:
    outcomes: Iterator[BaseException | str] = iter([TimeoutError(), "ok"])

    def once_flaky() -> str:
        item = next(outcomes)
        if isinstance(item, BaseException):
            raise item
        return item

    assert retry_call(once_flaky, retry_on=(TimeoutError,), sleep=lambda _: None) == "ok"
    calls: list[int] = []

    def broken() -> None:
        calls.append(1)
        raise ValueError("bug")

    with pytest.raises(ValueError, match="bug"):
        retry_call(broken, retry_on=(TimeoutError,), sleep=lambda _: None)
    assert calls == [1]


@pytest.mark.parametrize("name", ["redis", "celery_broker"])
def test_the_redis_breakers_probe_at_least_every_ten_seconds_after_a_long_outage(name: str) -> None:
    # An outage audit: after 30 s without Redis the client's breaker waited 20 s between probes
    # (300 s at most), so /health/detailed stayed degraded long after Redis was back
    resilience._registry.pop(name, None)
    try:
        breaker = redis_breaker(name)
        assert (breaker.base_reset_timeout, breaker.max_reset_timeout) == (5.0, 10.0)
    finally:
        resilience._registry.pop(name, None)
