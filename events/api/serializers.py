"""Response shapes of the events API (snake_case, as the reference's legacy endpoints).

Plain functions building dicts: the renderer (orjson) writes UUIDs and datetimes itself.
"""

from __future__ import annotations

from typing import Any

import orjson

from events.selectors import StoredEvent
from events.services.ingest import IngestResult


def event_output(event: StoredEvent) -> dict[str, Any]:
    """``SequencedEvent``: ``{"envelope": {...}, "sequenced_at": ...}`` (optional fields omitted)."""
    envelope: dict[str, Any] = {
        "envelope_version": event.envelope_version,
        "event_id": event.event_id,
        "tenant_id": event.tenant_id,
        "store_id": event.store_id,
        "entity_type": event.entity_type,
        "entity_id": event.entity_id,
        "event_type": event.event_type,
        "payload": orjson.Fragment(event.payload_json),  # the stored bytes (ADR 0050): spliced, not re-parsed
        "payload_hash": event.payload_hash.hex(),
        "created_at": event.created_at,
        "sequence_number": event.sequence_number,
        "source_agent": event.source_agent,
    }
    if event.command_id is not None:
        envelope["command_id"] = event.command_id
    if event.base_version is not None:
        envelope["base_version"] = event.base_version
    if event.signature is not None:
        envelope["signature"] = list(event.signature)
    return {"envelope": envelope, "sequenced_at": event.sequenced_at}


def ingest_output(result: IngestResult) -> dict[str, Any]:
    body: dict[str, Any] = {
        "batch_id": result.batch_id,
        "events_accepted": result.accepted,
        "events_rejected": len(result.rejections),
        "assigned_sequence_start": result.sequence_start,
        "assigned_sequence_end": result.sequence_end,
        "head_sequence": result.head,
        "receipts": [
            {"event_id": r.event_id, "sequence_number": r.sequence_number, "replayed": r.replayed}
            for r in result.receipts
        ],
    }
    if result.rejections:
        body["rejections"] = [
            {"event_id": r.event_id, "reason": r.reason, "message": r.message} for r in result.rejections
        ]
    return body
