"""Root-level routes of the separate anchor service (the reference's ``anchor_compat_router``).

``GET /v1/commitments/pending`` lists unanchored VES commitments of every tenant with ``0x`` hex;
``POST /v1/commitments/{batch_id}/anchored`` records the transaction that anchored one. Both are
for the bootstrap admin only (403 ``bootstrap_admin_required`` for any other credential).
"""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response

from commitments import errors
from commitments.api import openapi as shapes
from commitments.limits import DEFAULT_PENDING_LIMIT, MAX_PENDING_LIMIT
from commitments.selectors import CommitmentRow, commitments_pending_anchor
from commitments.services.anchoring import commitment_record_anchor
from sequencer_project.api.fields import (
    U32,
    U64,
    Fields,
    field_value_error,
    hex_bytes,
    parse_uuid,
    query_int,
    request_fields,
)
from sequencer_project.api.tenancy import TenantApiMixin

MAX_CHAIN_ID = U32[1]  # the reference stores it as u32


def _0x(value: bytes) -> str:
    return "0x" + value.hex()


def _pending_output(c: CommitmentRow) -> dict[str, Any]:
    return {
        "batch_id": c.batch_id,
        "tenant_id": c.tenant_id,
        "store_id": c.store_id,
        "prev_state_root": _0x(c.prev_state_root),
        "new_state_root": _0x(c.new_state_root),
        "events_root": _0x(c.merkle_root),
        "sequence_start": c.sequence_start,
        "sequence_end": c.sequence_end,
        "event_count": c.leaf_count,
        "committed_at": c.committed_at,
        "chain_tx_hash": _0x(c.chain_tx_hash) if c.chain_tx_hash is not None else None,
    }


def _tx_hash(fields: Fields) -> bytes:
    """``chain_tx_hash``: 32 bytes of hex, ``0x`` optional. Blanks around it are ignored: the
    anchor-service contract accepts a padded hash (``tests/contract/test_commitments_contract.py``)."""
    text = fields.text("chain_tx_hash", max_length=200)
    return hex_bytes(text.strip(), "chain_tx_hash", fields.error, lengths=(32,))


class _AnchorServiceApi(TenantApiMixin):
    def require_bootstrap_admin(self) -> None:
        if not self.principal.is_superadmin:
            raise errors.BootstrapAdminRequiredError("Only the bootstrap admin may use the anchor service's routes.")


@shapes.pending_anchors
class PendingAnchorsApi(_AnchorServiceApi):
    """``GET /v1/commitments/pending?limit``: ``{commitments, total}``, oldest first."""

    def get(self, request: Request) -> Response:
        self.require_bootstrap_admin()
        limit = query_int(request, "limit", default=DEFAULT_PENDING_LIMIT, minimum=0, maximum=MAX_PENDING_LIMIT)
        items = [_pending_output(c) for c in commitments_pending_anchor(limit=limit)] if limit else []
        return Response({"commitments": items, "total": len(items)})


@shapes.anchored_notice
class AnchoredNoticeApi(_AnchorServiceApi):
    """``POST /v1/commitments/{batch_id}/anchored`` ``{chain_tx_hash, chain_id, block_number?, gas_used?}``."""

    def post(self, request: Request, batch_id: str) -> Response:
        self.require_bootstrap_admin()
        parsed = parse_uuid(batch_id, "batch_id")
        fields = request_fields(request)
        record = fields.with_error(field_value_error(errors.InvalidAnchorRecordError))  # the hash and chain id
        # Every member's JSON type first (422, the reference's extractor), then the values (400).
        chain_id = record.integer("chain_id", maximum=U64[1])
        block_number = fields.optional_integer("block_number")
        fields.optional_integer("gas_used")  # accepted and checked, not stored (as the reference)
        tx_hash = _tx_hash(record)
        if chain_id > MAX_CHAIN_ID:
            raise record.error("chain_id", f"must be an integer in 0..{MAX_CHAIN_ID}.")
        result = commitment_record_anchor(
            batch_id=parsed, chain_id=chain_id, chain_tx_hash=tx_hash, chain_block_number=block_number
        )
        if result.already_anchored:
            return Response({"batch_id": parsed, "status": "already_anchored"})
        c = result.commitment
        return Response(
            {
                "batch_id": parsed,
                "status": "anchored",
                "chain_tx_hash": _0x(c.chain_tx_hash or b""),
                "chain_id": c.chain_id,
                "block_number": c.chain_block_number,
            }
        )
