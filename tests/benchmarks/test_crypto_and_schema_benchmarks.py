"""``encrypt_aes_256``, ``encrypt_hpke`` and schema validation (figures in docs/performance.md).

Run the whole suite with ``make bench``; the regression gate is ``make bench-check`` (ADR 0007).
Under the normal (xdist) suite pytest-benchmark runs each body once, as a smoke test.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest

from events.payload_crypto import decrypt_blob, encrypt_blob, parse_keyring, payload_aad
from schemas.registry import build_validator, validate_payload
from tests.benchmarks.conftest import Calibrated
from ves.hpke import derive_key_pair, open_base, seal_base

PAYLOAD_1KB = os.urandom(1024)
AAD = payload_aad(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), 1, "order", "order-1", "order.created")
RING = parse_keyring("1:" + "ab" * 32)
ORDER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "total": {"type": "integer", "minimum": 0},
        "currency": {"type": "string", "enum": ["USD", "EUR"]},
        "lines": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"sku": {"type": "string"}, "qty": {"type": "integer", "minimum": 1}},
                "required": ["sku", "qty"],
            },
        },
    },
    "required": ["total", "currency"],
}
ORDER = {"total": 42, "currency": "USD", "lines": [{"sku": "A-1", "qty": 2}]}


def test_encrypt_aes_256(calibrated: Calibrated) -> None:
    """AES-256-GCM ``SSE1`` seal of a 1 KB payload (at-rest format, with AAD)."""
    assert RING.newest is not None
    key = RING.newest
    blob = calibrated(lambda: encrypt_blob(key, PAYLOAD_1KB, AAD), rounds=3000, cpu_clock=False)
    assert decrypt_blob(RING, 1, blob, AAD) == PAYLOAD_1KB


def test_encrypt_hpke(calibrated: Calibrated) -> None:
    """HPKE base mode X25519/HKDF-SHA256/AES-256-GCM seal of a 1 KB payload to one recipient."""
    private_key, public_key = derive_key_pair(b"benchmark-recipient")
    enc, sealed = calibrated(lambda: seal_base(public_key, b"info", b"aad", PAYLOAD_1KB), rounds=400)
    assert open_base(private_key, enc, b"info", b"aad", sealed) == PAYLOAD_1KB


@pytest.mark.parametrize("payload", [ORDER, {"total": "x", "lines": [{"qty": 0}]}], ids=["valid", "invalid"])
def test_schema_validation_per_event(calibrated: Calibrated, payload: Any) -> None:
    """Validating one order payload with a cached validator (the ingest hot path)."""
    validator = build_validator(ORDER_SCHEMA)
    errors = calibrated(lambda: validate_payload(validator, payload), rounds=1000, cpu_clock=False)
    assert (errors == ()) is (payload is ORDER)
