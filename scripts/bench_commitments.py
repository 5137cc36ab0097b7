"""End-to-end benchmarks of commitments and proofs through the API, on a real PostgreSQL.

Run (needs PostgreSQL; creates, migrates and uses its own database ``<DATABASE_URL db>_bench``)::

    .venv/bin/python scripts/bench_commitments.py [--repeat 21] [--log-size 1000000]

These are benchmarks, not tests: nothing fails on a slow machine. Figures (median and p95 of
``time.perf_counter`` samples, Django test client in-process, so HTTP parsing by gunicorn is not
included but authentication, views, SQL and rendering are):

* ``merkle_tree_build`` N (100 / 1,000 / 10,000): ``POST /api/v1/ves/commitments`` sealing N stored,
  signed VES events: read the leaves, build the tree, state root, insert, append the RFC 6962 log,
  sign the checkpoint. Between samples the commitment and its log are deleted. The 10,000 figure is
  also "commitment creation for 10,000 stored events end to end".
* ``merkle_proof_gen``: ``GET /api/v1/ves/proofs/{seq}`` at random positions of the 10,000-event
  commitment, and the log's inclusion / consistency proof endpoints on that stream.
* ``log_proof_1m``: inclusion and consistency proofs from a PostgreSQL-stored log of
  ``--log-size`` entries (service level, one node query each); the one-off build is timed once.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sequencer_project.settings")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    url = os.environ["DATABASE_URL"]
    os.environ["DATABASE_URL"] = url.rsplit("/", 1)[0] + "/" + url.rsplit("/", 1)[1] + "_bench"
    import django
    import psycopg

    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        name = url.rsplit("/", 1)[1] + "_bench"
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def stats(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(ordered) * 1000:8.2f} ms   p95 {p95 * 1000:8.2f} ms   (n={len(ordered)})"


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--proofs", type=int, default=201)
    parser.add_argument("--log-size", type=int, default=1_000_000)
    args = parser.parse_args()
    _setup_django()

    import orjson
    from django.conf import settings
    from django.db import connection
    from rest_framework.test import APIClient

    from commitments.transparency import log_open
    from streams.kinds import StreamKind
    from tests.events.ves_helpers import Agent, post_ves, register_key
    from ves import rfc6962

    settings.VES_SEQUENCER_SIGNING_KEY = bytes(range(32)).hex()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"ApiKey {settings.BOOTSTRAP_ADMIN_API_KEY}")

    def stream_with(n: int) -> Agent:
        agent = Agent(uuid.uuid4(), uuid.uuid4())
        assert register_key(client, agent.tenant_id, agent.agent_id, 1, agent.public_key).status_code == 200
        batch = settings.MAX_EVENTS_PER_BATCH
        for offset in range(0, n, batch):
            events = [agent.event() for _ in range(min(batch, n - offset))]
            response = post_ves(client, agent.agent_id, events)
            assert response.status_code == 200, response.content
        return agent

    def reset(agent: Agent) -> None:
        params = [str(agent.tenant_id), str(agent.store_id)]
        with connection.cursor() as cursor:
            for table in ("log_checkpoints", "log_tiles", "commitments"):
                cursor.execute(f"DELETE FROM {table} WHERE tenant_id = %s AND store_id = %s", params)  # noqa: S608

    def commit(agent: Agent, n: int) -> None:
        body = {
            "tenant_id": str(agent.tenant_id),
            "store_id": str(agent.store_id),
            "sequence_start": 1,
            "sequence_end": n,
        }
        response = client.post("/api/v1/ves/commitments", data=orjson.dumps(body), content_type="application/json")
        assert response.status_code == 201, response.content

    print(f"merkle_tree_build (POST /api/v1/ves/commitments, {args.repeat} samples each)")
    streams: dict[int, Agent] = {}
    for n in (100, 1_000, 10_000):
        agent = streams[n] = stream_with(n)
        samples = []
        for _ in range(args.repeat):
            reset(agent)
            samples.append(timed(lambda agent=agent, n=n: commit(agent, n)))  # type: ignore[misc]
        print(f"  {n:>6} events: {stats(samples)}")

    agent = streams[10_000]
    q = f"tenant_id={agent.tenant_id}&store_id={agent.store_id}"
    rng = random.Random(7)  # noqa: S311  (benchmark positions, not secrets)
    print(f"merkle_proof_gen (GET, {args.proofs} random positions of the 10,000-event commitment)")
    for label, path in (
        ("VES proof /api/v1/ves/proofs/{seq}", "/api/v1/ves/proofs/{seq}?" + q),
        ("log inclusion /ves/log/proofs/inclusion", "/api/v1/ves/log/proofs/inclusion?sequence_number={seq}&" + q),
        ("log consistency /ves/log/proofs/consistency", "/api/v1/ves/log/proofs/consistency?first={seq}&" + q),
    ):
        samples = []
        for _ in range(args.proofs):
            url = path.format(seq=rng.randint(1, 10_000))
            samples.append(timed(lambda url=url: client.get(url)))  # type: ignore[misc]
        print(f"  {label:<45} {stats(samples)}")

    size = args.log_size
    tenant, store = uuid.uuid4(), uuid.uuid4()
    start = time.perf_counter()
    chunk = 10_000
    for offset in range(0, size, chunk):
        log = log_open(tenant_id=tenant, store_id=store, kind=StreamKind.VES, size=offset)
        log.append(
            [
                rfc6962.leaf_hash(offset.to_bytes(8, "big") + i.to_bytes(4, "big"))
                for i in range(min(chunk, size - offset))
            ]
        )
    print(f"log_proof_1m: built a PostgreSQL log of {size:,} entries in {time.perf_counter() - start:.1f} s")
    inclusion, consistency, reads = [], [], []
    for _ in range(args.proofs):
        index, old = rng.randrange(size), rng.randint(1, size - 1)

        def prove_inclusion(index: int = index) -> None:
            log = log_open(tenant_id=tenant, store_id=store, kind=StreamKind.VES, size=size)
            log.inclusion_proof(index, size)
            reads.append(log.store.reads)  # type: ignore[attr-defined]

        inclusion.append(timed(prove_inclusion))

        def prove_consistency(old: int = old) -> None:
            log = log_open(tenant_id=tenant, store_id=store, kind=StreamKind.VES, size=size)
            log.consistency_proof(old, size)

        consistency.append(timed(prove_consistency))
    print(f"  inclusion   (open log + proof) {stats(inclusion)}   node reads {statistics.mean(reads):.1f}")
    print(f"  consistency (open log + proof) {stats(consistency)}")


if __name__ == "__main__":
    main()
