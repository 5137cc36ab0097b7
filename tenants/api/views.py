"""Agent signing keys: register, list, revoke (``docs/ves.md``). Bodies and responses are camelCase."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from audit.services import api_actor
from sequencer_project.api.body import read_json_body
from sequencer_project.api.errors import InvalidRequestError
from sequencer_project.api.fields import parse_uuid_text
from sequencer_project.api.openapi import UUID, json_body, path_param, path_uuid, query
from sequencer_project.api.principal import Permission
from sequencer_project.api.tenancy import TenantApiMixin, parse_uuid, path_int, query_uuid
from tenants.api import openapi as shapes
from tenants.api.serializers import KEY_ALGORITHM_NAMES, SUPPORTED_KEY_ALGORITHMS, agent_key_output
from tenants.errors import InvalidPublicKeyError, UnsupportedKeyAlgorithmError
from tenants.selectors import agent_signing_key_list
from tenants.services import agent_key_register, agent_key_revoke
from ves.rfc3339 import parse_rfc3339

_U32_MAX = 2**32 - 1
_I32_MIN, _I32_MAX = -(2**31), 2**31 - 1  # keyAlgorithm is an i32 in the reference


def _uuid_field(body: dict[str, Any], name: str, errors: dict[str, list[str]]) -> uuid.UUID | None:
    parsed = parse_uuid_text(body.get(name))
    if parsed is None:
        errors[name] = ["This field is required and must be a UUID string."]
    return parsed


def _time_field(body: dict[str, Any], name: str, errors: dict[str, list[str]]) -> datetime | None:
    value = body.get(name)
    if value is None:
        return None
    parsed = parse_rfc3339(value) if isinstance(value, str) else None
    if parsed is None:
        errors[name] = ["Must be an RFC 3339 timestamp."]
    return parsed


def _public_key(value: Any) -> bytes:
    if not isinstance(value, str):
        raise InvalidPublicKeyError("publicKey must be a hex string.", field="publicKey")
    text = value.removeprefix("0x").removeprefix("0X")
    try:
        key = bytes.fromhex(text)
    except ValueError as exc:
        raise InvalidPublicKeyError("publicKey is not hex.", field="publicKey") from exc
    if len(key) != 32 or " " in text:
        raise InvalidPublicKeyError(f"publicKey must be 32 bytes, not {len(key)}.", field="publicKey")
    return key


def _check_supported(key_algorithm: int | None, body: dict[str, Any]) -> None:
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
        if body.get(field) is not None:
            raise UnsupportedKeyAlgorithmError(
                f"{field} is for hybrid and post-quantum keys, which are not supported: send an Ed25519 publicKey.",
                field=field,
                key_algorithm=key_algorithm or 0,
            )


class AgentKeyRegisterApi(TenantApiMixin):
    """``POST /api/v1/agents/keys``: register an agent's Ed25519 key (admin of that tenant)."""

    @extend_schema(
        operation_id="agent_keys_register",
        summary="Register an agent's Ed25519 signing key (tenant admin)",
        tags=["agents"],
        request=json_body(shapes.AGENT_KEY_REGISTER),
        responses={200: shapes.AGENT_KEY_REGISTERED},
    )
    def post(self, request: Request) -> Response:
        body = read_json_body(request)
        if not isinstance(body, dict):
            raise InvalidRequestError("The body must be a JSON object.")
        errors: dict[str, list[str]] = {}
        tenant_id = _uuid_field(body, "tenantId", errors)
        agent_id = _uuid_field(body, "agentId", errors)
        key_id = body.get("keyId")
        if not isinstance(key_id, int) or isinstance(key_id, bool) or not 0 <= key_id <= _U32_MAX:
            errors["keyId"] = ["This field is required and must be an integer in 0..4294967295."]
        valid_from = _time_field(body, "validFrom", errors)
        valid_to = _time_field(body, "validTo", errors)
        if "publicKey" not in body:
            errors["publicKey"] = ["This field is required."]
        key_algorithm = body.get("keyAlgorithm")
        if key_algorithm is not None and (
            not isinstance(key_algorithm, int)
            or isinstance(key_algorithm, bool)
            or not _I32_MIN <= key_algorithm <= _I32_MAX
        ):
            errors["keyAlgorithm"] = ["Must be an integer (0 or 1: Ed25519)."]
        if errors:
            first = next(iter(errors))
            raise InvalidRequestError(f"Invalid value at {first}: {errors[first][0]}", errors=errors)
        assert tenant_id is not None
        assert agent_id is not None
        assert isinstance(key_id, int)
        self.principal.check_tenant(tenant_id, Permission.ADMIN)
        _check_supported(key_algorithm, body)
        public_key = _public_key(body["publicKey"])
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

    @extend_schema(
        operation_id="agent_keys_list",
        summary="An agent's signing keys",
        tags=["agents"],
        parameters=[path_uuid("agent_id"), query("tenant_id", UUID, required=True)],
        responses={200: shapes.AGENT_KEY_LIST},
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
    """``DELETE /api/v1/agents/{agent_id}/keys/{key_id}?tenant_id=``: revoke (admin of that tenant)."""

    @extend_schema(
        operation_id="agent_keys_revoke",
        summary="Revoke an agent's signing key (tenant admin)",
        tags=["agents"],
        parameters=[path_uuid("agent_id"), path_param("key_id", shapes.U32), query("tenant_id", UUID, required=True)],
        responses={200: shapes.AGENT_KEY_REVOKED},
    )
    def delete(self, request: Request, agent_id: str, key_id: str) -> Response:
        agent = parse_uuid(agent_id, "agent_id")
        key_number = path_int(key_id, "key_id", maximum=_U32_MAX)
        tenant_id = query_uuid(request, "tenant_id")
        self.principal.check_tenant(tenant_id, Permission.ADMIN)
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
