"""The commitment tick seals the due streams itself, then hands what is left to stream_commit.

The whole path through a real beat and worker is ``test_auto_commitments_worker.py``; here the
tick runs in the test's process against PostgreSQL, so what it sealed itself is visible at once.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings

from commitments.lag import read_published_lag
from commitments.selectors import chain_tip
from commitments.sql import SELECT_COMMITMENT_LAG
from commitments.tasks import commitment_tick
from streams.kinds import StreamKind
from tests.conftest import IngestPoster, Persona, legacy_event
from tests.sequencer_project.broker_helpers import take_task_messages

pytestmark = pytest.mark.django_db


def _streams_with_events(owner: Persona, post_ingest: IngestPoster, streams: int) -> list[uuid.UUID]:
    stores = [uuid.uuid4() for _ in range(streams)]
    for n, store in enumerate(stores):
        body = {"events": [legacy_event(owner.tenant_id, store) for _ in range(n + 1)]}
        assert post_ingest(owner.client, body).status_code == 200
    return stores


def _sealed_to(owner: Persona, store: uuid.UUID) -> int:
    return chain_tip(tenant_id=owner.tenant_id, store_id=store, kind=StreamKind.LEGACY).next_start - 1


def test_the_tick_seals_every_due_stream_itself(owner: Persona, post_ingest: IngestPoster) -> None:
    stores = _streams_with_events(owner, post_ingest, streams=3)

    due = commitment_tick()  # None only when another tick holds the job's lock
    assert due is not None
    assert due >= 3

    for store in stores:
        head = chain_tip(tenant_id=owner.tenant_id, store_id=store, kind=StreamKind.LEGACY).head
        assert head > 0
        assert _sealed_to(owner, store) == head


def test_with_no_time_to_seal_the_tick_leaves_every_stream_to_its_task(
    owner: Persona, post_ingest: IngestPoster, django_capture_on_commit_callbacks: Any
) -> None:
    stores = _streams_with_events(owner, post_ingest, streams=2)

    with override_settings(COMMITMENT_TICK_SEAL_SECONDS=0.0), django_capture_on_commit_callbacks(execute=True):
        due = commitment_tick()
    assert due is not None
    assert due >= 2

    assert all(_sealed_to(owner, store) == 0 for store in stores)  # queued for stream_commit instead
    ours = {str(store) for store in stores}
    handed = take_task_messages(
        "commitments",
        "commitments.stream_commit",
        wanted=lambda args: args[0] == str(owner.tenant_id) and args[1] in ours,
        count=len(stores),
    )
    assert sorted(handed) == sorted((str(owner.tenant_id), store, str(int(StreamKind.LEGACY))) for store in ours)


def test_the_tick_publishes_the_largest_backlog_it_found(owner: Persona, post_ingest: IngestPoster) -> None:
    _streams_with_events(owner, post_ingest, streams=3)
    with connection.cursor() as cursor:  # the statement the load tests read the lag with
        cursor.execute(SELECT_COMMITMENT_LAG)
        lag = cursor.fetchone()[0]
    assert lag >= 3

    assert commitment_tick() is not None

    assert read_published_lag() == lag
