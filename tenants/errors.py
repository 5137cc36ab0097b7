"""Errors of the tenants app (codes are public contracts, see docs/errors.md)."""

from sequencer_project.api.errors import BadRequestError, ConflictError, NotFoundError


class TenantNotFoundError(NotFoundError):
    code = "tenant_not_found"
    title = "Tenant not found"


class AgentKeyExistsError(ConflictError):
    code = "agent_key_exists"
    title = "Agent signing key already registered"


class AgentKeyNotFoundError(NotFoundError):
    code = "agent_key_not_found"
    title = "Agent signing key not found"


class InvalidPublicKeyError(BadRequestError):
    code = "invalid_public_key"
    title = "Public key is not a 32-byte Ed25519 key in hex"
