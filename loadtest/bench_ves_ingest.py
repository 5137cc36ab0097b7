"""Signed VES ingest throughput: N requests of B signed events each, one stream, sequential.

    python -m loadtest.bench_ves_ingest [--batches 20] [--batch-size 100] [--encrypted 0.0]
                                        [--url http://127.0.0.1:8091 --api-key KEY]

Without ``--url`` it runs in process through Django's test client against ``DATABASE_URL``
(migrated), with the bootstrap admin key from the environment: the full request path (auth,
parse, hash, verify, sequence, render) without a network hop. With ``--url`` it posts with
httpx to a running server. Events are signed before the clock starts; it reports events/s
and per-request latency. A benchmark, not a test: keep runs short on shared machines.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from dataclasses import dataclass
from typing import Any

import orjson


@dataclass(frozen=True)
class _Agent:
    tenant_id: uuid.UUID
    store_id: uuid.UUID
    agent_id: uuid.UUID
    public_key: bytes


def _build(batches: int, batch_size: int, encrypted: float) -> tuple[_Agent, list[bytes]]:
    from datetime import UTC, datetime

    from ves.envelope import signed_envelope
    from ves.hpke import derive_key_pair
    from ves.signing import public_key_from_seed

    seed = os.urandom(32)
    agent = _Agent(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), public_key_from_seed(seed))
    recipient = derive_key_pair(b"bench-recipient")[1]
    created_at = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    bodies = []
    for b in range(batches):
        events = []
        for i in range(batch_size):
            enc = (b * batch_size + i) % 100 < encrypted * 100
            events.append(
                signed_envelope(
                    seed,
                    tenant_id=agent.tenant_id,
                    store_id=agent.store_id,
                    event_id=uuid.uuid4(),
                    source_agent_id=agent.agent_id,
                    agent_key_id=1,
                    entity_type="order",
                    entity_id=f"order-{b}-{i}",
                    event_type="order.created",
                    created_at=created_at,
                    payload={"order_id": f"o-{b}-{i}", "total": 12.5 + i, "lines": [{"sku": "A-1", "qty": 2}]},
                    recipients=[(1, recipient)] if enc else None,
                )
            )
        bodies.append(orjson.dumps({"agentId": str(agent.agent_id), "events": events}))
    return agent, bodies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--encrypted", type=float, default=0.0, help="fraction of VES-ENC-1 events (0..1)")
    parser.add_argument("--url", default="")
    parser.add_argument("--api-key", default=os.environ.get("BOOTSTRAP_ADMIN_API_KEY", ""))
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sequencer_project.settings")
    import django

    django.setup()
    agent, bodies = _build(args.batches, args.batch_size, args.encrypted)
    headers = {"Authorization": f"ApiKey {args.api_key}", "Content-Type": "application/json"}
    key_body = orjson.dumps(
        {
            "tenantId": str(agent.tenant_id),
            "agentId": str(agent.agent_id),
            "keyId": 1,
            "publicKey": agent.public_key.hex(),
        }
    )

    if args.url:
        import httpx

        client = httpx.Client(base_url=args.url, headers=headers, timeout=60)

        def post(path: str, body: bytes) -> tuple[int, Any]:
            response = client.post(path, content=body)
            return response.status_code, response.json()
    else:
        from django.test import Client

        django_client = Client(HTTP_AUTHORIZATION=headers["Authorization"], HTTP_HOST="localhost")

        def post(path: str, body: bytes) -> tuple[int, Any]:
            response = django_client.post(path, data=body, content_type="application/json")
            return response.status_code, response.json()

    status, body = post("/api/v1/agents/keys", key_body)
    if status != 200:
        print(f"key registration failed: {status} {body}", file=sys.stderr)
        return 1
    latencies = []
    accepted = 0
    started = time.perf_counter()
    for request_body in bodies:
        t0 = time.perf_counter()
        status, body = post("/api/v1/ves/events/ingest", request_body)
        latencies.append(time.perf_counter() - t0)
        if status != 200:
            print(f"ingest failed: {status} {body}", file=sys.stderr)
            return 1
        accepted += body["eventsAccepted"]
    elapsed = time.perf_counter() - started
    expected = args.batches * args.batch_size
    print(f"target: {args.url or 'in-process Django test client'}; {args.batches} requests x {args.batch_size} events")
    print(f"accepted {accepted}/{expected} events in {elapsed:.2f} s: {accepted / elapsed:.0f} events/s")
    print(f"per request: median {statistics.median(latencies) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms")
    return 0 if accepted == expected else 1


if __name__ == "__main__":
    sys.exit(main())
