"""Wiring: the beat entry, the task's queue, the gauges on /metrics and /health/detailed."""

from __future__ import annotations

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from events.projections.entity_state import ENTITY_STATE
from events.projections.registry import projection_get
from events.tasks import projection_run
from tests.conftest import IngestPoster, Persona
from tests.events.projections.helpers import checkpoint_of, seed

pytestmark = pytest.mark.django_db


def test_beat_drives_one_tick_per_shard_every_few_seconds() -> None:
    shards = settings.PROJECTION_SHARDS
    entries = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "events.projection_run"]

    assert shards >= 2
    assert sorted(e["args"] for e in entries) == [(k, shards) for k in range(shards)]  # type: ignore[type-var]
    assert all(float(e["schedule"]) <= 5 for e in entries)  # type: ignore[arg-type]


def test_the_task_is_routed_to_the_projections_queue() -> None:
    from sequencer_project.celery import app

    route = app.amqp.router.route({}, "events.projection_run")  # type: ignore[attr-defined]

    assert route["queue"].name == "projections"


def test_entity_state_is_registered_at_start() -> None:
    assert projection_get(ENTITY_STATE) is not None


def test_the_task_body_projects_new_events(owner: Persona, post_ingest: IngestPoster) -> None:
    seed(owner, post_ingest, [{"a": 1}, {"b": 2}])

    projection_run()  # no arguments (an older release's message): every stream

    assert checkpoint_of(ENTITY_STATE, owner.tenant_id, owner.store_id) == 2


def test_each_shard_tick_projects_its_own_streams(owner: Persona, post_ingest: IngestPoster) -> None:
    seed(owner, post_ingest, [{"a": 1}])

    projection_run(0, 2)
    projection_run(1, 2)

    assert checkpoint_of(ENTITY_STATE, owner.tenant_id, owner.store_id) == 1


def test_lag_and_dead_letter_gauges_are_published(
    owner: Persona, post_ingest: IngestPoster, admin_client: APIClient
) -> None:
    seed(owner, post_ingest, [{"a": 1}] * 3)

    metrics = admin_client.get("/metrics").content.decode()
    health = admin_client.get("/health/detailed").json()

    lag_lines = [line for line in metrics.splitlines() if line.startswith("projection_lag_events ")]
    assert lag_lines
    assert float(lag_lines[0].split()[1]) >= 3
    assert any(line.startswith("dlq_size ") for line in metrics.splitlines())
    assert health["gauges"]["projection_lag_events"] >= 3
    assert "dlq_size" in health["gauges"]
