"""p50/p95 of RFC 6962 inclusion and consistency proofs through the API on a large stream.

Build the stream first (``scripts/build_log_stream.py --events 1000000``, which writes
``var/log_stream.json``), then::

    .venv/bin/python scripts/bench_log_proofs.py [--samples 1000] [--url http://127.0.0.1:8170]

* In-process: the Django test client (authentication, view, SQL, rendering; no HTTP parsing).
* With ``--url``: real HTTP/1.1 requests over one keep-alive connection to a running gunicorn of
  the project's config, e.g. ``DATABASE_URL=<database_url from the JSON> PORT=8170 HOST=127.0.0.1
  .venv/bin/gunicorn -c docker/gunicorn.conf.py sequencer_project.wsgi``.

Every sample picks a fresh random position and size: inclusion of a random sequence number in a
random tree size at or above it (``tree_size`` is any size up to the log's, not only checkpointed
ones), consistency between two random sizes. Each answer is checked with ``ves.rfc6962``'s
verifiers against the root of the same answer (first samples: also against the signed checkpoint
root). These are benchmarks, not tests: nothing fails on a slow machine.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return (
        f"p50 {statistics.median(ordered) * 1000:6.2f} ms   p95 {p95 * 1000:6.2f} ms   "
        f"p99 {p99 * 1000:6.2f} ms   (n={len(ordered)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stream", type=Path, default=ROOT / "var" / "log_stream.json")
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--url", default=None, help="base URL of a running gunicorn (HTTP figures)")
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    stream = json.loads(args.stream.read_text())
    os.environ["DATABASE_URL"] = stream["database_url"]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sequencer_project.settings")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
    import django

    django.setup()
    from django.conf import settings
    from rest_framework.test import APIClient

    from ves import rfc6962

    n = int(stream["events"])
    q = f"tenant_id={stream['tenant_id']}&store_id={stream['store_id']}"
    key = settings.BOOTSTRAP_ADMIN_API_KEY
    rng = random.Random(args.seed)  # noqa: S311  (benchmark positions, not secrets)

    def inclusion_path() -> tuple[str, Callable[[dict[str, Any]], bool]]:
        seq = rng.randint(1, n)
        size = rng.randint(seq, n)

        def check(body: dict[str, Any]) -> bool:
            return rfc6962.verify_inclusion(
                leaf_index=seq - 1,
                tree_size=size,
                leaf_hash=bytes.fromhex(body["leaf_hash"]),
                proof=[bytes.fromhex(p) for p in body["proof"]],
                root=bytes.fromhex(body["root_hash"]),
            )

        return f"/api/v1/ves/log/proofs/inclusion?{q}&sequence_number={seq}&tree_size={size}", check

    def consistency_path() -> tuple[str, Callable[[dict[str, Any]], bool]]:
        second = rng.randint(2, n)
        first = rng.randint(1, second - 1)

        def check(body: dict[str, Any]) -> bool:
            return rfc6962.verify_consistency(
                old_size=first,
                new_size=second,
                old_root=bytes.fromhex(body["first_root"]),
                new_root=bytes.fromhex(body["second_root"]),
                proof=[bytes.fromhex(p) for p in body["proof"]],
            )

        return f"/api/v1/ves/log/proofs/consistency?{q}&first={first}&second={second}", check

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"ApiKey {key}")
    latest = client.get(f"/api/v1/ves/log/checkpoint?{q}").json()
    print(f"stream {stream['tenant_id']}/{stream['store_id']}: log of {latest['tree_size']:,} entries")

    def run(label: str, fetch: Callable[[str], tuple[int, bytes]]) -> None:
        for name, make in (("inclusion", inclusion_path), ("consistency", consistency_path)):
            for _ in range(20):  # warm-up: connections, caches, prepared plans
                fetch(make()[0])
            samples, cpu = [], []
            for _ in range(args.samples):
                path, check = make()
                start, cpu_start = time.perf_counter(), time.process_time()
                status, content = fetch(path)
                samples.append(time.perf_counter() - start)
                cpu.append(time.process_time() - cpu_start)
                if status != 200 or not check(json.loads(content)):
                    raise SystemExit(f"bad answer {status} for {path}: {content[:200]!r}")
            # This process's CPU time: the whole request in-process (PostgreSQL's share excluded),
            # only the client side over HTTP.
            print(
                f"  {label:<10} {name:<12} {summary(samples)}   this process's CPU p50 "
                f"{statistics.median(cpu) * 1000:.2f} ms"
            )

    def in_process(path: str) -> tuple[int, bytes]:
        response = client.get(path)
        return response.status_code, response.content

    with open("/proc/loadavg") as f:
        print(f"load average before: {f.read().split()[:3]}")
    run("in-process", in_process)
    if args.url:
        parts = urlsplit(args.url)
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=30)

        def over_http(path: str) -> tuple[int, bytes]:
            conn.request("GET", path, headers={"Authorization": f"ApiKey {key}"})
            response = conn.getresponse()
            return response.status, response.read()

        run("HTTP", over_http)
        conn.close()
    with open("/proc/loadavg") as f:
        print(f"load average after: {f.read().split()[:3]}")


if __name__ == "__main__":
    main()
