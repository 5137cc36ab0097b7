"""Helpers of the commitment tests: ingest the shared cases through the APIs, create commitments."""

from __future__ import annotations

from typing import Any

import orjson
from rest_framework.test import APIClient

from tests.events.ves_helpers import post_ves, register_key
from tests.ves.ves_case_vectors import unhex, wire_event


def ingest_ves_case(admin: APIClient, case: dict[str, Any]) -> None:
    """Register the case's agent keys and ingest all its events through the VES API."""
    for key_id in sorted({e["agent_key_id"] for e in case["events"]}):
        response = register_key(admin, case["tenant_id"], case["agent_id"], key_id, unhex(case["agent_public_key"]))
        assert response.status_code == 200, response.content
    response = post_ves(admin, case["agent_id"], [wire_event(e) for e in case["events"]])
    assert response.status_code == 200, response.content
    assert response.json()["eventsAccepted"] == len(case["events"])


def ingest_legacy_case(admin: APIClient, case: dict[str, Any]) -> None:
    """Ingest the case's events as legacy events (same stream, entity and payload)."""
    events = [
        {
            "event_id": e["event_id"],
            "tenant_id": case["tenant_id"],
            "store_id": case["store_id"],
            "entity_type": e["entity_type"],
            "entity_id": e["entity_id"],
            "event_type": e["event_type"],
            "payload": e.get("payload", e.get("payload_input")),
            "created_at": e["created_at"],
            "source_agent": case["agent_id"],
        }
        for e in case["events"]
    ]
    body = orjson.dumps({"agent_id": case["agent_id"], "events": events})
    response = admin.post("/api/v1/events/ingest", data=body, content_type="application/json")
    assert response.status_code == 200, response.content


def create(client: APIClient, prefix: str, tenant_id: Any, store_id: Any, start: int, end: int) -> Any:
    body = {"tenant_id": str(tenant_id), "store_id": str(store_id), "sequence_start": start, "sequence_end": end}
    return client.post(f"/api/v1/{prefix}commitments", data=orjson.dumps(body), content_type="application/json")


def post_json(client: APIClient, path: str, body: Any) -> Any:
    return client.post(path, data=orjson.dumps(body), content_type="application/json")
