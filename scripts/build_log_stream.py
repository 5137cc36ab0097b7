"""Build a large VES stream and its commitments + RFC 6962 log quickly, for proof benchmarks.

Run (needs PostgreSQL; creates and migrates a scratch database ``<DATABASE_URL db>_<suffix>``)::

    .venv/bin/python scripts/build_log_stream.py --events 1000000 [--suffix logbench] [--chunk 10000]

1. Bulk-loads ``--events`` synthetic VES events into one new stream with one
   ``INSERT … SELECT … FROM generate_series`` per 100,000 events (``scripts/sql/bulk_load_ves_events.sql``:
   deterministic filler signing hashes and signatures, which commitments hash but never verify),
   and sets the stream's head.
2. Seals the stream with the product code, ``commitments.services.commitments.commitment_seal_next``,
   ``--chunk`` events per commitment (the automatic task's ``COMMITMENT_MAX_EVENTS`` default): each
   call reads the leaves, builds the VES tree, inserts the commitment, appends the log's tiles and
   signs a checkpoint, exactly as in production.

It prints the stream (tenant and store ids) and timings, and writes them to ``--out`` (JSON) so
``scripts/bench_log_proofs.py`` can measure proofs against it. The database is kept; drop it with
``dropdb -h 127.0.0.1 -U postgres <name>``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
LOAD_BATCH = 100_000


def scratch_database(suffix: str) -> str:
    """Point ``DATABASE_URL`` at ``<db>_<suffix>``, create it if missing, set up Django, migrate."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sequencer_project.settings")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
    base, name = os.environ["DATABASE_URL"].rsplit("/", 1)
    if not name.endswith("_" + suffix):
        name = f"{name}_{suffix}"
    os.environ["DATABASE_URL"] = f"{base}/{name}"
    import django
    import psycopg
    from psycopg import sql

    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return os.environ["DATABASE_URL"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=10_000, help="events per commitment")
    parser.add_argument("--suffix", default="logbench")
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "log_stream.json")
    args = parser.parse_args()
    url = scratch_database(args.suffix)

    from django.conf import settings
    from django.db import connection

    from commitments.services.commitments import commitment_seal_next
    from sequencer_project.db.sql import load_sql
    from streams.kinds import StreamKind

    if not settings.VES_SEQUENCER_SIGNING_KEY:
        settings.VES_SEQUENCER_SIGNING_KEY = bytes(range(32)).hex()  # a throwaway key: sign checkpoints too
    tenant, store, agent = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    stream = {"tenant_id": tenant, "store_id": store, "agent_id": agent}
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for first in range(1, args.events + 1, LOAD_BATCH):
            last = min(args.events, first + LOAD_BATCH - 1)
            cursor.execute(load_sql(__file__, "sql/bulk_load_ves_events.sql"), {**stream, "first": first, "last": last})
        cursor.execute(load_sql(__file__, "sql/set_stream_head.sql"), {**stream, "head": args.events})
        cursor.execute("ANALYZE ves_events")
    loaded = time.perf_counter() - started
    print(f"loaded {args.events:,} VES events in {loaded:.1f} s")

    started = time.perf_counter()
    commitments = 0
    while commitment_seal_next(tenant_id=tenant, store_id=store, kind=StreamKind.VES, max_events=args.chunk):
        commitments += 1
    sealed = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE log_tiles")
    print(f"sealed {commitments} commitments (log of {args.events:,} entries) in {sealed:.1f} s")
    result = {
        "database_url": url,
        "tenant_id": str(tenant),
        "store_id": str(store),
        "events": args.events,
        "commitments": commitments,
        "load_seconds": round(loaded, 2),
        "seal_seconds": round(sealed, 2),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
