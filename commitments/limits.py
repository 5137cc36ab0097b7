"""Page sizes of the commitment lists: enforced by ``commitments.api.views`` and
``commitments.api.anchor_compat_views``, published by ``commitments.api.openapi``, which all
read them from here. A ``limit`` above its maximum is capped, not refused."""

from __future__ import annotations

MAX_LIST_LIMIT = 1000
DEFAULT_PENDING_LIMIT = 1000
MAX_PENDING_LIMIT = 5000
