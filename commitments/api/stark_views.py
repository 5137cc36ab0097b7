"""The reference's STARK validity and compliance proof routes, answered 501 ``not_implemented``.

The reference mounts them only with its ``stark`` feature, which needs a private sibling
workspace (``../stateset-stark``) to build (``src/api/mod.rs``, ``ves_proof_routes``). We have
no STARK verifier either, so every method and path it mounts there answers, after
authentication, 501 problem+json with ``feature: "stark"`` — not 404 — so a client learns the
route exists and that this deployment does not offer it. Nothing is read or stored; the ids
in the path are not looked up, so no tenant's data can be probed through these routes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn

from drf_spectacular.utils import OpenApiParameter
from rest_framework.request import Request

from sequencer_project.api.errors import NotImplementedFeatureError
from sequencer_project.api.openapi import extra_problem, operation, path_uuid
from sequencer_project.api.tenancy import TenantApiMixin

FEATURE = "stark"
BATCH_ID = path_uuid("batch_id", "Commitment batch id.")
EVENT_ID = path_uuid("event_id", "VES event id.")
PROOF_ID = path_uuid("proof_id", "Proof id.")


Handler = Callable[..., NoReturn]


def _not_implemented(
    method: str, operation_id: str, summary: str, parameter: OpenApiParameter
) -> Callable[[Handler], Handler]:
    return operation(
        "proofs",
        operation_id,
        f"{summary} — not implemented: 501 `not_implemented` (the reference's `stark` feature)",
        methods=[method],
        parameters=[parameter],
        request=None,
        responses=extra_problem(501),
    )


class _StarkApi(TenantApiMixin):
    """Authenticated (``IsPrincipal``: anonymous callers get 401), then refused."""

    def refuse(self, what: str) -> NoReturn:
        raise NotImplementedFeatureError(
            f"{what} need the reference's STARK verifier (its `stark` feature), which this service does not build.",
            feature=FEATURE,
        )


class VesValidityInputsApi(_StarkApi):
    @_not_implemented("GET", "ves_validity_inputs", "Canonical public inputs of a batch's validity proof", BATCH_ID)
    def get(self, request: Request, batch_id: str) -> NoReturn:
        self.refuse("Validity proofs")


class VesValidityProofsApi(_StarkApi):
    @_not_implemented("GET", "ves_validity_proofs_list", "Validity proofs of a batch", BATCH_ID)
    def get(self, request: Request, batch_id: str) -> NoReturn:
        self.refuse("Validity proofs")

    @_not_implemented("POST", "ves_validity_proofs_submit", "Submit a validity proof of a batch", BATCH_ID)
    def post(self, request: Request, batch_id: str) -> NoReturn:
        self.refuse("Validity proofs")


class VesValidityProofApi(_StarkApi):
    @_not_implemented("GET", "ves_validity_proof", "One validity proof", PROOF_ID)
    def get(self, request: Request, proof_id: str) -> NoReturn:
        self.refuse("Validity proofs")


class VesValidityProofVerifyApi(_StarkApi):
    @_not_implemented("GET", "ves_validity_proof_verify", "Verify one validity proof", PROOF_ID)
    def get(self, request: Request, proof_id: str) -> NoReturn:
        self.refuse("Validity proofs")


class VesComplianceInputsApi(_StarkApi):
    @_not_implemented(
        "POST", "ves_compliance_inputs", "Canonical public inputs of an event's compliance proof", EVENT_ID
    )
    def post(self, request: Request, event_id: str) -> NoReturn:
        self.refuse("Compliance proofs")


class VesComplianceProofsApi(_StarkApi):
    @_not_implemented("GET", "ves_compliance_proofs_list", "Compliance proofs of an event", EVENT_ID)
    def get(self, request: Request, event_id: str) -> NoReturn:
        self.refuse("Compliance proofs")

    @_not_implemented("POST", "ves_compliance_proofs_submit", "Submit a compliance proof of an event", EVENT_ID)
    def post(self, request: Request, event_id: str) -> NoReturn:
        self.refuse("Compliance proofs")


class VesComplianceProofApi(_StarkApi):
    @_not_implemented("GET", "ves_compliance_proof", "One compliance proof", PROOF_ID)
    def get(self, request: Request, proof_id: str) -> NoReturn:
        self.refuse("Compliance proofs")


class VesComplianceProofVerifyApi(_StarkApi):
    @_not_implemented("GET", "ves_compliance_proof_verify", "Verify one compliance proof", PROOF_ID)
    def get(self, request: Request, proof_id: str) -> NoReturn:
        self.refuse("Compliance proofs")
