"""``/health/detailed`` with everything up, with Redis gone, and with PostgreSQL gone."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client

from commitments.lag import TICK_KEY, publish_lag
from sequencer_project import resilience
from sequencer_project.metrics_export import reset_broker_client
from sequencer_project.redis_client import get_redis, reset_redis_client
from tests.conftest import Persona
from tests.sequencer_project.ops_helpers import child_database_url, closed_port, run_django

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_at(settings: Any) -> Iterator[Callable[[str], None]]:
    def point(url: str) -> None:
        settings.REDIS_URL = url
        settings.CELERY_BROKER_URL = url
        for reset in (reset_redis_client, reset_broker_client):
            reset()
        for name in ("redis", "celery_broker"):
            resilience._registry.pop(name, None)

    yield point
    reset_redis_client()
    reset_broker_client()
    for name in ("redis", "celery_broker"):
        resilience._registry.pop(name, None)


def test_it_needs_an_admin_credential(member: Persona) -> None:
    assert Client().get("/health/detailed").status_code == 401
    assert member.client.get("/health/detailed").status_code == 403


def test_all_components_are_reported(admin_client: Any) -> None:
    publish_lag(0)  # as the beat's commitment tick does every 2 s
    response = admin_client.get("/health/detailed")

    assert response.status_code == 200
    body = response.json()
    components = body["components"]
    assert components["database"]["status"] == "healthy"
    assert components["database"]["response_time_ms"] >= 0
    assert components["pool"]["enabled"] is True
    assert components["pool"]["max"] >= 1
    assert components["redis"]["status"] == "healthy"
    assert set(components["celery"]["queue_depth"]) == {"commitments", "maintenance", "payments", "projections"}
    # CI runs no Celery worker (degraded, not unhealthy); a developer's `make run` worker may
    # be answering on the same broker, and then everything is healthy.
    workers = components["celery"]["workers"]
    assert isinstance(workers, int)
    assert body["status"] == ("healthy" if workers > 0 else "degraded")
    assert isinstance(body["circuit_breakers"], dict)


def test_redis_unreachable_is_degraded_and_fast(admin_client: Any, redis_at: Callable[[str], None]) -> None:
    redis_at(f"redis://127.0.0.1:{closed_port()}/0")

    response = admin_client.get("/health/detailed")

    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "degraded"
    assert body["components"]["redis"]["status"] == "degraded"
    assert body["components"]["celery"]["error"] == "broker_unreachable"
    assert body["components"]["database"]["status"] == "healthy"


def test_a_registered_gauge_appears_in_the_report(admin_client: Any) -> None:
    from sequencer_project import metrics

    metrics.register_gauge_provider("test_health_dlq_size", "dead letters", lambda: 3.0)
    try:
        body = admin_client.get("/health/detailed").json()
    finally:
        metrics._providers.pop("test_health_dlq_size")

    assert body["gauges"]["test_health_dlq_size"] == 3.0


def test_postgres_and_redis_unreachable_make_it_unhealthy_503() -> None:
    """A child process whose settings point PostgreSQL and Redis at closed ports."""
    code = """
import json, time
from django.test import Client
c = Client(raise_request_exception=False)
auth = {"HTTP_AUTHORIZATION": "ApiKey test-bootstrap-admin"}
started = time.perf_counter()
detailed = c.get("/health/detailed", **auth)
elapsed = time.perf_counter() - started
ready = c.get("/ready")
live = c.get("/health")
print(json.dumps({"status": detailed.status_code, "body": detailed.json(), "elapsed": elapsed,
                  "ready": ready.status_code, "ready_code": ready.json()["code"], "live": live.status_code}))
"""
    env = {
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{closed_port()}/nowhere",
        "REDIS_URL": f"redis://127.0.0.1:{closed_port()}/0",
        "CELERY_BROKER_URL": "",
        "DB_POOL_TIMEOUT_SECONDS": "2",
        "BOOTSTRAP_ADMIN_API_KEY": "test-bootstrap-admin",
    }
    env.pop("CELERY_BROKER_URL")

    result = run_django(code, env)

    assert result["status"] == 503
    assert result["body"]["status"] == "unhealthy"
    assert result["body"]["components"]["database"]["status"] == "unhealthy"
    assert result["body"]["components"]["redis"]["status"] == "degraded"
    assert result["elapsed"] < 15  # bounded by DB_POOL_TIMEOUT_SECONDS=2 plus timeouts; catches a hang only
    assert result["ready"] == 503
    assert result["ready_code"] == "database_unavailable"
    assert result["live"] == 200  # liveness does no I/O


def test_with_a_live_database_in_a_child_process_the_database_is_healthy() -> None:
    code = """
import json
from django.test import Client
r = Client().get("/health/detailed", HTTP_AUTHORIZATION="ApiKey test-bootstrap-admin")
print(json.dumps({"status": r.status_code, "db": r.json()["components"]["database"]["status"]}))
"""
    result = run_django(code, {"DATABASE_URL": child_database_url(), "BOOTSTRAP_ADMIN_API_KEY": "test-bootstrap-admin"})

    assert result == {"status": 200, "db": "healthy"}


def test_the_commitment_tick_is_healthy_while_it_runs_and_degraded_once_it_stops(admin_client: Any) -> None:
    # Beat stopped: the lag gauge keeps its last value for a minute; this says so within 10 s
    publish_lag(3)
    running = admin_client.get("/health/detailed").json()["components"]["commitment_tick"]
    get_redis().set(TICK_KEY, f"{time.time() - 60:.3f}")
    stopped = admin_client.get("/health/detailed").json()
    get_redis().delete(TICK_KEY)
    never = admin_client.get("/health/detailed").json()["components"]["commitment_tick"]

    assert (running["status"], running["lag_events"]) == ("healthy", 3)
    assert running["last_tick_seconds_ago"] < 5
    tick = stopped["components"]["commitment_tick"]
    assert (tick["status"], stopped["status"]) == ("degraded", "degraded")
    assert tick["last_tick_seconds_ago"] >= 60
    assert "no commitment tick for" in tick["message"]
    assert never["status"] == "degraded"
    assert "no commitment tick recorded" in never["message"]
