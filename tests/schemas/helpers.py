"""Register schemas and set modes through the real API."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from rest_framework.test import APIClient

ORDER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"total": {"type": "integer", "minimum": 0}, "currency": {"type": "string"}},
    "required": ["total"],
}


def post_json(client: APIClient, path: str, body: Any, method: str = "post") -> Any:
    return getattr(client, method)(path, data=orjson.dumps(body), content_type="application/json")


def register(
    client: APIClient,
    tenant_id: uuid.UUID,
    schema: Any = None,
    event_type: str = "order.created",
    **extra: Any,
) -> Any:
    body = {"tenantId": str(tenant_id), "eventType": event_type, "schemaJson": schema or ORDER_SCHEMA, **extra}
    return post_json(client, "/api/v1/schemas", body)


def set_mode(client: APIClient, tenant_id: uuid.UUID, mode: str | None) -> Any:
    return post_json(client, "/api/v1/schemas/validation-mode", {"tenantId": str(tenant_id), "mode": mode}, "put")
