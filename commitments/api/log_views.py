"""RFC 6962 log endpoints of a stream: checkpoints, inclusion and consistency proofs.

``/api/v1/ves/log/...`` for VES streams and ``/api/v1/log/...`` for legacy streams. The log of a
stream covers its committed events; its size is the latest checkpoint's ``tree_size``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from rest_framework.request import Request
from rest_framework.response import Response

from commitments.api import openapi as shapes
from commitments.selectors import log_checkpoint_get, log_consistency_proof, log_inclusion_proof
from commitments.transparency import CheckpointRow, sequencer_keys
from sequencer_project.api.fields import query_int, query_int_optional
from sequencer_project.api.principal import Permission
from sequencer_project.api.tenancy import TenantApiMixin
from streams.kinds import StreamKind


def _checkpoint_output(c: CheckpointRow) -> dict[str, Any]:
    return {
        "tree_size": c.tree_size,
        "root_hash": c.root_hash.hex(),
        "batch_id": c.batch_id,
        "created_at": c.created_at,
        "checkpoint": c.note,
    }


def _size_param(request: Request, name: str) -> int | None:
    """An optional log size; ``None`` (the latest) when absent."""
    return query_int_optional(request, name, minimum=0)


class _LogApi(TenantApiMixin):
    kind: ClassVar[StreamKind]


class _CheckpointApi(_LogApi):
    """``GET .../log/checkpoint?tenant_id&store_id[&tree_size]``: the signed note and its fields."""

    def get(self, request: Request) -> Response:
        tenant_id, store_id = self.queried_stream(Permission.READ)
        checkpoint = log_checkpoint_get(
            tenant_id=tenant_id, store_id=store_id, kind=self.kind, tree_size=_size_param(request, "tree_size")
        )
        return Response(_checkpoint_output(checkpoint))


class _InclusionApi(_LogApi):
    """``GET .../log/proofs/inclusion?tenant_id&store_id&sequence_number[&tree_size]``."""

    def get(self, request: Request) -> Response:
        tenant_id, store_id = self.queried_stream(Permission.READ)
        seq, size = query_int(request, "sequence_number", default=0, minimum=1), _size_param(request, "tree_size")
        proof = log_inclusion_proof(
            tenant_id=tenant_id, store_id=store_id, kind=self.kind, sequence_number=seq, tree_size=size
        )
        return Response(
            {
                "sequence_number": proof.sequence_number,
                "leaf_index": proof.leaf_index,
                "tree_size": proof.tree_size,
                "leaf_hash": proof.leaf_hash.hex(),
                "root_hash": proof.root_hash.hex(),
                "proof": [p.hex() for p in proof.proof],
            }
        )


class _ConsistencyApi(_LogApi):
    """``GET .../log/proofs/consistency?tenant_id&store_id&first[&second]``: ``first`` is required
    (absent or empty: 400 ``invalid_parameter``), ``second`` is the latest size when absent or empty."""

    def get(self, request: Request) -> Response:
        tenant_id, store_id = self.queried_stream(Permission.READ)
        # A default below the minimum makes ``first`` required, ``first=`` included.
        first, second = query_int(request, "first", default=-1, minimum=0), _size_param(request, "second")
        proof = log_consistency_proof(
            tenant_id=tenant_id, store_id=store_id, kind=self.kind, first=first, second=second
        )
        return Response(
            {
                "first": proof.first,
                "second": proof.second,
                "first_root": proof.first_root.hex(),
                "second_root": proof.second_root.hex(),
                "proof": [p.hex() for p in proof.proof],
            }
        )


@shapes.log_checkpoint(ves=True)
class VesCheckpointApi(_CheckpointApi):
    kind = StreamKind.VES


@shapes.log_inclusion(ves=True)
class VesInclusionApi(_InclusionApi):
    kind = StreamKind.VES


@shapes.log_consistency(ves=True)
class VesConsistencyApi(_ConsistencyApi):
    kind = StreamKind.VES


@shapes.log_checkpoint(ves=False)
class LegacyCheckpointApi(_CheckpointApi):
    kind = StreamKind.LEGACY


@shapes.log_inclusion(ves=False)
class LegacyInclusionApi(_InclusionApi):
    kind = StreamKind.LEGACY


@shapes.log_consistency(ves=False)
class LegacyConsistencyApi(_ConsistencyApi):
    kind = StreamKind.LEGACY


@shapes.sequencer_keys
class SequencerKeysApi(TenantApiMixin):
    """``GET /api/v1/sequencer/keys``: the public keys checkpoints (and, the current one, VES
    receipts) are signed with, for a verifier to pin (docs/proofs.md, "The sequencer's keys")."""

    def get(self, request: Request) -> Response:
        self.principal.require(Permission.READ)
        return Response(
            {
                "sequencer_id": settings.VES_SEQUENCER_ID,
                "key_name": settings.CHECKPOINT_SEQUENCER_NAME,
                "keys": [
                    {
                        "public_key": k.public_key.hex(),
                        "note_key_id": k.note_key_id.hex(),
                        "status": "current" if k.current else "previous",
                    }
                    for k in sequencer_keys()
                ],
            }
        )
