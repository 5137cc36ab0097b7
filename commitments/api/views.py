"""Commitment and proof endpoints, VES (``/api/v1/ves/...``) and legacy (``/api/v1/...``).

The reference's paths and field names (REFERENCE.md §2.2), with its quirks fixed: hex strings
everywhere, correct legacy proof directions, list endpoints that list every commitment (with an
``anchored`` filter), range errors as 400 problem+json. ``POST`` accepts any range up to the
head and answers 200, for a new or an existing commitment (ADR 0020).
"""

from __future__ import annotations

from typing import Any, ClassVar

from rest_framework.request import Request
from rest_framework.response import Response

from commitments import errors
from commitments.api import openapi as shapes
from commitments.api.serializers import legacy_commitment_output, proof_output, ves_commitment_output
from commitments.limits import MAX_LIST_LIMIT
from commitments.proofs import InclusionClaim, legacy_proof_verify, stream_proof_get, ves_proof_verify
from commitments.selectors import CommitmentRow, commitment_get_visible, commitment_list
from commitments.services.commitments import commitment_create
from sequencer_project.api.fields import (
    BIGINT_MAX,
    Fields,
    field_value_error,
    hex_bytes,
    invalid_request,
    parse_uuid,
    path_int,
    query_bool,
    query_int,
    query_uuid_optional,
    request_fields,
)
from sequencer_project.api.principal import Permission
from sequencer_project.api.tenancy import TenantApiMixin
from sequencer_project.db.tenant_scope import EVERY_TENANT
from streams.kinds import StreamKind
from ves import merkle as ves_merkle

# A hash that is not 32 bytes of hex, or a path too long, is the verify endpoints' own 400
# (invalid_proof_input); a member of the wrong JSON type is 422 invalid_request.
_PROOF_ERROR = field_value_error(errors.InvalidProofError)
# A range bound is any JSON integer (the body parser reads integers of -2**63 .. 2**64-1, and
# longer ones as floats): one outside 1 .. 2**63-1 is the endpoint's own 400
# invalid_commitment_range, as an empty range is (docs/commitments.md); a member of another
# JSON type (a string, a float, a boolean), absent or null is 422 invalid_request.
_RANGE_ERROR = field_value_error(errors.InvalidCommitmentRangeError)
_ANY_JSON_INTEGER = (-(2**63), 2**64 - 1)


def range_bound(fields: Fields, name: str) -> int:
    """Body member ``name`` as a commitment range bound (``sequence_start``, ``sequence_end``)."""
    return fields.with_error(_RANGE_ERROR).integer(name, minimum=1, maximum=BIGINT_MAX, type_range=_ANY_JSON_INTEGER)


def _hash_field(fields: Fields, name: str) -> bytes:
    return hex_bytes(fields.member(name), name, _PROOF_ERROR, lengths=(32,))


def _path_field(fields: Fields) -> tuple[bytes, ...]:
    value = fields.member("proof_path")
    if not isinstance(value, list):
        raise invalid_request("proof_path", "must be a list of hex strings.")
    if len(value) > ves_merkle.MAX_PROOF_ELEMENTS:
        raise _PROOF_ERROR("proof_path", f"has at most {ves_merkle.MAX_PROOF_ELEMENTS} elements.")
    return tuple(hex_bytes(item, f"proof_path[{i}]", _PROOF_ERROR, lengths=(32,)) for i, item in enumerate(value))


def _claim(fields: Fields, root_name: str) -> InclusionClaim:
    leaf, root, path = _hash_field(fields, "leaf_hash"), _hash_field(fields, root_name), _path_field(fields)
    return InclusionClaim(leaf_hash=leaf, root=root, path=path, leaf_index=fields.integer("leaf_index"))


def _directions_field(fields: Fields) -> list[bool] | None:
    directions = fields.raw("directions")
    if directions is not None and not (isinstance(directions, list) and all(isinstance(d, bool) for d in directions)):
        raise invalid_request("directions", "must be a list of booleans.")
    return directions


# Base of the views over commitments of one stream ``kind`` (here and in ``anchor_views``). A
# comment, not a docstring: drf-spectacular would publish a docstring as the operations' description.
class CommitmentKindApi(TenantApiMixin):
    kind: ClassVar[StreamKind]

    def output(self, commitment: CommitmentRow, *, with_anchor: bool = True, detail: bool = False) -> dict[str, Any]:
        """The commitment as this kind answers it; ``detail``: as ``GET .../commitments/{batch_id}``
        answers it (legacy: the reference's whole ``BatchCommitment``, ``sequence_range`` too)."""
        if self.kind is StreamKind.VES:
            return ves_commitment_output(commitment, with_anchor=with_anchor)
        return legacy_commitment_output(commitment, with_anchor=with_anchor, sequence_range=detail)


