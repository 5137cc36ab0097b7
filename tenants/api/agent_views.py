"""Agent self-service (``docs/auth.md`` "Agents"): public registration and an agent's own API keys.

Bodies and responses are camelCase, as the reference's. Fixed reference quirks: a revoked key
is refused by every process on its next request (not only by the one that revoked it); a key
prefix must be at least 8 hex characters and must name exactly one key (409 otherwise, never
"the first match"); no caller, admins included, can mint a key wider than itself in any
dimension or act for another agent when it is agent-scoped (``tenants/key_scope.py``, ADR 0015).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.utils import timezone
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.services import api_actor
from sequencer_project.api.errors import InvalidFieldError, InvalidParameterError
from sequencer_project.api.fields import Fields, invalid_field_value, invalid_request, request_fields
from sequencer_project.api.openapi import extra_problem, operation, path_param, path_uuid
from sequencer_project.api.tenancy import TenantApiMixin, parse_uuid
from sequencer_project.api.throttling import Limit, enforce_limits
from tenants.api import openapi as shapes
from tenants.api.serializers import api_key_output, issued_key_output, permissions_label
from tenants.errors import (
    AdminNotAllowedError,
    AgentNotFoundError,
    ApiKeyNotFoundError,
    KeyPrefixAmbiguousError,
    RegistrationDisabledError,
    TenantIdNotAllowedError,
)
from tenants.key_scope import RequestedScope, agent_access_check, api_key_scope_narrow
from tenants.limits import API_KEY_NAME_MAX, DESCRIPTION_MAX, NAME_MAX, RATE_LIMIT_MAX, RATE_LIMIT_MIN, STORE_IDS_MAX
from tenants.selectors import agent_api_key_list, tenant_get
from tenants.services import agent_register, api_key_create, api_key_revoke

KEY_PREFIX_MIN = 8
KEY_PREFIX_MAX = 64  # a whole SHA-256 hex digest
_BOOLEAN = "Must be a boolean."
NO_STORE = {"Cache-Control": "no-store"}
PUBLIC_REGISTRATION_ACTOR = "api:public-registration"  # the audit log's actor: no credential yet


def client_ip(request: Request) -> str:
    """The caller's address: ``REMOTE_ADDR``, or the ``TRUSTED_PROXY_COUNT``-th hop from the right
    of ``X-Forwarded-For`` when that many proxies we run sit in front of us."""
    hops = settings.TRUSTED_PROXY_COUNT
    if hops > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= hops:
            return str(forwarded[-hops])
    return str(request.META.get("REMOTE_ADDR", "unknown"))


def _store_ids(fields: Fields) -> list[uuid.UUID] | None:
    raw = fields.raw("storeIds")
    if raw is None:
        return None
    if not isinstance(raw, list) or len(raw) > STORE_IDS_MAX:
        raise invalid_request("storeIds", f"Must be a list of at most {STORE_IDS_MAX} UUID strings.")
    try:
        return [uuid.UUID(item) for item in raw]
    except (ValueError, TypeError, AttributeError) as exc:
        raise invalid_request("storeIds", "Every item must be a UUID string.") from exc


def _rate_limit(fields: Fields) -> int | None:
    value = fields.raw("rateLimit")
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):  # the reference's serde type: 422
        raise invalid_request("rateLimit", f"Must be an integer in {RATE_LIMIT_MIN}..{RATE_LIMIT_MAX}.")
    if not RATE_LIMIT_MIN <= value <= RATE_LIMIT_MAX:  # the reference's handler check: 400
        raise invalid_field_value("rateLimit", f"Must be an integer in {RATE_LIMIT_MIN}..{RATE_LIMIT_MAX}.")
    return value


def _text(fields: Fields, name: str, *, maximum: int, required: bool) -> str:
    value = fields.raw(name)
    if value is None and not required:
        return ""
    message = f"{'Required; ' if required else ''}a string of at most {maximum} characters."
    if not isinstance(value, str):  # missing or not a string: the reference's serde type (422)
        raise invalid_request(name, message)
    if len(value) > maximum or (required and not value.strip()):  # its handler checks (400)
        raise invalid_field_value(name, message)
    return _storable(value, name)


def _storable(value: str, name: str) -> str:
    if "\x00" in value:  # PostgreSQL text cannot hold NUL (it used to fail the insert with a 500)
        raise InvalidFieldError(f"'{name}' holds a NUL character, which cannot be stored.", field=name)
    return value


class AgentRegisterApi(APIView):
    """``POST /api/v1/agents/register`` (no credential): a new tenant with one agent and its key.

    Off unless ``PUBLIC_AGENT_REGISTRATION_ENABLED``; ``AGENT_REGISTRATION_RATE_LIMIT`` requests
    per client IP per rate-limit window, counted in Redis (shared by every process).
    """

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []

    @operation(
        "agents",
        "agents_register",
        "Public registration: a new tenant, agent and API key (off by default)",
        body=shapes.AGENT_REGISTER,
        responses=extra_problem(403),
        ok=shapes.AGENT_REGISTERED,
    )
    def post(self, request: Request) -> Response:
        if not settings.PUBLIC_AGENT_REGISTRATION_ENABLED:
            raise RegistrationDisabledError("Public agent registration is not enabled on this server.")
        state = enforce_limits(
            [Limit("client_ip", f"register:{client_ip(request)}", settings.AGENT_REGISTRATION_RATE_LIMIT)]
        )
        fields = request_fields(request)
        if fields.has("tenantId") or fields.has("tenant_id"):
            raise TenantIdNotAllowedError("Registration always creates a new tenant; do not send tenantId.")
        if fields.raw("admin") is True:
            raise AdminNotAllowedError("Self-registered agents cannot have the admin permission.")
        name = _text(fields, "name", maximum=NAME_MAX, required=True)
        description = _text(fields, "description", maximum=DESCRIPTION_MAX, required=False)
        read_only = fields.boolean("readOnly", message=_BOOLEAN) or False
        registered = agent_register(
            name=name,
            description=description,
            store_ids=_store_ids(fields) or (),
            read_only=read_only,
            rate_limit=_rate_limit(fields),
            actor=PUBLIC_REGISTRATION_ACTOR,
        )
        headers = dict(NO_STORE)
        if state is not None:
            limit, remaining, reset = state
            headers |= {
                "RateLimit-Limit": str(limit),
                "RateLimit-Remaining": str(remaining),
                "RateLimit-Reset": str(reset),
            }
        return Response(
            {
                "success": True,
                "agentId": registered.agent_id,
                "tenantId": registered.tenant.id,
                **issued_key_output(registered.issued),
                "message": "Agent registered successfully. Store your API key securely - it cannot be retrieved later.",
            },
            headers=headers,
        )


class _AgentApi(TenantApiMixin):
    """The agent itself (same tenant, same agent id) or an admin of the agent's tenant that is
    not scoped to another agent."""

    def agent_keys(self, agent_id: uuid.UUID) -> tuple[uuid.UUID, list[Any]]:
        """The agent's tenant and keys; 403 for other callers, 404 when the agent has no key."""
        principal = self.principal
        agent_access_check(principal, agent_id)
        keys = agent_api_key_list(agent_id=agent_id, tenant_id=None if principal.is_superadmin else principal.tenant_id)
        if not keys:
            if principal.tenant_id is not None and principal.can_admin:
                return principal.tenant_id, []
            raise AgentNotFoundError(f"No agent {agent_id} is visible to this credential.")
        tenant_id = keys[0].tenant_id
        return tenant_id, [key for key in keys if key.tenant_id == tenant_id]


