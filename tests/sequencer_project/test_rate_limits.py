"""Rate limits per API key and per tenant, shared through Redis, failing open when it is gone."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY

from sequencer_project import resilience
from sequencer_project.api.openapi import RATE_LIMIT_HEADERS
from sequencer_project.api.principal import Principal
from sequencer_project.api.throttling import RateLimitedError, check_rate_limits
from sequencer_project.redis_client import reset_redis_client
from tenants.credentials import api_key_hash
from tenants.models import ApiKey
from tenants.selectors import api_key_cache_clear
from tests.conftest import Persona, api_client
from tests.sequencer_project.ops_helpers import closed_port, run_django, throwaway_redis
from tests.tenants.factories import issue_key

pytestmark = pytest.mark.django_db

OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi" / "openapi.yaml"
DAY = 86_400  # a day-long window: a test never straddles two windows in practice


@pytest.fixture
def redis_at(settings: Any) -> Iterator[Callable[[str], None]]:
    """Point the process's Redis client (and a fresh breaker) at another server."""

    def point(url: str) -> None:
        settings.REDIS_URL = url
        reset_redis_client()
        resilience._registry.pop("redis", None)

    yield point
    reset_redis_client()
    resilience._registry.pop("redis", None)


def limit_key(key: str, per_window: int) -> None:
    ApiKey.objects.filter(key_hash=api_key_hash(key)).update(rate_limit=per_window)
    api_key_cache_clear()


def head(persona: Persona, client: Any = None) -> Any:
    return (client or persona.client).get(f"/api/v1/head?tenant_id={persona.tenant_id}&store_id={persona.store_id}")


def test_a_key_over_its_limit_gets_a_429_problem_with_retry_after(owner: Persona, settings: Any) -> None:
    settings.RATE_LIMIT_WINDOW_SECONDS = DAY
    limit_key(owner.key, 3)

    answers = [head(owner) for _ in range(4)]

    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert [r["RateLimit-Remaining"] for r in answers[:3]] == ["2", "1", "0"]
    assert answers[0]["RateLimit-Limit"] == "3"
    refused = answers[3]
    assert refused["Content-Type"] == "application/problem+json"
    body = refused.json()
    assert body["code"] == "rate_limited"
    assert body["status"] == 429
    assert body["limit"] == 3
    assert body["scope"] == "api_key"
    assert 1 <= int(refused["Retry-After"]) <= DAY
    assert refused["RateLimit-Remaining"] == "0"
    assert refused["RateLimit-Reset"] == refused["Retry-After"]
    # the headers the OpenAPI document declares on every 429 are those a 429 carries
    document = yaml.safe_load(OPENAPI.read_text())
    declared = document["paths"]["/api/v1/head"]["get"]["responses"]["429"]["headers"]
    assert set(declared) == set(document["components"]["headers"]) == set(RATE_LIMIT_HEADERS)
    assert all(refused.has_header(name) for name in declared)


def test_the_tenant_limit_is_shared_by_all_keys_of_the_tenant(owner: Persona, settings: Any) -> None:
    settings.RATE_LIMIT_WINDOW_SECONDS = DAY
    settings.RATE_LIMIT_PER_MINUTE = 2
    second = api_client(issue_key(owner.tenant, can_write=True))

    statuses = [head(owner).status_code, head(owner, second).status_code, head(owner, second).status_code]

    assert statuses == [200, 200, 429]
    assert head(owner, second).json()["scope"] == "tenant"


def test_a_credential_without_limits_costs_no_redis_call(owner: Persona, redis_at: Callable[[str], None]) -> None:
    redis_at(f"redis://127.0.0.1:{closed_port()}/0")  # any call would fail open and count
    before = REGISTRY.get_sample_value("rate_limit_fail_open_total", {"reason": "redis_error"}) or 0

    response = head(owner)

    assert response.status_code == 200
    assert "RateLimit-Limit" not in response
    assert (REGISTRY.get_sample_value("rate_limit_fail_open_total", {"reason": "redis_error"}) or 0) == before


