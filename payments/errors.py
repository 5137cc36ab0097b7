"""Errors of the payments app. Codes are public contracts (docs/errors.md)."""

from sequencer_project.api.errors import (
    BadRequestError,
    ConflictError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
)


class InvalidPaymentFieldError(BadRequestError):
    code = "invalid_payment_field"
    title = "A payment intent field is missing or invalid"


class PaymentValidityError(BadRequestError):
    code = "payment_validity_window"
    title = "valid_until is in the past or more than 24 hours ahead"


class SigningHashMismatchError(BadRequestError):
    code = "signing_hash_mismatch"
    title = "signing_hash does not match the recomputed x402 signing hash"


class PaymentSignatureError(BadRequestError):
    code = "payment_signature_invalid"
    title = "payer_signature does not verify"


class PayerKeyNotBoundError(BadRequestError):
    code = "payer_key_not_bound"
    title = "payer_public_key is not the payer's registered agent key"


class PayerAccountHeldError(PermissionDeniedError):
    """The payer account is held by other agents of the tenant (ADR 0006, "Payer accounts")."""

    code = "payer_account_held"
    title = "The payer account belongs to another agent of this tenant"


class PaymentAgentKeyNotFoundError(NotFoundError):
    code = "payment_agent_key_not_found"
    title = "No usable registered key for this agent and key id"


class NonceAlreadyUsedError(BadRequestError):
    code = "nonce_already_used"
    title = "Nonce already used for this payer"


class IdempotencyConflictError(ConflictError):
    code = "idempotency_key_conflict"
    title = "idempotency_key was already used with different parameters"


class PaymentNotFoundError(NotFoundError):
    code = "payment_not_found"
    title = "Payment intent not found"


class PaymentNotBatchedError(ConflictError):
    code = "payment_not_batched"
    title = "The payment intent is not in a committed batch yet"


class BatchNotFoundError(NotFoundError):
    code = "batch_not_found"
    title = "Payment batch not found"


class InvalidBatchRequestError(BadRequestError):
    code = "invalid_batch_request"
    title = "The batch cannot be built from these intents"


class BatchTooLargeError(PayloadTooLargeError):
    """The reference's ``BATCH_TOO_LARGE`` (413): a list ``limit``, a batch ``max_size`` or
    ``intent_ids`` over their caps."""

    code = "batch_too_large"
    title = "More items than one request may ask for"


class InvalidSettlementError(BadRequestError):
    code = "invalid_state_transition"
    title = "The batch cannot be settled from its current state with these values"


class SettledByChainError(ConflictError):
    """``POST /api/v1/x402/batches/settle`` under ``X402_SETTLEMENT_BACKEND=evm``: the chain's
    receipt settles a batch, not an operator's record."""

    code = "settlement_by_chain"
    title = "Batches are settled by the chain under this settlement backend"


class SettlementTxUsedError(ConflictError):
    """``POST /api/v1/x402/batches/settle`` naming a transaction already recorded for another
    batch of the tenant on that chain: one transaction settles one batch."""

    code = "settlement_tx_used"
    title = "The transaction is already recorded for another batch"


class PaymentSignatureReusedError(ConflictError):
    code = "payment_signature_reused"
    title = "This signed payment was already submitted in this tenant"


class PaymentSequenceExhaustedError(ConflictError):
    """The x402 stream's sequence numbers would pass 2^63 - 1 (the code legacy and VES ingest use)."""

    code = "sequence_exhausted"
    title = "The stream has no sequence numbers left"
