"""Errors of the tenants app (codes are public contracts, see docs/errors.md)."""

from sequencer_project.api.errors import BadRequestError, ConflictError, NotFoundError, SequencerError


class AgentKeyExistsError(ConflictError):
    code = "agent_key_exists"
    title = "Agent signing key already registered"


class AgentKeyRevokedMaterialError(ConflictError):
    code = "agent_key_revoked"
    title = "This public key was revoked in this tenant"


class AgentKeyNotFoundError(NotFoundError):
    code = "agent_key_not_found"
    title = "Agent signing key not found"


class InvalidPublicKeyError(BadRequestError):
    code = "invalid_public_key"
    title = "Public key is not a 32-byte Ed25519 key in hex"


class UnsupportedKeyAlgorithmError(BadRequestError):
    code = "unsupported_key_algorithm"
    title = "Only Ed25519 agent keys are supported"


# --- Agent self-service (docs/auth.md) ---------------------------------------------------------


class RegistrationDisabledError(SequencerError):
    code = "registration_disabled"
    http_status = 403
    title = "Public agent registration is disabled"


class TenantIdNotAllowedError(BadRequestError):
    code = "tenant_id_not_allowed"
    title = "Registration creates its own tenant"


class AdminNotAllowedError(SequencerError):
    code = "admin_not_allowed"
    http_status = 403
    title = "Self-registered agents cannot be admins"


class AgentNotFoundError(NotFoundError):
    code = "agent_not_found"
    title = "Agent not found"


class AgentAmbiguousError(ConflictError):
    """The bootstrap admin named an agent id that has keys in several tenants, and no tenant."""

    code = "agent_ambiguous"
    title = "The agent id names agents of several tenants"


class ApiKeyNotFoundError(NotFoundError):
    code = "api_key_not_found"
    title = "API key not found"


class KeyPrefixAmbiguousError(ConflictError):
    code = "key_prefix_ambiguous"
    title = "Key prefix matches several keys"


class PermissionWideningError(SequencerError):
    code = "permission_widening_denied"
    http_status = 403
    title = "A key cannot grant more than its creator has"


class KeyLineageTooDeepError(SequencerError):
    """A key minted from a chain of rate-limited keys as long as ``MINTED_RATE_LIMITS_MAX``: each of
    its requests would count against every budget of the chain."""

    code = "key_lineage_too_deep"
    http_status = 403
    title = "A key minted from this one would share too many rate limits"


class KeyExpiryInPastError(BadRequestError):
    code = "key_expiry_in_past"
    title = "A new key's expiry must be in the future"
