"""Data a scenario needs before its clock starts, posted through the public API.

* ``queries``: one stream of 1,000 legacy events (20 entities x 50, 1 KB payloads);
* ``mixed``: the same, sealed by one legacy commitment, plus a VES stream of 100 signed events
  sealed by one VES commitment (so proofs and the VES log have something to serve);
* ``ves``: an agent key registered for the tenant and request bodies of signed VES events
  (signed here because k6 cannot sign Ed25519 cheaply), one JSON body per line, each to be
  posted once by ``ves_ingest.js``.
"""

from __future__ import annotations

import multiprocessing
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson

from loadtest.ceiling import ReadFixture, scratch_store

ENTITIES = 20
EVENTS_PER_ENTITY = 50
AGENT_KEY_ID = 1


@dataclass(frozen=True, slots=True)
class Agent:
    tenant_id: uuid.UUID
    agent_id: uuid.UUID
    seed: bytes


def client(url: str, api_key: str) -> httpx.Client:
    return httpx.Client(
        base_url=url, headers={"Authorization": f"ApiKey {api_key}", "Content-Type": "application/json"}, timeout=120
    )


def _post(http: httpx.Client, path: str, body: Any) -> Any:
    response = http.post(path, content=body if isinstance(body, bytes) else orjson.dumps(body))
    if response.status_code not in {200, 201}:
        raise RuntimeError(f"seeding: POST {path} answered {response.status_code}: {response.text[:500]}")
    return response.json()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def padded_payload(index: int, size: int) -> dict[str, Any]:
    """A payload whose JSON is ``size`` bytes (as the k6 scripts build them)."""
    skeleton = orjson.dumps({"order_id": f"o-{index:08d}", "total": 42, "note": ""})
    return {"order_id": f"o-{index:08d}", "total": 42, "note": "x" * max(0, size - len(skeleton))}


def seed_legacy_stream(http: httpx.Client, tenant_id: uuid.UUID, payload_bytes: int) -> ReadFixture:
    """1,000 events on a fresh stream, entities interleaved so each history spans the stream."""
    store_id = uuid.uuid4()
    entities = [("order", f"order-seed-{n:02d}") for n in range(ENTITIES)]
    event_ids: list[uuid.UUID] = []
    created_at = _now()
    events = []
    for i in range(ENTITIES * EVENTS_PER_ENTITY):
        entity_type, entity_id = entities[i % ENTITIES]
        event_id = uuid.uuid4()
        event_ids.append(event_id)
        events.append(
            {
                "event_id": str(event_id),
                "tenant_id": str(tenant_id),
                "store_id": str(store_id),
                "entity_type": entity_type,
                "entity_id": entity_id,
                "event_type": "order.updated",
                "payload": padded_payload(i, payload_bytes),
                "created_at": created_at,
            }
        )
    head = 0
    for start in range(0, len(events), 100):
        head = _post(http, "/api/v1/events/ingest", {"events": events[start : start + 100]})["head_sequence"]
    return ReadFixture(tenant_id, store_id, event_ids, entities, head)


def fixture_json(fixture: ReadFixture, **extra: Any) -> bytes:
    return orjson.dumps(
        {
            "tenant_id": fixture.tenant_id,
            "store_id": fixture.store_id,
            "event_ids": fixture.event_ids,
            "entities": fixture.entities,
            "head": fixture.head,
            **extra,
        }
    )


def register_agent(http: httpx.Client, tenant_id: uuid.UUID) -> Agent:
    from ves.signing import public_key_from_seed

    agent = Agent(tenant_id, uuid.uuid4(), os.urandom(32))
    _post(
        http,
        "/api/v1/agents/keys",
        {
            "tenantId": str(tenant_id),
            "agentId": str(agent.agent_id),
            "keyId": AGENT_KEY_ID,
            "publicKey": public_key_from_seed(agent.seed).hex(),
        },
    )
    return agent


def _sign_bodies(job: tuple[Agent, Sequence[uuid.UUID], int, int, int]) -> list[bytes]:
    """Bodies for ``stores`` (one each) of ``batch`` signed events; runs in a worker process."""
    from ves.envelope import signed_envelope

    agent, stores, batch, payload_bytes, offset = job
    created_at = _now()
    bodies = []
    for n, store_id in enumerate(stores):
        events = [
            signed_envelope(
                agent.seed,
                tenant_id=agent.tenant_id,
                store_id=store_id,
                event_id=uuid.uuid4(),
                source_agent_id=agent.agent_id,
                agent_key_id=AGENT_KEY_ID,
                entity_type="order",
                entity_id=f"order-{offset + n}-{i}",
                event_type="order.created",
                created_at=created_at,
                payload=padded_payload(i, payload_bytes),
            )
            for i in range(batch)
        ]
        bodies.append(orjson.dumps({"agentId": str(agent.agent_id), "events": events}))
    return bodies


def ves_stores(store_prefix: uuid.UUID, streams: int, count: int) -> list[uuid.UUID]:
    """The store of each body: round robin over ``streams`` stores."""
    return [scratch_store(store_prefix, n % streams) for n in range(count)]


def write_ves_bodies(
    path: Path, agent: Agent, *, bodies: int, batch: int, streams: int, payload_bytes: int, processes: int = 2
) -> int:
    """Sign ``bodies`` request bodies (in ``processes`` worker processes) into ``path``, one per line."""
    stores = ves_stores(uuid.uuid4(), streams, bodies)
    chunk = max(1, -(-bodies // (processes * 4)))
    jobs = [(agent, stores[i : i + chunk], batch, payload_bytes, i) for i in range(0, bodies, chunk)]
    with multiprocessing.get_context("spawn").Pool(processes) as pool, path.open("wb") as out:
        for lines in pool.imap(_sign_bodies, jobs):
            for line in lines:
                out.write(line + b"\n")
    return bodies


def seed_mixed(http: httpx.Client, tenant_id: uuid.UUID, payload_bytes: int) -> bytes:
    """The queries stream sealed by a legacy commitment, plus a committed VES stream of 100 events."""
    fixture = seed_legacy_stream(http, tenant_id, payload_bytes)
    _post(
        http,
        "/api/v1/commitments",
        {
            "tenant_id": str(tenant_id),
            "store_id": str(fixture.store_id),
            "sequence_start": 1,
            "sequence_end": fixture.head,
        },
    )
    agent = register_agent(http, tenant_id)
    ves_store = uuid.uuid4()
    body = _sign_bodies((agent, [ves_store], 100, payload_bytes, 0))[0]
    accepted = _post(http, "/api/v1/ves/events/ingest", body)["eventsAccepted"]
    _post(
        http,
        "/api/v1/ves/commitments",
        {"tenant_id": str(tenant_id), "store_id": str(ves_store), "sequence_start": 1, "sequence_end": accepted},
    )
    return fixture_json(fixture, ves_store_id=ves_store, legacy_committed=fixture.head, ves_committed=accepted)
