"""``query_by_*``: the read endpoints in process (Django test client → view → selector → SQL).

One stream of 1,000 events (1 KB payloads) is ingested through the API first (100 in the xdist
smoke run); every 50th event belongs to one entity, so its history holds 20 events. Rounds
rotate over ids and positions so the benchmark does not read one hot row.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from rest_framework.test import APIClient

from tests.benchmarks.conftest import Calibrated, payload_of_size, post_json
from tests.conftest import api_client, legacy_event
from tests.tenants.factories import issue_key, make_tenant

pytestmark = pytest.mark.django_db

STREAM_EVENTS = 1_000
ENTITY_EVERY = 50
ROUNDS = 300


@dataclass(frozen=True)
class Stream:
    client: APIClient
    query: str
    event_ids: list[str]

    @property
    def entity_events(self) -> int:
        return len(self.event_ids[::ENTITY_EVERY])


@pytest.fixture
def stream(db: None, data_scale: int) -> Stream:
    tenant = make_tenant()
    client = api_client(issue_key(tenant, can_write=True))
    store_id = uuid.uuid4()
    payload = payload_of_size(1024)
    events = [
        legacy_event(
            tenant.id, store_id, payload=payload, **({"entity_id": "order-hot"} if i % ENTITY_EVERY == 0 else {})
        )
        for i in range(STREAM_EVENTS // data_scale)
    ]
    response = post_json(client, "/api/v1/events/ingest", orjson.dumps({"events": events}))
    assert response.json()["events_accepted"] == len(events)
    return Stream(client, f"tenant_id={tenant.id}&store_id={store_id}", [e["event_id"] for e in events])


def _get_ok(client: APIClient, urls: Iterator[str]) -> Any:
    response = client.get(next(urls))
    assert response.status_code == 200, response.content
    return response.json()


def test_query_by_id(calibrated: Calibrated, stream: Stream) -> None:
    """``GET /api/v1/events/{event_id}``."""
    urls = itertools.cycle(f"/api/v1/events/{event_id}" for event_id in stream.event_ids[::7])

    body = calibrated(lambda: _get_ok(stream.client, urls), rounds=ROUNDS, database=True)

    assert body["envelope"]["event_id"] in stream.event_ids


def test_query_by_entity(calibrated: Calibrated, stream: Stream) -> None:
    """``GET /api/v1/entities/order/order-hot`` (20 events of 1 KB)."""
    urls = itertools.repeat(f"/api/v1/entities/order/order-hot?{stream.query}")

    body = calibrated(lambda: _get_ok(stream.client, urls), rounds=ROUNDS, database=True)

    assert body["count"] == body["total"] == stream.entity_events


def test_query_by_range(calibrated: Calibrated, stream: Stream) -> None:
    """``GET /api/v1/events?from&limit=100``: a range of 100 events of 1 KB."""
    last_start = len(stream.event_ids) - 99
    urls = itertools.cycle(f"/api/v1/events?{stream.query}&from={s}&limit=100" for s in range(1, last_start + 1, 37))

    body = calibrated(lambda: _get_ok(stream.client, urls), rounds=ROUNDS, database=True)

    assert body["count"] == 100
