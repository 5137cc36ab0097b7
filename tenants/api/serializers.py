"""Response shapes of the tenants API (camelCase, as the reference's agent endpoints)."""

from __future__ import annotations

from typing import Any

from tenants.models import AgentSigningKey

KEY_ALGORITHM = "ed25519"


def agent_key_output(key: AgentSigningKey) -> dict[str, Any]:
    return {
        "keyId": key.key_id,
        "publicKey": bytes(key.public_key).hex(),
        "keyAlgorithm": KEY_ALGORITHM,
        "status": key.status,
        "validFrom": key.valid_from,
        "validTo": key.valid_to,
        "revokedAt": key.revoked_at,
        "createdAt": key.created_at,
    }
