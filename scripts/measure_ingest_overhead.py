"""What the schema registry and payload encryption add per legacy single-event ingest request.

Times, in this process with warm caches, the two steps the schema registry and encryption put on the path of
``POST /api/v1/events/ingest`` with one event: ``schema_failures`` (mode lookup + one event
type lookup + validation when a schema exists) and the ``SSE1`` seal of the payload.
Run against a migrated database: ``.venv/bin/python scripts/measure_ingest_overhead.py``.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sequencer_project.settings")

import django

django.setup()

import orjson  # noqa: E402

from events.payload_crypto import encrypt_blob, parse_keyring, payload_aad  # noqa: E402
from schemas.registry import schema_failures  # noqa: E402
from schemas.services import schema_register  # noqa: E402

ROUNDS = 3000
PAYLOAD = {"total": 42, "currency": "USD", "lines": [{"sku": "A-1", "qty": 2}]}
SCHEMA = {
    "type": "object",
    "properties": {
        "total": {"type": "integer", "minimum": 0},
        "currency": {"type": "string"},
        "lines": {"type": "array", "items": {"type": "object", "required": ["sku", "qty"]}},
    },
    "required": ["total", "currency"],
}


def per_call_us(fn: Callable[[], object]) -> float:
    fn()
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(ROUNDS):
            fn()
        best = min(best, (time.perf_counter() - start) / ROUNDS)
    return best * 1e6


def main() -> None:
    tenant_id = uuid.uuid4()
    schema_register(tenant_id=tenant_id, event_type="order.validated", schema_json=SCHEMA, actor="script")
    without = per_call_us(lambda: schema_failures(tenant_id=tenant_id, events=[("order.free", PAYLOAD, False)]))
    with_schema = per_call_us(
        lambda: schema_failures(tenant_id=tenant_id, events=[("order.validated", PAYLOAD, False)])
    )
    key = parse_keyring("1:" + "ab" * 32).newest
    assert key is not None
    body = orjson.dumps(PAYLOAD)
    ids = (uuid.uuid4(), uuid.uuid4(), uuid.uuid4())
    seal = per_call_us(lambda: encrypt_blob(key, body, payload_aad(*ids, 1, "order", "order-1", "order.created")))
    print(f"schema check, type without schema: {without:.1f} us/request")
    print(f"schema check, type with schema:    {with_schema:.1f} us/request")
    print(f"SSE1 seal + AAD ({len(body)} B payload): {seal:.1f} us/request")


if __name__ == "__main__":
    main()
