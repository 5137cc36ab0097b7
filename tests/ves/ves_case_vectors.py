"""Loaders for the VES vectors in ``tests/vectors`` (see its README for their origin)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from ves.hashes import EventSigningFields

VECTOR_DIR = Path(__file__).parents[1] / "vectors"
CASES: list[dict[str, Any]] = json.loads((VECTOR_DIR / "ves_cases.json").read_text("utf-8"))
SIG_1: dict[str, Any] = json.loads((VECTOR_DIR / "ves_sig_1_test_vectors.json").read_text("utf-8"))
ENC_1: dict[str, Any] = json.loads((VECTOR_DIR / "ves_enc_1_test_vectors.json").read_text("utf-8"))

WIRE_FIELDS = (
    "ves_version",
    "event_id",
    "tenant_id",
    "store_id",
    "source_agent_id",
    "agent_key_id",
    "entity_type",
    "entity_id",
    "event_type",
    "created_at",
    "payload_kind",
    "payload_plain_hash",
    "payload_cipher_hash",
    "agent_signature",
)

EVENTS: list[tuple[int, int, dict[str, Any], dict[str, Any]]] = [
    (ci, ei, case, event) for ci, case in enumerate(CASES) for ei, event in enumerate(case["events"])
]


def unhex(text: str) -> bytes:
    return bytes.fromhex(text.removeprefix("0x"))


def fields_of(event: dict[str, Any]) -> EventSigningFields:
    return EventSigningFields(
        ves_version=event["ves_version"],
        tenant_id=uuid.UUID(event["tenant_id"]),
        store_id=uuid.UUID(event["store_id"]),
        event_id=uuid.UUID(event["event_id"]),
        source_agent_id=uuid.UUID(event["source_agent_id"]),
        agent_key_id=event["agent_key_id"],
        entity_type=event["entity_type"],
        entity_id=event["entity_id"],
        event_type=event["event_type"],
        created_at=event["created_at"],
        payload_kind=event["payload_kind"],
        payload_plain_hash=unhex(event["payload_plain_hash"]),
        payload_cipher_hash=unhex(event["payload_cipher_hash"]),
    )


def wire_event(event: dict[str, Any]) -> dict[str, Any]:
    """The event as an agent sends it: the envelope fields plus ``payload`` or ``payload_encrypted``."""
    out = {name: event[name] for name in WIRE_FIELDS}
    if event["payload_kind"] == 0:
        out["payload"] = event["payload"]
    else:
        out["payload_encrypted"] = event["payload_encrypted"]
    return out
