"""``ingest_*``: one legacy ingest request end to end in process, committed in PostgreSQL.

Django test client → middleware → ``EventIngestApi`` → ``event_ingest_legacy`` → a real commit
(``transactional_db``, so nothing is rolled back behind the benchmark's back). Each round posts
fresh events (bodies serialised before the clock starts) to one stream of a fresh tenant.
"""

from __future__ import annotations

import uuid

import pytest

from tests.benchmarks.conftest import Calibrated, bodies, ingest_body, payload_of_size, post_json, scaled
from tests.conftest import api_client
from tests.tenants.factories import issue_key, make_tenant

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS_SINGLE = 300
ROUNDS_BATCH = 60


def _ingest(calibrated: Calibrated, *, payload_bytes: int, events: int, rounds: int) -> None:
    tenant = make_tenant()
    client = api_client(issue_key(tenant, can_write=True))
    store_id = uuid.uuid4()
    payload = payload_of_size(payload_bytes)
    ready = bodies(lambda: ingest_body(tenant.id, store_id, payload, events), scaled(rounds) + 4)

    response = calibrated(lambda: post_json(client, "/api/v1/events/ingest", next(ready)), rounds=rounds, database=True)

    assert response.status_code == 200, response.content
    assert response.json()["events_accepted"] == events


def test_ingest_small(calibrated: Calibrated) -> None:
    """One event with a 100 B payload per request."""
    _ingest(calibrated, payload_bytes=100, events=1, rounds=ROUNDS_SINGLE)


def test_ingest_medium(calibrated: Calibrated) -> None:
    """One event with a 1 KB payload per request."""
    _ingest(calibrated, payload_bytes=1024, events=1, rounds=ROUNDS_SINGLE)


def test_ingest_large(calibrated: Calibrated) -> None:
    """One event with a 10 KB payload per request."""
    _ingest(calibrated, payload_bytes=10 * 1024, events=1, rounds=ROUNDS_SINGLE)


def test_ingest_medium_batch100(calibrated: Calibrated) -> None:
    """100 events with 1 KB payloads per request (the batched-ingest target's request shape)."""
    _ingest(calibrated, payload_bytes=1024, events=100, rounds=ROUNDS_BATCH)
