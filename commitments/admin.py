"""Read-only admin of commitments and their signed checkpoints.

Rows are written only by the commitment service. ``log_checkpoints`` has a composite key, which
the Django admin cannot register, so each commitment's page shows the checkpoint signed when it
was sealed (tree size = the commitment's ``sequence_end``). The admin reads across tenants by
design, by batch id alone on the change page: a coordinator-only path (docs/scaling.md, "Paths
that fan out"); it has no actions that write. A commitment's page shows its anchoring state, given
up or not (re-armed with ``manage.py anchor_rearm``, never here).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from commitments.models import Commitment
from commitments.services.anchoring import commitment_anchor_attempts
from commitments.transparency import checkpoint_get
from sequencer_project.admin_base import ReadOnlyAdmin, hex_bytes_shown
from sequencer_project.admin_lists import IndexedSearch, indexed_values_filter
from streams.kinds import StreamKind


@admin.register(Commitment)
class CommitmentAdmin(IndexedSearch, ReadOnlyAdmin):
    list_display = (
        "batch_id",
        "tenant_id",
        "store_id",
        "stream_kind",
        "sequence_start",
        "sequence_end",
        "committed_at",
    )
    list_filter = (indexed_values_filter("stream_kind", "stream kind"),)
    uuid_search_fields = ("batch_id", "tenant_id")  # a whole id: each has an index
    search_help_text = "A batch id or a tenant id, whole."

    @admin.display(description="signed checkpoint")
    def checkpoint(self, obj: Commitment) -> str:
        row = checkpoint_get(
            tenant_id=obj.tenant_id, store_id=obj.store_id, kind=StreamKind(obj.stream_kind), tree_size=obj.sequence_end
        )
        if row is None:
            return "—"
        return row.note or f"tree size {row.tree_size}, root {row.root_hash.hex()}"

    @admin.display(description="anchoring")
    def anchoring(self, obj: Commitment) -> str:
        """Failed sends, given up (``ANCHOR_MAX_ATTEMPTS``; ``manage.py anchor_rearm``), the kept
        transaction and the last failure (docs/commitments.md, "Anchoring")."""
        states = commitment_anchor_attempts(batch_ids=[obj.batch_id], tenant_id=obj.tenant_id)
        if not states:
            return "—"
        state = states[0]
        if state.anchored:
            return "anchored"
        parts = [f"{state.attempts} failed sends"]
        if state.given_up_at is not None:
            parts.append(f"GIVEN UP at {state.given_up_at.isoformat()} (re-arm: manage.py anchor_rearm)")
        if state.pending_tx_hash is not None:
            parts.append(f"pending transaction 0x{state.pending_tx_hash.hex()}")
        if state.error_at is not None:
            parts.append(f"last failure at {state.error_at.isoformat()}")
        return "; ".join(parts)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        names = [field.name for field in Commitment._meta.fields]
        return [*hex_bytes_shown(Commitment, names), "checkpoint", "anchoring"]
