"""Anchoring endpoints (REFERENCE.md §2.2): 503 ``anchoring_unconfigured`` without a chain and key,
once the caller's rights for the operation are checked (a caller without them is refused as
when anchoring is configured)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.response import Response

from commitments.anchor_chain import anchoring_configured, require_anchoring
from commitments.api import openapi as shapes
from commitments.api.serializers import anchor_transaction_output
from commitments.api.views import CommitmentKindApi, range_bound
from commitments.services.anchoring import (
    AnchorResult,
    commitment_anchor_for_tenant,
    commitment_anchor_verify,
    commitment_commit_and_anchor,
)
from sequencer_project.api.fields import invalid_request, parse_uuid, request_fields
from sequencer_project.api.principal import Permission
from sequencer_project.api.tenancy import TenantApiMixin
from streams.kinds import StreamKind

DEFAULT_ANCHOR_MAX_EVENTS = 1024


def _anchor_output(result: AnchorResult) -> dict[str, Any]:
    c = result.commitment
    return {
        "batch_id": c.batch_id,
        "status": "already_anchored" if result.already_anchored else "anchored",
        **anchor_transaction_output(c),
        "merkle_root": c.merkle_root.hex(),
        "prev_state_root": c.prev_state_root.hex(),
        "new_state_root": c.new_state_root.hex(),
        "sequence_start": c.sequence_start,
        "sequence_end": c.sequence_end,
    }


class _AnchorOneApi(CommitmentKindApi):
    """``POST .../anchor`` ``{batch_id}``: anchor an existing commitment (admin)."""

    def post(self, request: Request) -> Response:
        self.principal.require(Permission.ADMIN)
        self.principal.refuse_agent_scope("anchor a stream's commitment")
        batch_id = request_fields(request).uuid("batch_id")
        require_anchoring()
        result = commitment_anchor_for_tenant(
            tenant_id=self.tenant_scope, batch_id=batch_id, kind=self.kind, visible=self.visible
        )
        return Response(_anchor_output(result))


class _AnchorVerifyApi(CommitmentKindApi):
    """``GET .../anchor/{batch_id}/verify``: read the anchor transaction back from the chain."""

    def get(self, request: Request, batch_id: str) -> Response:
        self.principal.require(Permission.READ)
        parsed = parse_uuid(batch_id, "batch_id")
        require_anchoring()
        verified = commitment_anchor_verify(
            tenant_id=self.tenant_scope, batch_id=parsed, kind=self.kind, visible=self.visible
        )
        return Response(
            {
                "batch_id": verified.commitment.batch_id,
                "anchored_on_chain": verified.check.anchored_on_chain,
                "reason": verified.check.reason,
                **anchor_transaction_output(verified.commitment),
            }
        )


@shapes.commit_and_anchor
class VesCommitAndAnchorApi(CommitmentKindApi):
    """``POST /api/v1/ves/commitments/anchor``: seal (explicit or automatic range) then anchor.

    Body ``{tenant_id, store_id, sequence_start?, sequence_end?, max_events?}``: both bounds or
    neither; the automatic range is ``last_end + 1 .. min(head, start + max_events - 1)``.
    """

    kind = StreamKind.VES

    def post(self, request: Request) -> Response:
        fields = request_fields(request)
        tenant_id, store_id = self.stream_for(fields.uuid("tenant_id"), fields.uuid("store_id"), Permission.ADMIN)
        self.principal.refuse_agent_scope("seal and anchor a stream's events")
        require_anchoring()
        has_start, has_end = fields.given("sequence_start"), fields.given("sequence_end")
        if has_start != has_end:
            given, missing = ("sequence_start", "sequence_end") if has_start else ("sequence_end", "sequence_start")
            raise invalid_request(missing, f"is required with {given} (give both bounds or neither).")
        sequence_range = (
            (range_bound(fields, "sequence_start"), range_bound(fields, "sequence_end")) if has_start else None
        )
        # The automatic range's length: not read with explicit bounds.
        max_events = (
            fields.integer("max_events", minimum=1, default=DEFAULT_ANCHOR_MAX_EVENTS)
            if sequence_range is None
            else DEFAULT_ANCHOR_MAX_EVENTS
        )
        result = commitment_commit_and_anchor(
            tenant_id=tenant_id, store_id=store_id, kind=self.kind, sequence_range=sequence_range, max_events=max_events
        )
        return Response(_anchor_output(result))


@shapes.anchor_status
class AnchorStatusApi(TenantApiMixin):
    """``GET /api/v1/anchor/status``: whether anchoring is configured."""

    def get(self, request: Request) -> Response:
        self.principal.require(Permission.READ)
        enabled = anchoring_configured()
        message = (
            f"Anchoring to {settings.ANCHOR_TO_ADDRESS} is enabled."
            if enabled
            else "Anchoring is disabled: set ANCHOR_RPC_URL and ANCHOR_PRIVATE_KEY."
        )
        return Response({"anchor_enabled": enabled, "message": message})


@shapes.anchor_one(ves=True)
class VesAnchorApi(_AnchorOneApi):
    kind = StreamKind.VES


@shapes.anchor_verify(ves=True)
class VesAnchorVerifyApi(_AnchorVerifyApi):
    kind = StreamKind.VES


@shapes.anchor_one(ves=False)
class LegacyAnchorApi(_AnchorOneApi):
    kind = StreamKind.LEGACY


@shapes.anchor_verify(ves=False)
class LegacyAnchorVerifyApi(_AnchorVerifyApi):
    kind = StreamKind.LEGACY
