"""Reads of a projection dead letter's tenant by its id alone (docs/scaling.md, "Paths that fan out").

Only for callers that do not pass the tenant yet (the dead-letter endpoints' views, which have
checked the entry's tenant already): every other read names the tenant. When distributed this
read goes to every shard; ``projection_dead_letters_id_idx`` keeps it off a scan.
"""

from __future__ import annotations

import uuid

from events.models import ProjectionDeadLetter


def projection_dead_letter_tenant_id(dead_letter_id: int) -> uuid.UUID | None:
    """The tenant of dead letter ``dead_letter_id``, ``None`` when there is none."""
    return ProjectionDeadLetter.objects.filter(id=dead_letter_id).values_list("tenant_id", flat=True).first()
