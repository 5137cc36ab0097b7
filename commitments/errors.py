"""Errors of the commitments app. Codes are public contracts (docs/errors.md)."""

from sequencer_project.api.errors import (
    BadRequestError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    SequencerError,
    ServiceUnavailableError,
)


class InvalidCommitmentRangeError(BadRequestError):
    code = "invalid_commitment_range"
    title = "The commitment range is empty or malformed"


class CommitmentBeyondHeadError(BadRequestError):
    code = "commitment_beyond_head"
    title = "The commitment range ends after the stream's head"


class CommitmentEventsMissingError(ConflictError):
    code = "commitment_events_missing"
    title = "Events of the range are missing from the store"


class CommitmentNotFoundError(NotFoundError):
    code = "commitment_not_found"
    title = "Commitment not found"


class SequenceNotCommittedError(NotFoundError):
    code = "sequence_not_committed"
    title = "No commitment covers this sequence number"


class SequenceOutsideCommitmentError(BadRequestError):
    code = "sequence_outside_commitment"
    title = "The sequence number is outside the commitment's range"


class InvalidProofError(BadRequestError):
    code = "invalid_proof_input"
    title = "A proof field is malformed"


class CheckpointNotFoundError(NotFoundError):
    code = "checkpoint_not_found"
    title = "No checkpoint of this stream at this size"


class CheckpointUnsignedError(ServiceUnavailableError):
    code = "checkpoint_signing_unconfigured"
    title = "Checkpoints are not signed: no sequencer signing key was configured"


class InvalidTreeSizeError(BadRequestError):
    code = "invalid_tree_size"
    title = "The tree size is outside the stream's log"


class EventNotCommittedError(ConflictError):
    code = "event_not_committed"
    title = "The event is not covered by a commitment yet"


class InvalidAnchorRecordError(BadRequestError):
    code = "invalid_anchor_record"
    title = "The reported anchor transaction is malformed"


class CommitmentAnchoredElsewhereError(ConflictError):
    code = "commitment_anchored_elsewhere"
    title = "The commitment is already anchored by another transaction"


class BootstrapAdminRequiredError(PermissionDeniedError):
    code = "bootstrap_admin_required"
    title = "Only the bootstrap admin may use the anchor service's routes"


class CommitmentIntegrityError(SequencerError):
    code = "commitment_integrity"
    http_status = 500
    title = "The stored events no longer match their commitment"


class CommitmentChainBehindError(ServiceUnavailableError):
    code = "commitment_chain_behind"
    title = "The stream's chain is too far behind this range to seal it now; retry shortly"


class AnchoringUnconfiguredError(ServiceUnavailableError):
    code = "anchoring_unconfigured"
    title = "Anchoring is not configured (set ANCHOR_RPC_URL and ANCHOR_PRIVATE_KEY)"
    offered_here = True


class AnchorUnavailableError(ServiceUnavailableError):
    code = "anchor_unavailable"
    title = "The anchoring chain is unavailable"


class AnchorFailedError(SequencerError):
    code = "anchor_failed"
    http_status = 502
    title = "The anchoring transaction failed on chain"