class AgentDetailApi(_AgentApi):
    """``GET /api/v1/agents/{agent_id}``: the agent as its first API key describes it."""

    @operation(
        "agents",
        "agents_get",
        "The agent: tenant, permissions, stores, rate limit",
        parameters=[path_uuid("agent_id")],
        ok=shapes.AGENT,
    )
    def get(self, request: Request, agent_id: str) -> Response:
        agent = parse_uuid(agent_id, "agent_id")
        tenant_id, keys = self.agent_keys(agent)
        if not keys:
            raise AgentNotFoundError(f"No agent {agent} in this tenant.")
        first = keys[0]
        return Response(
            {
                "agentId": agent,
                "tenantId": tenant_id,
                "active": any(key.active for key in keys),
                "permissions": permissions_label(first),
                "storeIds": list(first.store_ids),
                "rateLimit": first.rate_limit,
                "apiKeyCount": len(keys),
                "activeApiKeys": sum(1 for key in keys if key.active),
            }
        )


class AgentApiKeysApi(_AgentApi):
    """``POST/GET /api/v1/agents/{agent_id}/api-keys``: mint or list the agent's API keys."""

    @operation(
        "agents",
        "agent_api_keys_list",
        "The agent's API keys (never the keys themselves)",
        parameters=[path_uuid("agent_id")],
        ok=shapes.API_KEY_LIST,
    )
    def get(self, request: Request, agent_id: str) -> Response:
        _, keys = self.agent_keys(parse_uuid(agent_id, "agent_id"))
        return Response({"keys": [api_key_output(key) for key in keys], "count": len(keys)})

    @operation(
        "agents",
        "agent_api_keys_create",
        "Mint an API key for the agent, never wider than the caller's",
        body=shapes.API_KEY_CREATE,
        parameters=[path_uuid("agent_id")],
        ok=shapes.API_KEY_CREATED,
    )
    def post(self, request: Request, agent_id: str) -> Response:
        agent = parse_uuid(agent_id, "agent_id")
        fields = request_fields(request)
        stores = _store_ids(fields)
        requested = RequestedScope(
            agent_id=agent,
            read_only=fields.boolean("readOnly", message=_BOOLEAN),
            admin=fields.boolean("admin", message=_BOOLEAN),
            store_ids=None if stores is None else frozenset(stores),
            rate_limit=_rate_limit(fields),
            expires_at=fields.timestamp("expiresAt", message="Must be an RFC 3339 timestamp."),
        )
        name = _text(fields, "name", maximum=API_KEY_NAME_MAX, required=False) or f"agent {agent}"
        tenant_id, _ = self.agent_keys(agent)
        scope = api_key_scope_narrow(
            caller=self.principal, requested=requested, tenant_id=tenant_id, now=timezone.now()
        )
        tenant = tenant_get(tenant_id=scope.tenant_id)
        if tenant is None:
            raise AgentNotFoundError(f"Agent {agent} has no tenant.")
        issued = api_key_create(
            tenant=tenant,
            name=name,
            can_read=scope.can_read,
            can_write=scope.can_write,
            can_admin=scope.can_admin,
            store_ids=scope.store_ids,
            agent_id=scope.agent_id,
            rate_limit=scope.rate_limit,
            expires_at=scope.expires_at,
            actor=api_actor(self.principal),
        )
        return Response(
            {
                "success": True,
                **issued_key_output(issued),
                "storeIds": list(issued.api_key.store_ids),
                "rateLimit": issued.api_key.rate_limit,
                "expiresAt": issued.api_key.expires_at,
                "message": "API key created. Store it securely - it cannot be retrieved later.",
            },
            headers=NO_STORE,  # 200, as the reference (its clients check for 200)
        )


