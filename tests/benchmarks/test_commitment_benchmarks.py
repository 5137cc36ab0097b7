"""``commitment_create_10k``: commitment creation for 10,000 stored events, end to end.

Run: ``pytest tests/benchmarks/test_commitment_benchmarks.py -p no:xdist --benchmark-only``
(figures and load average in ``docs/commitments.md``). Under the normal (xdist) suite
pytest-benchmark runs the body once, as a smoke test.

One round is ``POST /api/v1/ves/commitments`` sealing ``1..10000`` of a stream through the Django
test client with a real, committed transaction: authentication, the view, reading and hashing the
10,000 leaves, the VES tree and state root, the commitment row, the RFC 6962 log's tiles and the
signed checkpoint. Between rounds the commitment and its log are deleted (not timed). The events
are bulk-loaded with ``scripts/sql/bulk_load_ves_events.sql`` (synthetic signing hashes and
signatures: commitments hash them, never verify them), which takes a second instead of the
minute that signing and ingesting 10,000 events through the API would.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import orjson
import pytest
from django.db import connection
from django.test import override_settings
from pytest_benchmark.fixture import BenchmarkFixture
from rest_framework.test import APIClient

from sequencer_project.db.sql import load_sql
from ves import merkle as ves_merkle
from ves import rfc6962
from ves.checkpoint import verify_checkpoint
from ves.signing import public_key_from_seed

pytestmark = pytest.mark.django_db(transaction=True)

SCRIPTS_SQL = Path(__file__).resolve().parents[2] / "scripts" / "sql"
EVENTS = 10_000
SEED = bytes(range(32))


def _load_stream(tenant_id: uuid.UUID, store_id: uuid.UUID) -> None:
    stream = {"tenant_id": tenant_id, "store_id": store_id, "agent_id": uuid.uuid4()}
    with connection.cursor() as cursor:
        cursor.execute(load_sql(SCRIPTS_SQL, "bulk_load_ves_events.sql"), {**stream, "first": 1, "last": EVENTS})
        cursor.execute(load_sql(SCRIPTS_SQL, "set_stream_head.sql"), {**stream, "head": EVENTS})


def _python_leaves(tenant_id: uuid.UUID, store_id: uuid.UUID) -> list[bytes]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sequence_number, event_signing_hash, agent_signature FROM ves_events"
            " WHERE tenant_id = %s AND store_id = %s ORDER BY sequence_number",
            [tenant_id, store_id],
        )
        return [
            ves_merkle.leaf_hash(
                tenant_id=tenant_id,
                store_id=store_id,
                sequence_number=seq,
                event_signing_hash=bytes(h),
                agent_signature=bytes(sig),
            )
            for seq, h, sig in cursor.fetchall()
        ]


@override_settings(VES_SEQUENCER_SIGNING_KEY=SEED.hex(), CHECKPOINT_SEQUENCER_NAME="bench.test")
def test_commitment_create_10k(benchmark: BenchmarkFixture, admin_client: APIClient) -> None:
    """Commitment creation for 10,000 stored events, end to end (goal: ≤ 200 ms p95)."""
    tenant_id, store_id = uuid.uuid4(), uuid.uuid4()
    _load_stream(tenant_id, store_id)
    body = orjson.dumps(
        {"tenant_id": str(tenant_id), "store_id": str(store_id), "sequence_start": 1, "sequence_end": EVENTS}
    )

    def reset() -> None:
        with connection.cursor() as cursor:
            for table in ("log_checkpoints", "log_tiles", "commitments"):
                cursor.execute(
                    f"DELETE FROM {table} WHERE tenant_id = %s AND store_id = %s",  # noqa: S608 (fixed names)
                    [tenant_id, store_id],
                )

    def create() -> dict[str, object]:
        response = admin_client.post("/api/v1/ves/commitments", data=body, content_type="application/json")
        assert response.status_code == 200, response.content
        return dict(response.json())

    benchmark.extra_info["events"] = EVENTS
    created = benchmark.pedantic(create, setup=reset, rounds=21, iterations=1, warmup_rounds=1)  # type: ignore[no-untyped-call]

    leaves = _python_leaves(tenant_id, store_id)
    assert created["merkle_root"] == ves_merkle.merkle_root(leaves).hex()
    assert (created["leaf_count"], created["padded_leaf_count"], created["tree_depth"]) == (EVENTS, 16_384, 14)
    checkpoint = admin_client.get(f"/api/v1/ves/log/checkpoint?tenant_id={tenant_id}&store_id={store_id}").json()
    signed = verify_checkpoint(checkpoint["checkpoint"], public_key_from_seed(SEED), key_name="bench.test")
    assert signed.checkpoint.tree_size == EVENTS
    assert signed.checkpoint.root_hash == rfc6962.root([rfc6962.leaf_hash(leaf) for leaf in leaves])
