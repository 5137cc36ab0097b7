"""Build signed VES events and register agent keys through the real API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from django.db import connection
from rest_framework.test import APIClient

from ves.encryption import seal
from ves.hashes import ZERO_HASH, EventSigningFields, event_signing_hash, payload_plain_hash
from ves.signing import public_key_from_seed, sign


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


def signed_event(
    agent: Agent,
    payload: Any = None,
    *,
    key_id: int = 1,
    encrypted_for: list[tuple[int, bytes]] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    payload = {"total": 42, "currency": "USD"} if payload is None else payload
    base: dict[str, Any] = {
        "ves_version": 1,
        "event_id": str(uuid.uuid4()),
        "tenant_id": str(agent.tenant_id),
        "store_id": str(agent.store_id),
        "source_agent_id": str(agent.agent_id),
        "agent_key_id": key_id,
        "entity_type": "order",
        "entity_id": f"order-{uuid.uuid4().hex[:8]}",
        "event_type": "order.created",
        "created_at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    extra = {k: overrides.pop(k) for k in ("command_id", "base_version") if k in overrides}
    base.update(overrides)
    fields = EventSigningFields(
        ves_version=base["ves_version"],
        tenant_id=uuid.UUID(base["tenant_id"]),
        store_id=uuid.UUID(base["store_id"]),
        event_id=uuid.UUID(base["event_id"]),
        source_agent_id=uuid.UUID(base["source_agent_id"]),
        agent_key_id=base["agent_key_id"],
        entity_type=base["entity_type"],
        entity_id=base["entity_id"],
        event_type=base["event_type"],
        created_at=base["created_at"],
        payload_kind=0,
        payload_plain_hash=ZERO_HASH,
        payload_cipher_hash=ZERO_HASH,
    )
    if encrypted_for is None:
        plain, cipher, kind = payload_plain_hash(payload), ZERO_HASH, 0
        base["payload"] = payload
    else:
        sealed = seal(fields, payload, encrypted_for)
        plain, cipher, kind = sealed.payload_plain_hash, sealed.payload_cipher_hash, 1
        base["payload_encrypted"] = sealed.payload_encrypted
    signed = EventSigningFields(
        **{
            **{n: getattr(fields, n) for n in EventSigningFields.__slots__},
            "payload_kind": kind,
            "payload_plain_hash": plain,
            "payload_cipher_hash": cipher,
        }
    )
    base["payload_kind"] = kind
    base["payload_plain_hash"] = "0x" + plain.hex()
    base["payload_cipher_hash"] = "0x" + cipher.hex()
    base["agent_signature"] = "0x" + sign(agent.seed, event_signing_hash(signed)).hex()
    base.update(extra)
    return base


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
