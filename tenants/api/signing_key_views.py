"""Agent signing keys (Ed25519 keys that sign VES events): register, list, revoke (``docs/ves.md``).

An agent's API keys (credentials) are ``tenants.api.agent_views``. Bodies and responses are camelCase.
"""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response

from audit.services import api_actor
from sequencer_project.api.errors import InvalidRequestError
from sequencer_project.api.fields import (
    I32,
    U32,
    Fields,
    ShapeErrors,
    field_value_error,
    parse_uuid,
    path_int,
    query_uuid,
    request_fields,
)
from sequencer_project.api.openapi import UUID, operation, path_param, path_uuid, query
from sequencer_project.api.principal import Permission
from sequencer_project.api.tenancy import TenantApiMixin
from tenants.api import openapi as shapes
from tenants.api.serializers import KEY_ALGORITHM_NAMES, SUPPORTED_KEY_ALGORITHMS, agent_key_output
from tenants.errors import InvalidPublicKeyError, UnsupportedKeyAlgorithmError
from tenants.selectors import agent_signing_key_list
from tenants.services import agent_key_register, agent_key_revoke

_U32_MAX = U32[1]
_REQUIRED_UUID = "This field is required and must be a UUID string."
_REQUIRED_U32 = f"This field is required and must be an integer in 0..{_U32_MAX}."
_TIMESTAMP = "Must be an RFC 3339 timestamp."
_KEY_ALGORITHM = "Must be an integer (0 or 1: Ed25519)."  # an i32 in the reference


def _check_supported(key_algorithm: int | None, fields: Fields) -> None:
    """Only Ed25519 keys (``keyAlgorithm`` absent, 0 or 1) are accepted: 400 otherwise.

    The reference also takes hybrid and post-quantum keys (ids 2..6, a ``publicKeyBundle``,
    a ``proofOfPossessionBundle``); we cannot verify their signatures, so such a key is refused
    rather than stored as an Ed25519 key that would verify something else.
    """
    if key_algorithm not in SUPPORTED_KEY_ALGORITHMS:
        name = KEY_ALGORITHM_NAMES.get(key_algorithm, "unknown") if isinstance(key_algorithm, int) else "unknown"
        raise UnsupportedKeyAlgorithmError(
            f"keyAlgorithm {key_algorithm} ({name}) is not supported: only Ed25519 (0 or 1).",
            field="keyAlgorithm",
            key_algorithm=key_algorithm,
        )
    for field in ("publicKeyBundle", "proofOfPossessionBundle"):
        if fields.raw(field) is not None:
            raise UnsupportedKeyAlgorithmError(
                f"{field} is for hybrid and post-quantum keys, which are not supported: send an Ed25519 publicKey.",
                field=field,
                key_algorithm=key_algorithm or 0,
            )


class AgentKeyRegisterApi(TenantApiMixin):
    """``POST /api/v1/agents/keys``: register an agent's Ed25519 key (admin of that tenant; an
    agent-scoped admin only its own agent's)."""

    @operation(
        "agents",
        "agent_keys_register",
        "Register an agent's Ed25519 signing key (tenant admin)",
        body=shapes.AGENT_KEY_REGISTER,
        ok=shapes.AGENT_KEY_REGISTERED,
    )
    def post(self, request: Request) -> Response:
        fields = request_fields(request)
        shape = ShapeErrors()  # the reference answers every ill-typed member at once
        tenant_id = shape.read(lambda: fields.uuid("tenantId", message=_REQUIRED_UUID))
        agent_id = shape.read(lambda: fields.uuid("agentId", message=_REQUIRED_UUID))
        key_id = shape.read(lambda: fields.integer("keyId", type_range=U32, message=_REQUIRED_U32))
        valid_from = shape.read(lambda: fields.timestamp("validFrom", message=_TIMESTAMP))
        valid_to = shape.read(lambda: fields.timestamp("validTo", message=_TIMESTAMP))
        shape.read(lambda: fields.member("publicKey", message="This field is required."))  # its value: after the checks
        key_algorithm = shape.read(
            lambda: fields.optional_integer(
                "keyAlgorithm", minimum=I32[0], maximum=I32[1], type_range=I32, message=_KEY_ALGORITHM
            )
        )
        shape.check()
        assert tenant_id is not None
        assert agent_id is not None
        assert key_id is not None
        self.principal.check_tenant(tenant_id, Permission.ADMIN)
        self.principal.check_agent(agent_id)
        _check_supported(key_algorithm, fields)
        public_key = fields.with_error(field_value_error(InvalidPublicKeyError)).hex("publicKey", lengths=(32,))
        if valid_from is not None and valid_to is not None and valid_from > valid_to:
            raise InvalidRequestError("validFrom must not be after validTo.", errors={"validTo": ["Before validFrom."]})
        agent_key_register(
            tenant_id=tenant_id,
            agent_id=agent_id,
            key_id=key_id,
            public_key=public_key,
            valid_from=valid_from,
            valid_to=valid_to,
            actor=api_actor(self.principal),
        )
        return Response(
            {
                "success": True,
                "tenantId": tenant_id,
                "agentId": agent_id,
                "keyId": key_id,
                "keyAlgorithm": key_algorithm or 0,  # echoed as sent, 0 when absent (as the reference)
                "message": "Agent key registered successfully",
            }
        )


class AgentKeyListApi(TenantApiMixin):
    """``GET /api/v1/agents/{agent_id}/keys?tenant_id=``: the agent's keys (read on that tenant)."""

    @operation(
        "agents",
        "agent_keys_list",
        "An agent's signing keys",
        parameters=[path_uuid("agent_id"), query("tenant_id", UUID, required=True)],
        ok=shapes.AGENT_KEY_LIST,
    )
    def get(self, request: Request, agent_id: str) -> Response:
        agent = parse_uuid(agent_id, "agent_id")
        tenant_id = query_uuid(request, "tenant_id")
        self.principal.check_tenant(tenant_id, Permission.READ)
        keys = agent_signing_key_list(tenant_id=tenant_id, agent_id=agent)
        return Response(
            {"tenantId": tenant_id, "agentId": agent, "keys": [agent_key_output(k) for k in keys], "count": len(keys)}
        )


class AgentKeyRevokeApi(TenantApiMixin):
    """``DELETE /api/v1/agents/{agent_id}/keys/{key_id}?tenant_id=``: revoke (admin of that tenant;
    an agent-scoped admin only its own agent's)."""

    @operation(
        "agents",
        "agent_keys_revoke",
        "Revoke an agent's signing key (tenant admin)",
        parameters=[path_uuid("agent_id"), path_param("key_id", shapes.U32), query("tenant_id", UUID, required=True)],
        ok=shapes.AGENT_KEY_REVOKED,
    )
    def delete(self, request: Request, agent_id: str, key_id: str) -> Response:
        agent = parse_uuid(agent_id, "agent_id")
        key_number = path_int(key_id, "key_id", maximum=_U32_MAX)
        tenant_id = query_uuid(request, "tenant_id")
        self.principal.check_tenant(tenant_id, Permission.ADMIN)
        self.principal.check_agent(agent)
        key = agent_key_revoke(tenant_id=tenant_id, agent_id=agent, key_id=key_number, actor=api_actor(self.principal))
        return Response(
            {
                "success": True,
                "tenantId": tenant_id,
                "agentId": agent,
                "keyId": key_number,
                "status": key.status,
                "revokedAt": key.revoked_at,
                "message": "Agent key revoked",
            }
        )
