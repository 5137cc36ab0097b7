"""Agent self-service (``docs/auth.md`` "Agents"): public registration and an agent's own API keys.

Bodies and responses are camelCase, as the reference's. Fixed reference quirks: a revoked key
is refused by every process on its next request (not only by the one that revoked it); a key
prefix must be at least 8 hex characters and must name exactly one key (409 otherwise, never
"the first match"); no caller, admins included, can mint a key wider than itself in any
dimension or act for another agent when it is agent-scoped (``tenants/key_scope.py``, ADR 0015),
nor list or revoke a key wider than itself.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.services import api_actor
from sequencer_project.api.errors import InvalidParameterError
from sequencer_project.api.fields import BIGINT_MAX, Fields, parse_uuid, query_uuid_optional, request_fields
from sequencer_project.api.openapi import UUID, extra_problem, operation, path_param, path_uuid, query
from sequencer_project.api.tenancy import TenantApiMixin
from sequencer_project.api.throttling import Limit, enforce_limits
from tenants.api import openapi as shapes
from tenants.api.serializers import api_key_output, issued_key_output, permissions_label
from tenants.errors import AdminNotAllowedError, AgentNotFoundError, RegistrationDisabledError, TenantIdNotAllowedError
from tenants.key_scope import RequestedScope
from tenants.limits import API_KEY_NAME_MAX, DESCRIPTION_MAX, NAME_MAX, RATE_LIMIT_MAX, RATE_LIMIT_MIN, STORE_IDS_MAX
from tenants.selectors import agent_api_keys_get_for_caller
from tenants.services import agent_api_key_create, agent_api_key_revoke_by_prefix, agent_register

KEY_PREFIX_MIN = 1  # any prefix, as the reference; it must name exactly one key (409 otherwise)
KEY_PREFIX_MAX = 64  # a whole SHA-256 hex digest
_BIGINT = (-BIGINT_MAX - 1, BIGINT_MAX)
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


def _rate_limit(fields: Fields) -> int | None:
    """Optional; any integer a bigint holds outside the range is the handler's 400, not a shape error."""
    return fields.optional_integer("rateLimit", minimum=RATE_LIMIT_MIN, maximum=RATE_LIMIT_MAX, type_range=_BIGINT)


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
        registered = agent_register(
            name=fields.text("name", max_length=NAME_MAX, blank=False),
            description=fields.text("description", max_length=DESCRIPTION_MAX, required=False),
            read_only=fields.boolean("readOnly") or False,
            store_ids=fields.uuid_list("storeIds", max_items=STORE_IDS_MAX) or (),
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


AGENT_TENANT = query(
    "tenant_id",
    UUID,
    "The agent's tenant: the credential's (another is 403); the bootstrap admin names it here (agent ids are"
    " unique per tenant; without it the agent must have keys in one tenant only, 409 agent_ambiguous otherwise).",
)


class _AgentApi(TenantApiMixin):
    """An agent's operations: the agent's tenant is the credential's, or for the bootstrap
    admin the one its ``tenant_id`` query parameter names (agent ids are unique per tenant)."""

    def named_tenant(self) -> uuid.UUID | None:
        return query_uuid_optional(self.request, "tenant_id")


class AgentDetailApi(_AgentApi):
    """``GET /api/v1/agents/{agent_id}``: the agent as its first API key describes it."""

    @operation(
        "agents",
        "agents_get",
        "The agent: tenant, permissions, stores, rate limit",
        parameters=[path_uuid("agent_id"), AGENT_TENANT],
        ok=shapes.AGENT,
    )
    def get(self, request: Request, agent_id: str) -> Response:
        agent = parse_uuid(agent_id, "agent_id")
        found = agent_api_keys_get_for_caller(caller=self.principal, agent_id=agent, tenant_id=self.named_tenant())
        keys = found.keys
        if not keys:
            raise AgentNotFoundError(f"No agent {agent} in this tenant.")
        first = keys[0]
        return Response(
            {
                "agentId": agent,
                "tenantId": found.tenant_id,
                "active": any(key.active for key in keys),
                "permissions": permissions_label(first),
                "storeIds": list(first.store_ids),
                "rateLimit": first.rate_limit,
                "apiKeyCount": len(keys),
                "activeApiKeys": sum(1 for key in keys if key.active),
            }
        )


class AgentApiKeysApi(_AgentApi):
    """``POST/GET /api/v1/agents/{agent_id}/api-keys``: mint or list the agent's API keys (those no
    wider than the caller: ``tenants.key_scope.api_key_within``)."""

    @operation(
        "agents",
        "agent_api_keys_list",
        "The agent's API keys (never the keys themselves)",
        parameters=[path_uuid("agent_id"), AGENT_TENANT],
        ok=shapes.API_KEY_LIST,
    )
    def get(self, request: Request, agent_id: str) -> Response:
        agent = parse_uuid(agent_id, "agent_id")
        keys = agent_api_keys_get_for_caller(caller=self.principal, agent_id=agent, tenant_id=self.named_tenant()).keys
        return Response({"keys": [api_key_output(key) for key in keys], "count": len(keys)})

    @operation(
        "agents",
        "agent_api_keys_create",
        "Mint an API key for the agent, never wider than the caller's",
        body=shapes.API_KEY_CREATE,
        parameters=[path_uuid("agent_id"), AGENT_TENANT],
        ok=shapes.API_KEY_CREATED,
    )
    def post(self, request: Request, agent_id: str) -> Response:
        agent = parse_uuid(agent_id, "agent_id")
        fields = request_fields(request)
        stores = fields.uuid_list("storeIds", max_items=STORE_IDS_MAX)
        requested = RequestedScope(
            agent_id=agent,
            read_only=fields.boolean("readOnly"),
            admin=fields.boolean("admin"),
            store_ids=None if stores is None else frozenset(stores),
            rate_limit=_rate_limit(fields),
            expires_at=fields.timestamp("expiresAt"),
        )
        name = fields.text("name", max_length=API_KEY_NAME_MAX, required=False) or f"agent {agent}"
        issued = agent_api_key_create(
            caller=self.principal,
            requested=requested,
            name=name,
            actor=api_actor(self.principal),
            tenant_id=self.named_tenant(),
        )
        return Response(
            {
                "success": True,
                **issued_key_output(issued),
                "tenantId": issued.api_key.tenant_id,
                "storeIds": list(issued.api_key.store_ids),
                "rateLimit": issued.api_key.rate_limit,
                "expiresAt": issued.api_key.expires_at,
                "message": "API key created. Store it securely - it cannot be retrieved later.",
            },
            headers=NO_STORE,  # 200, as the reference (its clients check for 200)
        )


class AgentApiKeyRevokeApi(_AgentApi):
    """``DELETE /api/v1/agents/{agent_id}/api-keys/{key_prefix}``: revoke the one key with that hash
    prefix; a key wider than the caller is 403 ``permission_widening_denied``."""

    @operation(
        "agents",
        "agent_api_keys_revoke",
        "Revoke the one API key of the agent whose hash starts with key_prefix",
        parameters=[
            path_uuid("agent_id"),
            AGENT_TENANT,
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
        revoked = agent_api_key_revoke_by_prefix(
            caller=self.principal,
            agent_id=agent,
            key_prefix=prefix,
            actor=api_actor(self.principal),
            tenant_id=self.named_tenant(),
        )
        return Response(
            {
                "success": True,
                "keyHashPrefix": revoked.hash_prefix,
                "revokedAt": revoked.revoked_at,
                "message": "API key revoked successfully",
            }
        )
