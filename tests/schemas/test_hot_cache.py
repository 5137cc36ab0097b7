"""The in-process caches: hits, cross-process invalidation within 1 s, and life without Redis."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection
from django.test import override_settings
from prometheus_client import REGISTRY

from schemas.models import EventSchema
from schemas.registry import active_schemas_get, schema_cache
from schemas.services import schema_register, schema_status_set
from sequencer_project.metrics import TALLY
from sequencer_project.redis_client import reset_redis_client
from sequencer_project.resilience import get_breaker
from tenants.services import agent_key_register, agent_key_revoke
from tests.schemas.helpers import ORDER_SCHEMA
from ves.signing import public_key_from_seed

ROOT = Path(__file__).resolve().parents[2]


def _hits(outcome: str) -> float:
    TALLY.flush()  # lookups are tallied in the process and written in bulk (ADR 0024)
    return REGISTRY.get_sample_value("hot_cache_lookups_total", {"cache": "schemas", "outcome": outcome}) or 0.0


@pytest.mark.django_db(transaction=True)
def test_lookups_are_cached_and_counted(django_assert_num_queries: object) -> None:
    tenant_id = uuid.uuid4()
    schema_register(tenant_id=tenant_id, event_type="a", schema_json=ORDER_SCHEMA, actor="test")
    hits, misses = _hits("hit"), _hits("miss")

    first = active_schemas_get(tenant_id=tenant_id, event_types=["a", "b", "a"])
    with django_assert_num_queries(0):  # type: ignore[operator]
        second = active_schemas_get(tenant_id=tenant_id, event_types=["a", "b"])

    assert first["a"] is not None
    assert first["b"] is None
    assert second == first
    assert _hits("miss") - misses == 2
    assert _hits("hit") - hits == 2


def _watch(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "DATABASE_URL": _test_database_url()}
    return subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "tests.schemas.watch_schema", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )


@pytest.mark.django_db(transaction=True)
def test_a_revoked_agent_key_stops_verifying_in_another_process_within_one_second() -> None:
    tenant_id, agent_id = uuid.uuid4(), uuid.uuid4()
    agent_key_register(
        tenant_id=tenant_id, agent_id=agent_id, key_id=1, public_key=public_key_from_seed(b"k" * 32), actor="test"
    )
    child = _watch(str(tenant_id), "agent-key", str(agent_id), "1")
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        time.sleep(0.3)  # the child has now cached the key and checked the generation
        agent_key_revoke(tenant_id=tenant_id, agent_id=agent_id, key_id=1, actor="test")
        revoked_at = time.time()
        seen_at = float(child.stdout.readline())
        assert child.wait(timeout=10) == 0
    finally:
        child.kill()
    assert seen_at - revoked_at < 1.0


@pytest.mark.django_db(transaction=True)
def test_an_archived_schema_stops_validating_in_another_process_within_one_second() -> None:
    tenant_id = uuid.uuid4()
    schema = schema_register(tenant_id=tenant_id, event_type="order.created", schema_json=ORDER_SCHEMA, actor="test")
    child = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "tests.schemas.watch_schema", str(tenant_id), "order.created"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": _test_database_url()},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        time.sleep(0.3)  # the child has now cached the schema and checked the generation
        schema_status_set(
            tenant_id=tenant_id, schema_id=schema.id, status="archived", authorise=lambda _: None, actor="test"
        )
        archived_at = time.time()
        seen_at = float(child.stdout.readline())
        assert child.wait(timeout=10) == 0
    finally:
        child.kill()
    assert seen_at - archived_at < 1.0


@pytest.mark.django_db(transaction=True)
@override_settings(REDIS_URL="redis://127.0.0.1:1/0", HOT_CACHE_DEGRADED_TTL_SECONDS=0.2)
def test_without_redis_lookups_work_and_entries_expire_fast() -> None:
    reset_redis_client()
    get_breaker("redis").reset()
    try:
        tenant_id = uuid.uuid4()
        schema = schema_register(tenant_id=tenant_id, event_type="a", schema_json=ORDER_SCHEMA, actor="test")
        assert active_schemas_get(tenant_id=tenant_id, event_types=["a"])["a"] is not None
        # Another process's change: this process gets no message, Redis being down.
        EventSchema.objects.filter(id=schema.id).update(status="archived")
        time.sleep(0.3)
        assert active_schemas_get(tenant_id=tenant_id, event_types=["a"])["a"] is None
    finally:
        reset_redis_client()
        get_breaker("redis").reset()
        schema_cache.clear()


def _test_database_url() -> str:
    params = connection.settings_dict
    user, host, port, name = params["USER"], params["HOST"] or "127.0.0.1", params["PORT"] or 5432, params["NAME"]
    return f"postgres://{user}@{host}:{port}/{name}"


@pytest.mark.django_db(transaction=True)
def test_one_tenants_schema_write_leaves_another_tenants_cached_schemas_alone(
    django_assert_num_queries: object,
) -> None:
    quiet, noisy = uuid.uuid4(), uuid.uuid4()
    schema_register(tenant_id=quiet, event_type="a", schema_json=ORDER_SCHEMA, actor="test")
    schema_register(tenant_id=noisy, event_type="a", schema_json=ORDER_SCHEMA, actor="test")
    active_schemas_get(tenant_id=quiet, event_types=["a"])
    active_schemas_get(tenant_id=noisy, event_types=["a"])

    schema_register(tenant_id=noisy, event_type="b", schema_json=ORDER_SCHEMA, actor="test")

    with override_settings(HOT_CACHE_CHECK_SECONDS=0), django_assert_num_queries(0):  # type: ignore[operator]
        assert active_schemas_get(tenant_id=quiet, event_types=["a"])["a"] is not None
    with override_settings(HOT_CACHE_CHECK_SECONDS=0), django_assert_num_queries(1):  # type: ignore[operator]
        assert active_schemas_get(tenant_id=noisy, event_types=["a", "b"])["b"] is not None
