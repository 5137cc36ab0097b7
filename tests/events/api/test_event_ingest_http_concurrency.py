"""Concurrent HTTP clients against a live server: the invariant holds end to end."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from django.db import connections

from tests.conftest import legacy_event
from tests.events.helpers import head_of, stored_sequences
from tests.tenants.factories import issue_key, make_tenant

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_parallel_single_event_requests_on_one_stream_get_distinct_contiguous_numbers(live_server: Any) -> None:
    tenant = make_tenant()
    key = issue_key(tenant, can_write=True)
    store_id = uuid.uuid4()
    events = [legacy_event(tenant.id, store_id, entity_id="order-hot") for _ in range(160)]

    def post(event: dict[str, Any]) -> dict[str, Any]:
        with httpx.Client(base_url=live_server.url, headers={"Authorization": f"ApiKey {key}"}) as client:
            response = client.post("/api/v1/events/ingest", json={"events": [event]}, timeout=30)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    with ThreadPoolExecutor(max_workers=8) as pool:
        bodies = list(pool.map(post, events))
    connections.close_all()

    numbers = sorted(body["receipts"][0]["sequence_number"] for body in bodies)
    assert numbers == list(range(1, 161))
    assert stored_sequences(tenant.id, store_id) == numbers
    assert head_of(tenant.id, store_id) == 160
