"""Reads of a payment row's tenant by its id alone (docs/scaling.md, "Paths that fan out").

Only for messages queued before tasks carried their tenant: every other read names the
tenant. When distributed these reads go to every shard; the plain index on each id keeps them
off a scan.
"""

from __future__ import annotations

import uuid

from payments.models import PaymentBatch


def payment_batch_tenant_id(batch_id: uuid.UUID) -> uuid.UUID | None:
    """The tenant of batch ``batch_id``, ``None`` when there is none. Index: ``x402_payment_batches_id_idx``."""
    return PaymentBatch.objects.filter(batch_id=batch_id).values_list("tenant_id", flat=True).first()