def test_limits_hold_across_two_processes_sharing_redis(settings: Any) -> None:
    """Two OS processes hammer one key's limit at once: exactly `limit` calls get through."""
    credential = uuid.uuid4().hex[:16]
    limit, calls_each = 40, 35
    code = f"""
import json, uuid
from sequencer_project.api.principal import Principal
from sequencer_project.api.throttling import RateLimitedError, check_rate_limits
p = Principal(tenant_id=uuid.uuid4(), can_read=True, can_write=True, can_admin=False,
              rate_limit={limit}, credential_id="{credential}")
allowed = limited = 0
for _ in range({calls_each}):
    try:
        check_rate_limits(p, now=1_000_000.0)
        allowed += 1
    except RateLimitedError:
        limited += 1
print(json.dumps({{"allowed": allowed, "limited": limited}}))
"""
    env = {"REDIS_URL": settings.REDIS_URL, "RATE_LIMIT_WINDOW_SECONDS": str(DAY)}
    results: list[Any] = []
    threads = [threading.Thread(target=lambda: results.append(run_django(code, env))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 2
    assert sum(r["allowed"] for r in results) == limit
    assert sum(r["limited"] for r in results) == 2 * calls_each - limit


def principal(rate_limit: int = 5) -> Principal:
    return Principal(
        tenant_id=uuid.uuid4(),
        can_read=True,
        can_write=True,
        can_admin=False,
        rate_limit=rate_limit,
        credential_id=uuid.uuid4().hex[:16],
    )


def test_an_unresponsive_redis_fails_open_fast_and_then_trips_the_breaker(
    redis_at: Callable[[str], None], settings: Any
) -> None:
    # A socket that accepts connections (kernel backlog) but never answers: the worst case.
    blackhole = socket.socket()
    blackhole.bind(("127.0.0.1", 0))
    blackhole.listen(64)
    settings.REDIS_SOCKET_TIMEOUT_MS = 50
    redis_at(f"redis://127.0.0.1:{blackhole.getsockname()[1]}/0")
    caller = principal()
    try:
        timings = []
        for _ in range(6):
            started = time.perf_counter()
            assert check_rate_limits(caller) is None  # allowed: fail open
            timings.append(time.perf_counter() - started)
    finally:
        blackhole.close()

    # Fail fast, never hang: each call is bounded by the 50 ms socket timeouts (the generous
    # bound only catches a hang; the cost itself is measured by loadtest/ops_overhead.py).
    assert max(timings) < 2.0
    assert resilience.get_breaker("redis").state is resilience.BreakerState.OPEN
    assert (REGISTRY.get_sample_value("rate_limit_fail_open_total", {"reason": "circuit_open"}) or 0) >= 3


def test_redis_going_down_and_coming_back(redis_at: Callable[[str], None], settings: Any) -> None:
    """A private redis-server is stopped and restarted; the limiter fails open, then recovers."""
    settings.REDIS_BREAKER_RESET_SECONDS = 0.3
    settings.RATE_LIMIT_WINDOW_SECONDS = DAY
    caller = principal(rate_limit=100)
    with throwaway_redis() as port:
        redis_at(f"redis://127.0.0.1:{port}/0")
        first = check_rate_limits(caller)
        assert first is not None
        assert first[:2] == (100, 99)
    # stopped
    for _ in range(4):
        assert check_rate_limits(caller) is None
    assert resilience.get_breaker("redis").state is resilience.BreakerState.OPEN
    with throwaway_redis(port):
        time.sleep(0.35)  # reset timeout: the next call is the half-open probe
        state = check_rate_limits(caller)
        assert state is not None
        assert state[1] == 99  # a fresh server: the count restarted
        assert resilience.get_breaker("redis").state is resilience.BreakerState.CLOSED


def test_the_limiter_refuses_precisely_at_the_limit_and_resets_in_the_next_window(settings: Any) -> None:
    settings.RATE_LIMIT_WINDOW_SECONDS = 60
    caller = principal(rate_limit=2)
    at = 1_800_000_010.0  # 10 s into a window

    assert check_rate_limits(caller, now=at) == (2, 1, 50)
    assert check_rate_limits(caller, now=at + 1) == (2, 0, 49)
    with pytest.raises(RateLimitedError) as refused:
        check_rate_limits(caller, now=at + 2)
    assert refused.value.headers["Retry-After"] == "48"
    assert check_rate_limits(caller, now=at + 50) == (2, 1, 60)  # next window