class AgentApiKeyRevokeApi(_AgentApi):
    """``DELETE /api/v1/agents/{agent_id}/api-keys/{key_prefix}``: revoke the one key with that hash prefix."""

    @operation(
        "agents",
        "agent_api_keys_revoke",
        "Revoke the one API key of the agent whose hash starts with key_prefix",
        parameters=[
            path_uuid("agent_id"),
            path_param(
                "key_prefix", {"type": "string", "pattern": f"^[0-9a-fA-F]{{{KEY_PREFIX_MIN},{KEY_PREFIX_MAX}}}$"}
            ),
        ],
        ok=shapes.API_KEY_REVOKED,
    )
    def delete(self, request: Request, agent_id: str, key_prefix: str) -> Response:
        agent = parse_uuid(agent_id, "agent_id")
        prefix = key_prefix.lower()
        if not KEY_PREFIX_MIN <= len(prefix) <= KEY_PREFIX_MAX or any(c not in "0123456789abcdef" for c in prefix):
            raise InvalidParameterError(
                f"'key_prefix' must be {KEY_PREFIX_MIN} to {KEY_PREFIX_MAX} hex characters of the key hash.",
                parameter="key_prefix",
            )
        _, keys = self.agent_keys(agent)
        matches = [key for key in keys if key.key_hash.startswith(prefix)]
        if not matches:
            raise ApiKeyNotFoundError(f"Agent {agent} has no key whose hash starts with {prefix}.")
        if len(matches) > 1:
            raise KeyPrefixAmbiguousError(f"{len(matches)} keys of agent {agent} start with {prefix}; send more of it.")
        revoked = api_key_revoke(api_key=matches[0], actor=api_actor(self.principal))
        return Response(
            {
                "success": True,
                "keyHashPrefix": revoked.hash_prefix,
                "revokedAt": revoked.revoked_at,
                "message": "API key revoked successfully",
            }
        )
