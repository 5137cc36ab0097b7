"""Build signed VES events and register agent keys through the real API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from django.db import connection
from rest_framework.test import APIClient

from events.services.ves_ingest import VesIngestResult, ves_event_ingest
from events.ves_envelopes import check_source_agents, check_ves_limits, parse_ves_request, prepare_ves_event
from ves.envelope import signed_envelope
from ves.signing import public_key_from_seed


@dataclass
class Agent:
    """An agent with one Ed25519 seed, signing for one stream."""

    tenant_id: uuid.UUID
    store_id: uuid.UUID
    agent_id: uuid.UUID = field(default_factory=uuid.uuid4)
    seed: bytes = field(default_factory=lambda: uuid.uuid4().bytes * 2)

    @property
    def public_key(self) -> bytes:
        return public_key_from_seed(self.seed)

    def event(
        self,
        payload: Any = None,
        *,
        key_id: int = 1,
        encrypted_for: list[tuple[int, bytes]] | None = None,
        **overrides: Any,
    ) -> dict[str, Any]:
        """A correctly signed event; ``overrides`` change signed fields *before* signing."""
        return signed_event(self, payload, key_id=key_id, encrypted_for=encrypted_for, **overrides)


_UUID_FIELDS = frozenset({"event_id", "tenant_id", "store_id", "source_agent_id", "command_id"})


def signed_event(
    agent: Agent,
    payload: Any = None,
    *,
    key_id: int = 1,
    encrypted_for: list[tuple[int, bytes]] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """A signed wire event of ``agent``; ``overrides`` replace signed or optional fields before signing."""
    values: dict[str, Any] = {
        "ves_version": 1,
        "event_id": uuid.uuid4(),
        "tenant_id": agent.tenant_id,
        "store_id": agent.store_id,
        "source_agent_id": agent.agent_id,
        "agent_key_id": key_id,
        "entity_type": "order",
        "entity_id": f"order-{uuid.uuid4().hex[:8]}",
        "event_type": "order.created",
        "created_at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "command_id": None,
        "base_version": None,
    }
    for name, value in overrides.items():
        values[name] = (
            uuid.UUID(value) if name.endswith("_id") and isinstance(value, str) and len(value) == 36 else value
        )
    return signed_envelope(
        agent.seed,
        payload={"total": 42, "currency": "USD"} if payload is None else payload,
        recipients=encrypted_for,
        **values,
    )


def register_key(
    client: APIClient,
    tenant_id: uuid.UUID | str,
    agent_id: uuid.UUID | str,
    key_id: int,
    public_key: bytes,
    **extra: Any,
) -> Any:
    body = {
        "tenantId": str(tenant_id),
        "agentId": str(agent_id),
        "keyId": key_id,
        "publicKey": public_key.hex(),
        **extra,
    }
    return client.post("/api/v1/agents/keys", data=orjson.dumps(body), content_type="application/json")


def post_ves(client: APIClient, agent_id: uuid.UUID | str, events: list[dict[str, Any]], **extra: Any) -> Any:
    body = orjson.dumps({"agentId": str(agent_id), "events": events})
    return client.post("/api/v1/ves/events/ingest", data=body, content_type="application/json", **extra)


def ves_rows(tenant_id: uuid.UUID | str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM ves_events WHERE tenant_id = %s", [str(tenant_id)])
        return int(cursor.fetchone()[0])


def ves_head(tenant_id: uuid.UUID | str, store_id: uuid.UUID | str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_sequence FROM sequence_counters WHERE tenant_id = %s AND store_id = %s AND stream_kind = 2",
            [str(tenant_id), str(store_id)],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def ves_ingest_direct(agent: Agent, events: list[dict[str, Any]]) -> VesIngestResult:
    """``events`` through the VES ingest service as the endpoint hands them over (parsed, limits
    checked, prepared), without HTTP."""
    parsed = parse_ves_request({"agentId": str(agent.agent_id), "events": events})
    check_source_agents(parsed)
    payloads = check_ves_limits(parsed, max_events=1000, max_payload_bytes=1 << 20)
    prepared = [prepare_ves_event(e, p) for e, p in zip(parsed.events, payloads, strict=True)]
    return ves_event_ingest(
        tenant_id=parsed.tenant_id, store_id=parsed.store_id, agent_id=parsed.agent_id, events=prepared, actor="test"
    )
