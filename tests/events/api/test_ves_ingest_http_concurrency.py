"""Concurrent HTTP clients sending signed events to a live server: gap-free end to end."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from django.db import connection, connections

from tenants.services import agent_key_register
from tests.events.ves_helpers import Agent, ves_head
from tests.tenants.factories import issue_key, make_tenant

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_parallel_signed_requests_on_one_stream_get_distinct_contiguous_numbers(live_server: Any) -> None:
    tenant = make_tenant()
    key = issue_key(tenant, can_write=True)
    agent = Agent(tenant.id, uuid.uuid4())
    agent_key_register(
        tenant_id=tenant.id, agent_id=agent.agent_id, key_id=1, public_key=agent.public_key, actor="test"
    )
    batches = [[agent.event(entity_id="order-hot") for _ in range(5)] for _ in range(32)]

    def post(events: list[dict[str, Any]]) -> dict[str, Any]:
        with httpx.Client(base_url=live_server.url, headers={"Authorization": f"ApiKey {key}"}) as client:
            response = client.post(
                "/api/v1/ves/events/ingest", json={"agentId": str(agent.agent_id), "events": events}, timeout=30
            )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    with ThreadPoolExecutor(max_workers=8) as pool:
        bodies = list(pool.map(post, batches))
    connections.close_all()

    numbers = sorted(r["sequenceNumber"] for body in bodies for r in body["receipts"])
    assert numbers == list(range(1, 161))
    for body in bodies:  # each request got one contiguous run
        run = [r["sequenceNumber"] for r in body["receipts"]]
        assert run == list(range(body["sequenceStart"], body["sequenceEnd"] + 1))
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM ves_events WHERE tenant_id = %s", [tenant.id])
        assert cursor.fetchone()[0] == 160
    assert ves_head(tenant.id, agent.store_id) == 160
