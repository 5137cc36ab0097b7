"""The audit row of an admin-API change to an x402 batch (docs/projections.md, "Operator admin")."""

from __future__ import annotations

from audit.services import audit_record
from payments.models import PaymentBatch


def batch_audit_record(*, actor: str, verb: str, batch: PaymentBatch, **detail: object) -> None:
    """``x402_batch.<verb>`` for ``batch`` naming ``actor``, with its store and ``detail``.
    Caller holds the change's transaction."""
    audit_record(
        actor=actor,
        action=f"x402_batch.{verb}",
        target_type="x402_batch",
        target_id=str(batch.batch_id),
        tenant_id=batch.tenant_id,
        detail={"store_id": str(batch.store_id), **detail},
    )
