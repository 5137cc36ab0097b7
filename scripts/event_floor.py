"""What a batched legacy event costs in the C libraries alone: the floor under the web's CPU.

Times, per event of the capacity runs' ``batch100-s64`` shape (100 events of ~1 KB payloads per
request), each step that ingest must do in a compiled library whatever Python glues it together:
the body's decode (msgspec), the payload's parse and its two serialisations (orjson), the three
SHA-256 digests (payload hash, envelope hash, the sealed payload's associated data), the AES-GCM
seal and its nonce, and the row's share of the statement's JSON. Nothing here touches Django or
PostgreSQL. Compare the sum with ``scripts/profile_ingest.py --batch 100 --payload-bytes 1000
--streams 64`` (the whole service in process) to see how much is Python around them.

    .venv/bin/python scripts/event_floor.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import timeit
import uuid
from collections.abc import Callable
from pathlib import Path

import msgspec
import orjson
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BATCH = 100
PAYLOAD = {"order_id": str(uuid.uuid4()), "total": 42, "note": "x" * 950}


class Event(msgspec.Struct):
    """The fields of the body's events, typed as ``events.legacy_decoder`` types them."""

    event_id: uuid.UUID
    tenant_id: uuid.UUID
    store_id: uuid.UUID
    entity_type: str
    entity_id: str
    event_type: str
    payload: msgspec.Raw
    created_at: str


class Body(msgspec.Struct):
    events: list[Event]


def _body() -> bytes:
    tenant, store = str(uuid.uuid4()), str(uuid.uuid4())
    return orjson.dumps(
        {
            "events": [
                {
                    "event_id": str(uuid.uuid4()),
                    "tenant_id": tenant,
                    "store_id": store,
                    "entity_type": "order",
                    "entity_id": f"order-{index}",
                    "event_type": "order.created",
                    "payload": PAYLOAD,
                    "created_at": "2026-01-01T00:00:00Z",
                }
                for index in range(BATCH)
            ]
        }
    )


def steps() -> dict[str, tuple[Callable[[], object], int]]:
    """Each step and how many events one call serves."""

    decoder = msgspec.json.Decoder(Body)
    body = _body()
    raw = bytes(decoder.decode(body).events[0].payload)
    payload = orjson.loads(raw)
    canonical = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
    preimage = os.urandom(16 * 5 + 4 + 40 + 32 + 1 + 1 + 8)  # the envelope hash's, in bytes
    aad_preimage = os.urandom(16 * 3 + 8 + 40)
    aead = AESGCM(os.urandom(32))
    nonce = os.urandom(12)
    row = {
        "tenant_id": uuid.uuid4(),
        "store_id": uuid.uuid4(),
        "sequence_number": 12345,
        "event_id": uuid.uuid4(),
        "command_id": None,
        "envelope_version": 1,
        "entity_type": "order",
        "entity_id": "order-1",
        "event_type": "order.created",
        "payload_format": 1,
        "payload_key_id": 1,
        "payload_hash": os.urandom(32).hex(),
        "envelope_hash": os.urandom(32).hex(),
        "base_version": None,
        "source_agent": uuid.uuid4(),
        "signature": None,
        "created_at": "2026-01-01T00:00:00+00:00",
    }
    rows = [row] * BATCH
    return {
        "decode the body (msgspec)": (lambda: decoder.decode(body), BATCH),
        "parse the payload (orjson)": (lambda: orjson.loads(raw), 1),
        "serialise it, sorted keys (orjson)": (lambda: orjson.dumps(payload, option=orjson.OPT_SORT_KEYS), 1),
        "serialise it to store (orjson)": (lambda: orjson.dumps(payload), 1),
        "payload hash (SHA-256)": (lambda: hashlib.sha256(canonical).digest(), 1),
        "envelope hash (SHA-256)": (lambda: hashlib.sha256(preimage).digest(), 1),
        "associated data (SHA-256)": (lambda: hashlib.sha256(aad_preimage).digest(), 1),
        "seal (AES-256-GCM)": (lambda: aead.encrypt(nonce, canonical, aad_preimage), 1),
        "nonces (os.urandom, one call a batch)": (lambda: os.urandom(12 * BATCH), BATCH),
        "rows' JSON (orjson)": (lambda: orjson.dumps(rows), BATCH),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    total = 0.0
    for name, (step, events) in steps().items():
        calls = max(2000, 200_000 // events)
        best = min(timeit.repeat(step, number=calls, repeat=args.rounds)) / calls / events * 1e6
        total += best
        print(f"{name:40} {best:6.2f} us/event")
    print(f"{'sum':40} {total:6.2f} us/event")


if __name__ == "__main__":
    main()
