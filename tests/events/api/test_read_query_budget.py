"""Exact statement counts of the read endpoints (committed baselines; a change must be deliberate)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import IngestPoster, Persona, legacy_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(owner: Persona, post_ingest: IngestPoster) -> Persona:
    events = [legacy_event(owner.tenant_id, owner.store_id, entity_id="order-1") for _ in range(30)]
    assert post_ingest(owner.client, {"events": events}).status_code == 200
    owner.client.get(f"/api/v1/head?tenant_id={owner.tenant_id}&store_id={owner.store_id}")  # warm the key cache
    return owner


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/head?{stream}",
        "/api/v1/events?{stream}&from=1&limit=25",
        "/api/v1/entities/order/order-1?{stream}&limit=25",
        "/api/v1/events/{event_id}",
    ],
)
def test_each_read_is_one_statement(seeded: Persona, django_assert_num_queries: Any, path: str) -> None:
    event_id = seeded.client.get(
        f"/api/v1/events?tenant_id={seeded.tenant_id}&store_id={seeded.store_id}&limit=1"
    ).json()["events"][0]["envelope"]["event_id"]
    url = path.format(stream=f"tenant_id={seeded.tenant_id}&store_id={seeded.store_id}", event_id=event_id)

    with django_assert_num_queries(1):
        response = seeded.client.get(url)

    assert response.status_code == 200
