"""Offline proof bundles: one JSON document that ``python -m ves verify`` checks without a server.

``GET /api/v1/ves/events/{event_id}/bundle`` and ``GET /api/v1/events/{event_id}/bundle``: the
event (with its receipt for VES), its commitment and inclusion proof, its RFC 6962 inclusion
proof under the latest signed checkpoint, and the anchor transaction if any. The format is
described in ``ves/bundle.py``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rest_framework.request import Request
from rest_framework.response import Response

from commitments.api import openapi as shapes
from commitments.api.serializers import (
    anchor_transaction_output,
    legacy_commitment_output,
    proof_output,
    ves_commitment_output,
)
from commitments.bundles import EventBundle, event_bundle_get
from events.api.serializers import event_output
from events.api.ves_serializers import ves_event_output
from events.selectors import StoredEvent, StoredVesEvent
from sequencer_project.api.fields import parse_uuid
from sequencer_project.api.principal import Permission
from sequencer_project.api.tenancy import TenantApiMixin
from streams.kinds import StreamKind
from ves.bundle import BUNDLE_FORMAT


def _bundle_output(bundle: EventBundle) -> dict[str, Any]:
    event, commitment, checkpoint = bundle.event, bundle.commitment, bundle.checkpoint
    if isinstance(event, StoredVesEvent):
        event_body, commitment_body, root_name = (
            ves_event_output(event),
            ves_commitment_output(commitment),
            "merkle_root",
        )
    else:
        assert isinstance(event, StoredEvent)
        event_body, commitment_body, root_name = (
            event_output(event),
            legacy_commitment_output(commitment),
            "events_root",
        )
    anchor = anchor_transaction_output(commitment) if commitment.chain_tx_hash is not None else None
    return {
        "format": BUNDLE_FORMAT,
        "stream_kind": "ves" if isinstance(event, StoredVesEvent) else "legacy",
        "event": event_body,
        "commitment": commitment_body,
        "inclusion_proof": proof_output(bundle.proof, commitment, root_name=root_name),
        "log": {
            "tree_size": checkpoint.tree_size,
            "leaf_index": event.sequence_number - 1,
            "leaf_hash": bundle.leaf_hash.hex(),
            "root_hash": checkpoint.root_hash.hex(),
            "proof": [p.hex() for p in bundle.log_proof],
            "checkpoint": checkpoint.note,
        },
        "anchor": anchor,
    }


class _BundleApi(TenantApiMixin):
    kind: ClassVar[StreamKind]

    def get(self, request: Request, event_id: str) -> Response:
        self.principal.require(Permission.READ)
        parsed_id = parse_uuid(event_id, "event_id")
        bundle = event_bundle_get(
            tenant_id=self.queried_tenant(), event_id=parsed_id, kind=self.kind, visible=self.visible
        )
        return Response(_bundle_output(bundle))


@shapes.bundle(ves=True)
class VesBundleApi(_BundleApi):
    kind = StreamKind.VES


@shapes.bundle(ves=False)
class LegacyBundleApi(_BundleApi):
    kind = StreamKind.LEGACY
