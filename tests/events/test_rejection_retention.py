"""Retention of ``rejected_events`` (docs/operations.md, "Retention"): rows older than
``REJECTED_EVENTS_RETENTION_DAYS`` are deleted in bounded batches by the beat job
``events.rejections_prune``; newer rows, ``audit_log`` and ``command_dedupe`` are kept."""

from __future__ import annotations

import uuid
from fnmatch import fnmatch

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings

from events.services.rejection_retention import rejected_events_prune
from events.tasks import rejections_prune
from sequencer_project.celery import app
from tests.conftest import IngestPoster, Persona, legacy_event

pytestmark = pytest.mark.django_db


def _reject(tenant_id: uuid.UUID, count: int, days_ago: float) -> None:
    """``count`` rejections of the tenant, ``days_ago`` days old (as ingest writes them)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO rejected_events (tenant_id, store_id, stream_kind, event_id, reason, message, body,
                                         rejected_at)
            SELECT %(tenant_id)s, %(tenant_id)s, 1, gen_random_uuid(), 'VersionConflict', 'expected 1, actual 2',
                   convert_to(repeat('x', 200), 'UTF8'), now() - %(days)s * interval '1 day'
            FROM generate_series(1, %(count)s)
            """,
            {"tenant_id": tenant_id, "count": count, "days": days_ago},
        )


def _ages(tenant_id: uuid.UUID) -> list[int]:
    """The age in whole days of each of the tenant's rejections, youngest first."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT extract(day FROM now() - rejected_at)::int FROM rejected_events WHERE tenant_id = %s"
            " ORDER BY rejected_at DESC",
            [tenant_id],
        )
        return [row[0] for row in cursor.fetchall()]


def _older_than(days: int) -> int:
    """Every tenant's rejections older than ``days`` (other tests may have left some)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM rejected_events WHERE rejected_at < now() - %s * interval '1 day'", [days])
        return int(cursor.fetchone()[0])


def test_rows_older_than_the_retention_are_deleted_and_newer_kept(owner: Persona) -> None:
    _reject(owner.tenant_id, 4, days_ago=0)
    _reject(owner.tenant_id, 3, days_ago=29.9)
    _reject(owner.tenant_id, 5, days_ago=30.1)
    _reject(owner.tenant_id, 6, days_ago=400)
    old = _older_than(30)

    result = rejected_events_prune(retention_days=30)

    assert result.deleted == old >= 11
    assert not result.exhausted_budget
    assert _ages(owner.tenant_id) == [0] * 4 + [29] * 3
    assert rejected_events_prune(retention_days=30).deleted == 0  # idempotent


def test_a_run_deletes_in_bounded_batches_oldest_first(owner: Persona) -> None:
    _reject(owner.tenant_id, 7, days_ago=50)
    _reject(owner.tenant_id, 3, days_ago=10)
    old = _older_than(5)

    partial = rejected_events_prune(retention_days=5, batch_size=4, budget_seconds=0)

    assert (partial.deleted, partial.batches, partial.exhausted_budget) == (4, 1, True)
    assert _ages(owner.tenant_id) == [10] * 3 + [50] * 3  # the oldest went first

    rest = rejected_events_prune(retention_days=5, batch_size=4)

    assert rest.deleted == old - 4
    assert rest.batches == (old - 4) // 4 + 1
    assert _ages(owner.tenant_id) == []


def test_zero_disables_pruning(owner: Persona) -> None:
    _reject(owner.tenant_id, 3, days_ago=10_000)

    assert rejected_events_prune(retention_days=0).deleted == 0
    assert len(_ages(owner.tenant_id)) == 3


def test_the_beat_task_prunes_with_the_setting(owner: Persona) -> None:
    _reject(owner.tenant_id, 2, days_ago=8)
    _reject(owner.tenant_id, 2, days_ago=1)

    with override_settings(REJECTED_EVENTS_RETENTION_DAYS=0):
        assert rejections_prune() == 0
    assert len(_ages(owner.tenant_id)) == 4
    old = _older_than(7)
    with override_settings(REJECTED_EVENTS_RETENTION_DAYS=7):
        assert rejections_prune() == old >= 2
    assert _ages(owner.tenant_id) == [1, 1]


def test_rejections_of_real_ingest_are_kept_within_the_retention(owner: Persona, post_ingest: IngestPoster) -> None:
    event = legacy_event(owner.tenant_id, owner.store_id, payload_hash="0" * 64)
    response = post_ingest(owner.client, {"events": [event]})
    assert response.json()["events_rejected"] == 1

    rejected_events_prune(retention_days=1)

    assert _ages(owner.tenant_id) == [0]


def test_the_job_is_scheduled_on_the_maintenance_queue() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["events.rejections_prune"]
    task = rejections_prune.name

    assert entry["task"] == task == "events.rejections_prune"
    assert task in app.tasks
    assert entry["schedule"] == settings.REJECTED_EVENTS_PRUNE_INTERVAL_SECONDS
    routed = [pattern for pattern in settings.CELERY_TASK_ROUTES if fnmatch(task, pattern)]
    assert (routed, settings.CELERY_TASK_DEFAULT_QUEUE) == ([], "maintenance")  # the default queue
    assert settings.REJECTED_EVENTS_RETENTION_DAYS == 30  # the default


def test_the_batch_reads_the_rejected_at_index() -> None:
    """The inner SELECT of a batch walks ``rejected_events_rejected_at_idx`` (migration 0013)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'rejected_events_rejected_at_idx'")
        (definition,) = cursor.fetchone()
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT tenant_id, rejection_id FROM rejected_events"
            " WHERE rejected_at < now() - interval '30 days' ORDER BY rejected_at LIMIT 5000"
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert definition.endswith("USING btree (rejected_at)")
    assert "rejected_events_rejected_at_idx" in plan
