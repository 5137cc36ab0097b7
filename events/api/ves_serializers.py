"""Response shapes of the VES endpoints: ingest response camelCase, event envelopes snake_case.

Envelope hashes and signatures are ``0x`` hex (as the reference serialises the envelope);
receipt hashes and signatures are bare hex (as the reference's ingest response), and an ingest
receipt's ``sequencedAt`` is chrono's ``to_rfc3339()`` (``+00:00``), as the reference's ingest
writes it, while an event's ``sequenced_at`` is serde's (``Z``), as is the receipt beside it.
"""

from __future__ import annotations

from typing import Any

from events.selectors import StoredVesEvent
from events.services.ves_ingest import VesIngestResult, VesReceipt
from sequencer_project.api.timestamps import chrono_rfc3339


def receipt_output(receipt: VesReceipt, *, as_ingest: bool = True) -> dict[str, Any]:
    """A receipt as VES ingest answers it (``sequencedAt`` as the reference's ``to_rfc3339``,
    ``+00:00``), or, ``as_ingest=False``, beside its event in reads and bundles, where
    ``sequencedAt`` is written as the event's ``sequenced_at`` (``Z``): verifiers before
    2026-12-07 compare the two as strings (``ves/bundle.py``)."""
    return {
        "sequencerId": receipt.sequencer_id,
        "eventId": receipt.event_id,
        "sequenceNumber": receipt.sequence_number,
        "sequencedAt": chrono_rfc3339(receipt.sequenced_at) if as_ingest else receipt.sequenced_at,
        "receiptHash": receipt.receipt_hash.hex(),
        "signatureAlg": receipt.signature_alg,
        "sequencerSignature": receipt.sequencer_signature.hex(),
        "sequencerKeyVersion": receipt.sequencer_key_version,
    }


def ves_ingest_output(result: VesIngestResult) -> dict[str, Any]:
    body: dict[str, Any] = {
        "batchId": result.batch_id,
        "eventsAccepted": result.accepted,
        "eventsRejected": len(result.rejections),
        "sequenceStart": result.sequence_start,
        "sequenceEnd": result.sequence_end,
        "headSequence": result.head,
    }
    if result.rejections:
        body["rejections"] = [
            {"event_id": r.event_id, "reason": r.reason, "message": r.message} for r in result.rejections
        ]
    if result.receipts:
        body["receipts"] = [receipt_output(r) for r in result.receipts]
    return body


def ves_event_output(event: StoredVesEvent) -> dict[str, Any]:
    """``{"envelope": {...as submitted...}, "sequence_number", "receipt": {...}}``."""
    envelope: dict[str, Any] = {
        "ves_version": event.ves_version,
        "event_id": event.event_id,
        "tenant_id": event.tenant_id,
        "store_id": event.store_id,
        "source_agent_id": event.source_agent_id,
        "agent_key_id": event.agent_key_id,
        "entity_type": event.entity_type,
        "entity_id": event.entity_id,
        "event_type": event.event_type,
        "created_at": event.created_at,
        "payload_kind": event.payload_kind,
        "payload_plain_hash": "0x" + event.payload_plain_hash.hex(),
        "payload_cipher_hash": "0x" + event.payload_cipher_hash.hex(),
        "agent_signature": "0x" + event.agent_signature.hex(),
    }
    if event.payload_kind == 0:
        envelope["payload"] = event.payload
    else:
        envelope["payload_encrypted"] = event.payload_encrypted
    if event.command_id is not None:
        envelope["command_id"] = event.command_id
    if event.base_version is not None:
        envelope["base_version"] = event.base_version
    receipt = VesReceipt(
        sequencer_id=event.sequencer_id,
        event_id=event.event_id,
        sequence_number=event.sequence_number,
        sequenced_at=event.sequenced_at,
        receipt_hash=event.receipt_hash,
        signature_alg=event.signature_alg,
        sequencer_signature=event.sequencer_signature,
        sequencer_key_version=event.sequencer_key_version,
    )
    return {
        "envelope": envelope,
        "sequence_number": event.sequence_number,
        "sequenced_at": event.sequenced_at,
        "event_signing_hash": "0x" + event.event_signing_hash.hex(),
        "receipt": receipt_output(receipt, as_ingest=False),
    }
