from django.urls import path

from commitments.api import anchor_views, bundle_views, log_views, stark_views, views

app_name = "commitments"

urlpatterns = [
    # Before ves/commitments/<batch_id>, which would otherwise match "anchor".
    path("ves/commitments/anchor", anchor_views.VesCommitAndAnchorApi.as_view(), name="ves-commit-and-anchor"),
    path("ves/anchor", anchor_views.VesAnchorApi.as_view(), name="ves-anchor"),
    path("ves/anchor/<str:batch_id>/verify", anchor_views.VesAnchorVerifyApi.as_view(), name="ves-anchor-verify"),
    path("anchor/status", anchor_views.AnchorStatusApi.as_view(), name="anchor-status"),
    path("anchor", anchor_views.LegacyAnchorApi.as_view(), name="anchor"),
    path("anchor/<str:batch_id>/verify", anchor_views.LegacyAnchorVerifyApi.as_view(), name="anchor-verify"),
    path("ves/commitments", views.VesCommitmentsApi.as_view(), name="ves-commitments"),
    path("ves/commitments/<str:batch_id>", views.VesCommitmentDetailApi.as_view(), name="ves-commitment-detail"),
    path("ves/proofs/verify", views.VesProofVerifyApi.as_view(), name="ves-proof-verify"),
    path("ves/proofs/<str:sequence_number>", views.VesProofApi.as_view(), name="ves-proof"),
    path("commitments", views.LegacyCommitmentsApi.as_view(), name="commitments"),
    path("commitments/<str:batch_id>", views.LegacyCommitmentDetailApi.as_view(), name="commitment-detail"),
    path("proofs/verify", views.LegacyProofVerifyApi.as_view(), name="proof-verify"),
    path("proofs/<str:sequence_number>", views.LegacyProofApi.as_view(), name="proof"),
    path("sequencer/keys", log_views.SequencerKeysApi.as_view(), name="sequencer-keys"),
    path("ves/log/checkpoint", log_views.VesCheckpointApi.as_view(), name="ves-log-checkpoint"),
    path("ves/log/proofs/inclusion", log_views.VesInclusionApi.as_view(), name="ves-log-inclusion"),
    path("ves/log/proofs/consistency", log_views.VesConsistencyApi.as_view(), name="ves-log-consistency"),
    path("log/checkpoint", log_views.LegacyCheckpointApi.as_view(), name="log-checkpoint"),
    path("log/proofs/inclusion", log_views.LegacyInclusionApi.as_view(), name="log-inclusion"),
    path("log/proofs/consistency", log_views.LegacyConsistencyApi.as_view(), name="log-consistency"),
    path("ves/events/<str:event_id>/bundle", bundle_views.VesBundleApi.as_view(), name="ves-event-bundle"),
    path("events/<str:event_id>/bundle", bundle_views.LegacyBundleApi.as_view(), name="event-bundle"),
    # The reference's `stark` feature: mounted, answering 501 not_implemented (stark_views.py).
    path("ves/validity/proofs/<str:proof_id>", stark_views.VesValidityProofApi.as_view(), name="ves-validity-proof"),
    path(
        "ves/validity/proofs/<str:proof_id>/verify",
        stark_views.VesValidityProofVerifyApi.as_view(),
        name="ves-validity-proof-verify",
    ),
    path("ves/validity/<str:batch_id>/inputs", stark_views.VesValidityInputsApi.as_view(), name="ves-validity-inputs"),
    path("ves/validity/<str:batch_id>/proofs", stark_views.VesValidityProofsApi.as_view(), name="ves-validity-proofs"),
    path(
        "ves/compliance/proofs/<str:proof_id>", stark_views.VesComplianceProofApi.as_view(), name="ves-compliance-proof"
    ),
    path(
        "ves/compliance/proofs/<str:proof_id>/verify",
        stark_views.VesComplianceProofVerifyApi.as_view(),
        name="ves-compliance-proof-verify",
    ),
    path(
        "ves/compliance/<str:event_id>/inputs",
        stark_views.VesComplianceInputsApi.as_view(),
        name="ves-compliance-inputs",
    ),
    path(
        "ves/compliance/<str:event_id>/proofs",
        stark_views.VesComplianceProofsApi.as_view(),
        name="ves-compliance-proofs",
    ),
]
