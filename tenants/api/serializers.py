"""Response shapes of the tenants API (camelCase, as the reference's agent endpoints)."""

from __future__ import annotations

from typing import Any

from tenants.models import AgentSigningKey, ApiKey
from tenants.services import IssuedApiKey

# The reference's key algorithm ids (VES-PQC-1). Only Ed25519 is supported: 0 (unspecified,
# the legacy default) and 1 both mean Ed25519; stored keys say 1.
KEY_ALGORITHM_NAMES: dict[int, str] = {
    0: "unspecified (Ed25519)",
    1: "Ed25519",
    2: "X25519",
    3: "ML-DSA-65",
    4: "ML-KEM-768",
    5: "Ed25519+ML-DSA-65",
    6: "X25519+ML-KEM-768",
}
SUPPORTED_KEY_ALGORITHMS: frozenset[int | None] = frozenset({None, 0, 1})


def agent_key_output(key: AgentSigningKey) -> dict[str, Any]:
    return {
        "keyId": key.key_id,
        "publicKey": bytes(key.public_key).hex(),
        "keyAlgorithm": key.key_algorithm,
        "status": key.status,
        "validFrom": key.valid_from,
        "validTo": key.valid_to,
        "revokedAt": key.revoked_at,
        "createdAt": key.created_at,
    }


def permissions_label(key: ApiKey) -> str:
    """``read``, ``read_write`` (the reference's two) or ``admin``; ``write`` for a key that can
    write but not read (``create_api_key --permissions write``, or minted by such a key), which
    the reference cannot make and ``read_write`` would misdescribe."""
    if key.can_write and not key.can_read and not key.can_admin:
        return "write"
    label = permissions_flags_label(key.can_write, key.can_admin)
    assert label is not None
    return label


def permissions_flags_label(can_write: bool | None, can_admin: bool | None) -> str | None:
    """The label of a key's flags; ``None`` for an agent known only from its signing keys."""
    if can_write is None or can_admin is None:
        return None
    if can_admin:
        return "admin"
    return "read_write" if can_write else "read"


def api_key_output(key: ApiKey) -> dict[str, Any]:
    """An API key as an agent may see it: never the key or its full hash."""
    return {
        "keyHashPrefix": key.hash_prefix,
        "displayPrefix": key.display_prefix,
        "active": key.active,
        "permissions": permissions_label(key),
        "storeIds": list(key.store_ids),
        "rateLimit": key.rate_limit,
        "expiresAt": key.expires_at,
        "createdAt": key.created_at,
        "lastUsedAt": key.last_used_at,
        "revokedAt": key.revoked_at,
    }


def issued_key_output(issued: IssuedApiKey) -> dict[str, Any]:
    """A key just minted, the one time it is shown, with its hash prefix and permissions."""
    return {
        "apiKey": issued.key,
        "keyHashPrefix": issued.api_key.hash_prefix,
        "permissions": permissions_label(issued.api_key),
    }