class _CommitmentCollection(CommitmentKindApi):
    """``GET`` lists all commitments (``tenant_id``, ``store_id``, ``anchored``, ``limit``, ``offset``);
    ``POST`` seals ``{tenant_id, store_id, sequence_start, sequence_end}``."""

    def get(self, request: Request) -> Response:
        principal = self.principal
        principal.require(Permission.READ)
        # The bootstrap admin may name no tenant: it then lists every tenant's commitments.
        tenant_id = self.queried_tenant(every_tenant=True)
        store_id = query_uuid_optional(request, "store_id")
        if tenant_id is not EVERY_TENANT:
            principal.check_stream(tenant_id, store_id, Permission.READ)
        # The credential's scope is a filter of the query (not of the page), so pages are full.
        rows = commitment_list(
            kind=self.kind,
            tenant_id=tenant_id,
            store_id=store_id,
            store_ids=principal.store_scope,
            anchored=query_bool(request, "anchored"),
            limit=query_int(request, "limit", default=100, minimum=1, maximum=MAX_LIST_LIMIT),
            offset=query_int(request, "offset", default=0, minimum=0),
        )
        items = [self.output(c) for c in rows]
        return Response({"commitments": items, "count": len(items)})

    def post(self, request: Request) -> Response:
        fields = request_fields(request)
        tenant_id, store_id = self.stream_for(fields.uuid("tenant_id"), fields.uuid("store_id"), Permission.WRITE)
        self.principal.refuse_agent_scope("seal a stream's events")
        result = commitment_create(
            tenant_id=tenant_id,
            store_id=store_id,
            kind=self.kind,
            sequence_start=range_bound(fields, "sequence_start"),
            sequence_end=range_bound(fields, "sequence_end"),
        )
        # 200 whether sealed now or before, as the reference answers (its clients check === 200).
        return Response(self.output(result.commitment, with_anchor=False))


class _CommitmentDetail(CommitmentKindApi):
    def get(self, request: Request, batch_id: str) -> Response:
        self.principal.require(Permission.READ)
        parsed = parse_uuid(batch_id, "batch_id")
        commitment = commitment_get_visible(
            tenant_id=self.tenant_scope, batch_id=parsed, kind=self.kind, visible=self.visible
        )
        return Response(self.output(commitment, detail=True))


class _ProofApi(CommitmentKindApi):
    """``GET .../proofs/{sequence_number}?tenant_id&store_id[&batch_id]``."""

    def get(self, request: Request, sequence_number: str) -> Response:
        seq = path_int(sequence_number, "sequence_number", minimum=1)
        tenant_id, store_id = self.queried_stream(Permission.READ)
        batch_id = query_uuid_optional(request, "batch_id")
        found = stream_proof_get(
            tenant_id=tenant_id, store_id=store_id, kind=self.kind, sequence_number=seq, batch_id=batch_id
        )
        root_name = "merkle_root" if self.kind is StreamKind.VES else "events_root"
        return Response(proof_output(found.proof, found.commitment, root_name=root_name))


@shapes.commitments_collection(ves=True)
class VesCommitmentsApi(_CommitmentCollection):
    kind = StreamKind.VES


@shapes.commitment_detail(ves=True)
class VesCommitmentDetailApi(_CommitmentDetail):
    kind = StreamKind.VES


@shapes.commitment_proof(ves=True)
class VesProofApi(_ProofApi):
    kind = StreamKind.VES


@shapes.commitments_collection(ves=False)
class LegacyCommitmentsApi(_CommitmentCollection):
    kind = StreamKind.LEGACY


@shapes.commitment_detail(ves=False)
class LegacyCommitmentDetailApi(_CommitmentDetail):
    kind = StreamKind.LEGACY


@shapes.commitment_proof(ves=False)
class LegacyProofApi(_ProofApi):
    kind = StreamKind.LEGACY


@shapes.proof_verify(ves=True)
class VesProofVerifyApi(TenantApiMixin):
    """``POST /api/v1/ves/proofs/verify`` ``{leaf_hash, merkle_root, proof_path, leaf_index}``.

    The reference's verifier (directions from the index). With any of ``tree_depth``,
    ``leaf_count`` and ``directions`` in the body, the strict verifier binds the tree shape
    (``tree_depth`` defaults to the path's length, the depth of the padded tree it climbs).
    """

    def post(self, request: Request) -> Response:
        self.principal.require(Permission.READ)
        fields = request_fields(request)
        claim = _claim(fields, "merkle_root")
        leaf_count = fields.integer("leaf_count") if fields.given("leaf_count") else None
        directions = _directions_field(fields)
        tree_depth = fields.integer("tree_depth") if fields.given("tree_depth") else None
        if tree_depth is None and (leaf_count is not None or directions is not None):
            tree_depth = len(claim.path)
        valid = ves_proof_verify(claim=claim, tree_depth=tree_depth, leaf_count=leaf_count, directions=directions)
        return Response({"valid": valid, "leaf_hash": claim.leaf_hash.hex(), "merkle_root": claim.root.hex()})


@shapes.proof_verify(ves=False)
class LegacyProofVerifyApi(TenantApiMixin):
    """``POST /api/v1/proofs/verify`` ``{leaf_hash, events_root, proof_path, leaf_index}``.

    With ``leaf_count`` the position is bound by the tree shape; with ``directions`` they are
    used as given; with neither, directions come from the index bits as in the reference (which
    is only right where no level of the path was a promoted odd node).
    """

    def post(self, request: Request) -> Response:
        self.principal.require(Permission.READ)
        fields = request_fields(request)
        claim = _claim(fields, "events_root")
        leaf_count = fields.integer("leaf_count") if fields.given("leaf_count") else None
        directions = _directions_field(fields)  # checked even when leaf_count decides (a mistyped field is 422)
        valid = legacy_proof_verify(
            claim=claim, leaf_count=leaf_count, directions=None if leaf_count is not None else directions
        )
        return Response({"valid": valid, "leaf_hash": claim.leaf_hash.hex(), "events_root": claim.root.hex()})
