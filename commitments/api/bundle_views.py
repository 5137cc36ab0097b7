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

from commitments import errors
from commitments.api import openapi as shapes
from commitments.api.serializers import legacy_commitment_output, proof_output, ves_commitment_output
from commitments.proofs import commitment_proof
from commitments.selectors import commitment_covering
from commitments.transparency import checkpoint_get, log_open
from events import errors as event_errors
from events.api.serializers import event_output
from events.api.ves_serializers import ves_event_output
from events.selectors import event_get_for_tenant, ves_event_get_for_tenant
from sequencer_project.api.principal import Permission
from sequencer_project.api.tenancy import TenantApiMixin, parse_uuid, query_uuid, query_uuid_optional
from streams.kinds import StreamKind
from ves.bundle import BUNDLE_FORMAT


class _BundleApi(TenantApiMixin):
    kind: ClassVar[StreamKind]

    def get(self, request: Request, event_id: str) -> Response:
        parsed_id = parse_uuid(event_id, "event_id")
        principal = self.principal
        principal.require(Permission.READ)
        tenant_id = (
            query_uuid(request, "tenant_id")
            if principal.tenant_id is None
            else query_uuid_optional(request, "tenant_id") or principal.tenant_id
        )
        event: Any = None
        if self.visible(tenant_id, None):
            if self.kind is StreamKind.VES:
                event = ves_event_get_for_tenant(tenant_id=tenant_id, event_id=parsed_id)
            else:
                event = event_get_for_tenant(tenant_id=tenant_id, event_id=parsed_id)
        if event is None or not self.visible(event.tenant_id, event.store_id):
            raise event_errors.EventNotFoundError(f"No event {parsed_id} is visible to this credential.")
        seq = event.sequence_number
        commitment = commitment_covering(
            tenant_id=event.tenant_id, store_id=event.store_id, kind=self.kind, sequence_number=seq
        )
        checkpoint = checkpoint_get(tenant_id=event.tenant_id, store_id=event.store_id, kind=self.kind, tree_size=None)
        if commitment is None or checkpoint is None:
            raise errors.EventNotCommittedError(f"Event {parsed_id} (sequence {seq}) is not committed yet.")
        proof = commitment_proof(commitment=commitment, sequence_number=seq)
        log = log_open(
            tenant_id=event.tenant_id,
            store_id=event.store_id,
            kind=self.kind,
            size=checkpoint.tree_size,
            proofs_only=True,
        )
        if self.kind is StreamKind.VES:
            event_body, commitment_body, root_name = (
                ves_event_output(event),
                ves_commitment_output(commitment),
                "merkle_root",
            )
        else:
            event_body, commitment_body, root_name = (
                event_output(event),
                legacy_commitment_output(commitment),
                "events_root",
            )
        anchor = (
            {
                "chain_id": commitment.chain_id,
                "chain_tx_hash": commitment.chain_tx_hash.hex(),
                "chain_block_number": commitment.chain_block_number,
            }
            if commitment.chain_tx_hash is not None
            else None
        )
        return Response(
            {
                "format": BUNDLE_FORMAT,
                "stream_kind": "ves" if self.kind is StreamKind.VES else "legacy",
                "event": event_body,
                "commitment": commitment_body,
                "inclusion_proof": proof_output(proof, commitment, root_name=root_name),
                "log": {
                    "tree_size": checkpoint.tree_size,
                    "leaf_index": seq - 1,
                    "leaf_hash": log.store.get_nodes([(0, seq - 1)])[0].hex(),
                    "root_hash": checkpoint.root_hash.hex(),
                    "proof": [p.hex() for p in log.inclusion_proof(seq - 1, checkpoint.tree_size)],
                    "checkpoint": checkpoint.note,
                },
                "anchor": anchor,
            }
        )


@shapes.bundle(ves=True)
class VesBundleApi(_BundleApi):
    kind = StreamKind.VES


@shapes.bundle(ves=False)
class LegacyBundleApi(_BundleApi):
    kind = StreamKind.LEGACY
