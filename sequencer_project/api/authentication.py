"""DRF authentication: API keys (``ApiKey``, ``Bearer``, raw ``ss_…``, ``X-API-Key``),
HS256 JWTs (``Bearer``) and the bootstrap admin key from the environment.

Keys are compared by their SHA-256 digest only, in constant time for the bootstrap key;
stored keys are found by the digest (an index lookup, not a string comparison).
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import UTC, datetime
from typing import Any

import jwt
from django.conf import settings
from django.utils import timezone
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from sequencer_project.api import errors
from sequencer_project.api.principal import Principal
from tenants.credentials import API_KEY_PREFIX, api_key_hash
from tenants.selectors import api_key_principal_get, tenant_active_get

_JWT_LEEWAY_SECONDS = 60


def _bootstrap_principal() -> Principal:
    return Principal(
        tenant_id=None, can_read=True, can_write=True, can_admin=True, credential_id="bootstrap", kind="bootstrap"
    )


def _is_bootstrap(key: str) -> bool:
    bootstrap = settings.BOOTSTRAP_ADMIN_API_KEY
    if not bootstrap:
        return False
    return hmac.compare_digest(hashlib.sha256(key.encode()).digest(), hashlib.sha256(bootstrap.encode()).digest())


def _looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and not token.startswith(API_KEY_PREFIX)


def principal_for_api_key(key: str) -> Principal:
    if _is_bootstrap(key):
        return _bootstrap_principal()
    if not key.startswith(API_KEY_PREFIX):
        raise errors.InvalidCredentialsError("API keys start with 'ss_'.", headers={"WWW-Authenticate": "ApiKey"})
    principal = api_key_principal_get(key_hash=api_key_hash(key))
    if principal is None:
        raise errors.InvalidCredentialsError("Unknown or revoked API key.", headers={"WWW-Authenticate": "ApiKey"})
    if principal.expired(timezone.now()):  # checked on every use: a cached key expires on time too
        raise errors.ApiKeyExpiredError("The API key has expired.", headers={"WWW-Authenticate": "ApiKey"})
    if not principal.tenant_active:
        raise errors.TenantInactiveError("This credential's tenant has been deactivated.")
    return principal


def _csv_uuids(value: Any, claim: str) -> frozenset[uuid.UUID]:
    if not value:
        return frozenset()
    try:
        return frozenset(uuid.UUID(part.strip()) for part in str(value).split(",") if part.strip())
    except ValueError as exc:
        raise errors.InvalidTokenError(f"Claim '{claim}' holds an invalid UUID.") from exc


def principal_for_jwt(token: str) -> Principal:
    if not settings.JWT_SECRET:
        raise errors.InvalidTokenError("JWT authentication is not configured.")
    try:
        claims = jwt.decode(
            token,
            settings.JWT_SECRET,
            algorithms=["HS256"],
            audience=settings.JWT_AUDIENCE,
            issuer=settings.JWT_ISSUER,
            leeway=_JWT_LEEWAY_SECONDS,
            options={"require": ["sub", "exp", "iat", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise errors.TokenExpiredError("The token has expired.") from exc
    except jwt.PyJWTError as exc:
        raise errors.InvalidTokenError(f"Invalid token: {exc}") from exc
    try:
        tenant_id = uuid.UUID(str(claims["sub"]))
    except ValueError as exc:
        raise errors.InvalidTokenError("Claim 'sub' must be a tenant UUID.") from exc
    if tenant_id.int == 0:
        # The reference lets a nil-tenant token act as super-admin; tokens never do here.
        raise errors.InvalidTokenError("Claim 'sub' must name a real tenant.")
    perms = {p.strip() for p in str(claims.get("perms", "read")).split(",") if p.strip()}
    try:
        expires_at = datetime.fromtimestamp(claims["exp"], tz=UTC)
    except (OverflowError, ValueError, OSError) as exc:
        raise errors.InvalidTokenError("Claim 'exp' is out of range.") from exc
    agent = claims.get("agent")
    try:
        agent_id = uuid.UUID(str(agent)) if agent else None
    except ValueError as exc:
        raise errors.InvalidTokenError("Claim 'agent' must be a UUID.") from exc
    if not tenant_active_get(tenant_id=tenant_id):
        raise errors.TenantInactiveError("This token's tenant has been deactivated.")
    return Principal(
        tenant_id=tenant_id,
        can_read="read" in perms,
        can_write="write" in perms,
        can_admin="admin" in perms,
        store_ids=_csv_uuids(claims.get("stores"), "stores"),
        agent_id=agent_id,
        expires_at=expires_at,  # without the leeway: the keys it mints end by then
        credential_id="jwt:" + str(claims.get("jti", "")),
        kind="jwt",
    )


def credential_from_headers(headers: Any) -> tuple[str, str] | None:
    """Return ``(scheme, credential)`` from the request headers, or ``None`` when absent.

    ``Authorization`` wins; ``X-API-Key`` is read the same way when it is absent (as the reference
    reads it: ``ss_…``, ``ApiKey ss_…`` or ``Bearer <token>``)."""
    value = headers.get("Authorization", "").strip() or headers.get("X-API-Key", "").strip()
    return _credential(value) if value else None


def _credential(value: str) -> tuple[str, str]:
    scheme, _, rest = value.partition(" ")
    lowered = scheme.lower()
    if lowered == "apikey" and rest.strip():
        return "api_key", rest.strip()
    if lowered == "bearer" and rest.strip():
        token = rest.strip()
        return ("jwt", token) if _looks_like_jwt(token) and not _is_bootstrap(token) else ("api_key", token)
    if not rest:
        return "api_key", value
    raise errors.InvalidCredentialsError(
        "Unsupported Authorization scheme; use 'ApiKey <key>' or 'Bearer <token>'.",
        headers={"WWW-Authenticate": "ApiKey"},
    )


class CredentialAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Principal, None] | None:
        credential = credential_from_headers(request.headers)
        if credential is None:
            return None
        scheme, value = credential
        principal = principal_for_jwt(value) if scheme == "jwt" else principal_for_api_key(value)
        return principal, None

    def authenticate_header(self, request: Request) -> str:
        return "ApiKey"
