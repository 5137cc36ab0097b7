"""RFC 6962 log endpoints of a stream: checkpoints, inclusion and consistency proofs.

``/api/v1/ves/log/...`` for VES streams and ``/api/v1/log/...`` for legacy streams. The log of a
stream covers its committed events; its size is the latest checkpoint's ``tree_size``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rest_framework.request import Request
from rest_framework.response import Response

from commitments import errors
from commitments.api import openapi as shapes
from commitments.transparency import CheckpointRow, checkpoint_get, log_open
from sequencer_project.api.principal import Permission
from sequencer_project.api.tenancy import TenantApiMixin, query_int
from streams.kinds import StreamKind


def _checkpoint_output(c: CheckpointRow) -> dict[str, Any]:
    return {
        "tree_size": c.tree_size,
        "root_hash": c.root_hash.hex(),
        "batch_id": c.batch_id,
        "created_at": c.created_at,
        "checkpoint": c.note,
    }


class _LogApi(TenantApiMixin):
    kind: ClassVar[StreamKind]

    def latest(self) -> tuple[Any, Any, CheckpointRow]:
        tenant_id, store_id = self.queried_stream(Permission.READ)
        latest = checkpoint_get(tenant_id=tenant_id, store_id=store_id, kind=self.kind, tree_size=None)
        if latest is None:
            raise errors.CheckpointNotFoundError("This stream has no commitment yet, so its log is empty.")
        return tenant_id, store_id, latest

    def size_param(self, request: Request, name: str, latest: CheckpointRow, *, default: int | None = None) -> int:
        size = query_int(request, name, default=latest.tree_size if default is None else default, minimum=0)
        if size > latest.tree_size:
            raise errors.InvalidTreeSizeError(
                f"'{name}' {size} is beyond the log's size {latest.tree_size}.", tree_size=latest.tree_size
            )
        return size


class _CheckpointApi(_LogApi):
    """``GET .../log/checkpoint?tenant_id&store_id[&tree_size]``: the signed note and its fields."""

    def get(self, request: Request) -> Response:
        tenant_id, store_id, latest = self.latest()
        checkpoint = latest
        if request.query_params.get("tree_size"):
            size = self.size_param(request, "tree_size", latest)
            found = checkpoint_get(tenant_id=tenant_id, store_id=store_id, kind=self.kind, tree_size=size)
            if found is None:
                raise errors.CheckpointNotFoundError(f"No checkpoint was signed at size {size}.")
            checkpoint = found
        if checkpoint.note is None:
            raise errors.CheckpointUnsignedError("Set VES_SEQUENCER_SIGNING_KEY to sign checkpoints.")
        return Response(_checkpoint_output(checkpoint))


class _InclusionApi(_LogApi):
    """``GET .../log/proofs/inclusion?tenant_id&store_id&sequence_number[&tree_size]``."""

    def get(self, request: Request) -> Response:
        tenant_id, store_id, latest = self.latest()
        seq = query_int(request, "sequence_number", default=0, minimum=1)
        size = self.size_param(request, "tree_size", latest)
        if seq > size:
            raise errors.InvalidTreeSizeError(f"Sequence {seq} is not in the log's first {size} entries.")
        log = log_open(tenant_id=tenant_id, store_id=store_id, kind=self.kind, size=latest.tree_size, proofs_only=True)
        proof = log.inclusion_proof(seq - 1, size)
        leaf = log.store.get_nodes([(0, seq - 1)])[0]
        return Response(
            {
                "sequence_number": seq,
                "leaf_index": seq - 1,
                "tree_size": size,
                "leaf_hash": leaf.hex(),
                "root_hash": log.root(size).hex(),
                "proof": [p.hex() for p in proof],
            }
        )


class _ConsistencyApi(_LogApi):
    """``GET .../log/proofs/consistency?tenant_id&store_id&first[&second]``."""

    def get(self, request: Request) -> Response:
        tenant_id, store_id, latest = self.latest()
        second = self.size_param(request, "second", latest)
        first = query_int(request, "first", default=0, minimum=0)
        if first > second:
            raise errors.InvalidTreeSizeError(f"'first' {first} is beyond 'second' {second}.")
        log = log_open(tenant_id=tenant_id, store_id=store_id, kind=self.kind, size=latest.tree_size, proofs_only=True)
        proof = log.consistency_proof(first, second) if 0 < first < second else []
        return Response(
            {
                "first": first,
                "second": second,
                "first_root": log.root(first).hex(),
                "second_root": log.root(second).hex(),
                "proof": [p.hex() for p in proof],
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
