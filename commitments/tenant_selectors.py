"""Reads of a commitment's tenant by its batch id alone (docs/scaling.md, "Paths that fan out").

Only for callers that do not have the tenant yet: an anchoring task queued by the previous
release with the batch id alone, and the anchoring endpoint's caller that passes none. When
distributed this read goes to every shard; ``commitments_batch_id_idx`` keeps it off a scan.
"""

from __future__ import annotations

import uuid

from commitments.models import Commitment


def commitment_tenant_id(batch_id: uuid.UUID) -> uuid.UUID | None:
    """The tenant of commitment ``batch_id``, ``None`` when there is none."""
    return Commitment.objects.filter(batch_id=batch_id).values_list("tenant_id", flat=True).first()
