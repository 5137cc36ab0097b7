"""OpenAPI shapes of the agent key and agent self-service endpoints (camelCase)."""

from __future__ import annotations

from sequencer_project.api.fields import U32 as U32_RANGE
from sequencer_project.api.openapi import (
    BOOLEAN,
    DATETIME,
    HEX,
    INTEGER,
    STRING,
    SUCCESS_TRUE,
    UUID,
    Schema,
    array,
    hex_in,
    nullable,
    obj,
)
from tenants.limits import API_KEY_NAME_MAX, DESCRIPTION_MAX, NAME_MAX, RATE_LIMIT_MAX, RATE_LIMIT_MIN, STORE_IDS_MAX

U32: Schema = {"type": "integer", "minimum": U32_RANGE[0], "maximum": U32_RANGE[1]}
PERMISSIONS: Schema = {"type": "string", "enum": ["read", "read_write", "admin", "write"]}
KEY_STATUS: Schema = {"type": "string", "description": "active, revoked or expired"}

AGENT_KEY_REGISTER = obj(
    {
        "tenantId": UUID,
        "agentId": UUID,
        "keyId": U32,
        "publicKey": hex_in(32, description="Ed25519 public key: 32 bytes of hex, 0x optional"),
        "validFrom": nullable(DATETIME),
        "validTo": nullable(DATETIME),
        "keyAlgorithm": nullable(
            {"type": "integer", "enum": [0, 1], "description": "0 (absent) or 1: Ed25519; other ids are refused"}
        ),
    },
    optional=("validFrom", "validTo", "keyAlgorithm"),
)
AGENT_KEY_REGISTERED = obj(
    {
        "success": SUCCESS_TRUE,
        "tenantId": UUID,
        "agentId": UUID,
        "keyId": INTEGER,
        "keyAlgorithm": {"type": "integer", "description": "as sent; 0 when absent"},
        "message": STRING,
    }
)
AGENT_KEY = obj(
    {
        "keyId": INTEGER,
        "publicKey": HEX,
        "keyAlgorithm": {"type": "integer", "description": "1: Ed25519"},
        "status": KEY_STATUS,
        "validFrom": nullable(DATETIME),
        "validTo": nullable(DATETIME),
        "revokedAt": nullable(DATETIME),
        "createdAt": DATETIME,
    }
)
AGENT_KEY_LIST = obj({"tenantId": UUID, "agentId": UUID, "keys": array(AGENT_KEY), "count": INTEGER})
AGENT_KEY_REVOKED = obj(
    {
        "success": SUCCESS_TRUE,
        "tenantId": UUID,
        "agentId": UUID,
        "keyId": INTEGER,
        "status": KEY_STATUS,
        "revokedAt": nullable(DATETIME),
        "message": STRING,
    }
)

STORE_IDS: Schema = array(UUID, maxItems=STORE_IDS_MAX)
RATE_LIMIT: Schema = {"type": "integer", "minimum": RATE_LIMIT_MIN, "maximum": RATE_LIMIT_MAX}
# A key just minted (tenants.api.serializers.issued_key_output).
ISSUED_KEY: dict[str, Schema] = {
    "apiKey": {"type": "string", "description": "shown once"},
    "keyHashPrefix": HEX,
    "permissions": PERMISSIONS,
}
AGENT_REGISTER = obj(
    {
        "name": {"type": "string", "minLength": 1, "maxLength": NAME_MAX},
        "description": nullable({"type": "string", "maxLength": DESCRIPTION_MAX}),
        "storeIds": nullable(STORE_IDS),
        "readOnly": nullable(BOOLEAN),
        "rateLimit": nullable(RATE_LIMIT),
    },
    optional=("description", "storeIds", "readOnly", "rateLimit"),
)
AGENT_REGISTERED = obj(
    {
        "success": SUCCESS_TRUE,
        "agentId": UUID,
        "tenantId": UUID,
        **ISSUED_KEY,
        "message": STRING,
    }
)
AGENT = obj(
    {
        "agentId": UUID,
        "tenantId": UUID,
        "active": BOOLEAN,
        "permissions": PERMISSIONS,
        "storeIds": array(UUID),
        "rateLimit": nullable(INTEGER),
        "apiKeyCount": INTEGER,
        "activeApiKeys": INTEGER,
    }
)
API_KEY = obj(
    {
        "keyHashPrefix": HEX,
        "displayPrefix": STRING,
        "active": BOOLEAN,
        "permissions": PERMISSIONS,
        "storeIds": array(UUID),
        "rateLimit": nullable(INTEGER),
        "expiresAt": nullable(DATETIME),
        "createdAt": DATETIME,
        "lastUsedAt": nullable(DATETIME),
        "revokedAt": nullable(DATETIME),
    }
)
API_KEY_LIST = obj({"keys": array(API_KEY), "count": INTEGER})
API_KEY_CREATE = obj(
    {
        "name": nullable({"type": "string", "maxLength": API_KEY_NAME_MAX}),
        "storeIds": nullable(STORE_IDS),
        "readOnly": nullable(BOOLEAN),
        "admin": nullable(BOOLEAN),
        "rateLimit": nullable(RATE_LIMIT),
        "expiresAt": nullable(
            {**DATETIME, "description": "RFC 3339; default and upper bound: the caller's own expiry"}
        ),
    },
    optional=("name", "storeIds", "readOnly", "admin", "rateLimit", "expiresAt"),
)
API_KEY_CREATED = obj(
    {
        "success": SUCCESS_TRUE,
        **ISSUED_KEY,
        "tenantId": UUID,
        "storeIds": array(UUID),
        "rateLimit": nullable(INTEGER),
        "expiresAt": nullable(DATETIME),
        "message": STRING,
    }
)
API_KEY_REVOKED = obj(
    {"success": SUCCESS_TRUE, "keyHashPrefix": HEX, "revokedAt": nullable(DATETIME), "message": STRING}
)
