"""Every method + path of the reference's router resolves here to a real view.

The table below is our own record of the routes the Rust reference mounts (its `src/api/mod.rs`:
the `/api` router with the nested x402 router, the public and admin routers, the STARK proof
routes, the root-level anchor-compat router; and the ops routes of `src/server.rs`). Each is
called with valid credentials and placeholder ids; a missing route shows as 405 or as a 404
whose problem `code` is the generic `not_found` ("no endpoint at ..."), whereas an unknown
*resource* is a 404 with its own code (`schema_not_found`, `commitment_not_found`, ...).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.conftest import Persona

PLACEHOLDER = str(uuid.UUID("7f3c0a52-4b1e-4c5a-9d7e-2b9a6c1d0e11"))
STREAM = "tenant_id={tenant}&store_id={store}"

# (method, path template, query, caller): "owner" is a tenant admin key; "bootstrap" the nil-tenant admin.
ROUTES: list[tuple[str, str, str, str]] = [
    # ops (server.rs)
    ("GET", "/health", "", "owner"),
    ("GET", "/ready", "", "owner"),
    ("GET", "/health/detailed", "", "bootstrap"),
    ("GET", "/metrics", "", "bootstrap"),
    ("GET", "/admin/", "", "owner"),
    # public router
    ("POST", "/api/v1/agents/register", "", "owner"),
    # ingest
    ("POST", "/api/v1/events/ingest", "", "owner"),
    ("POST", "/api/v1/ves/events/ingest", "", "owner"),
    # VES commitments, proofs, anchoring
    ("GET", "/api/v1/ves/commitments", STREAM, "owner"),
    ("POST", "/api/v1/ves/commitments", "", "owner"),
    ("POST", "/api/v1/ves/commitments/anchor", "", "owner"),
    ("GET", "/api/v1/ves/commitments/{batch_id}", "", "owner"),
    ("GET", "/api/v1/ves/proofs/{sequence_number}", STREAM + "&batch_id={batch_id}", "owner"),
    ("POST", "/api/v1/ves/proofs/verify", "", "owner"),
    ("POST", "/api/v1/ves/anchor", "", "owner"),
    ("GET", "/api/v1/ves/anchor/{batch_id}/verify", "", "owner"),
    # events
    ("GET", "/api/v1/events", STREAM, "owner"),
    ("GET", "/api/v1/head", STREAM, "owner"),
    ("GET", "/api/v1/entities/{entity_type}/{entity_id}", STREAM, "owner"),
    # legacy commitments, proofs, anchoring
    ("GET", "/api/v1/commitments", STREAM, "owner"),
    ("POST", "/api/v1/commitments", "", "owner"),
    ("GET", "/api/v1/commitments/{batch_id}", "", "owner"),
    ("GET", "/api/v1/proofs/{sequence_number}", STREAM + "&batch_id={batch_id}", "owner"),
    ("POST", "/api/v1/proofs/verify", "", "owner"),
    ("GET", "/api/v1/anchor/status", "", "owner"),
    ("POST", "/api/v1/anchor", "", "owner"),
    ("GET", "/api/v1/anchor/{batch_id}/verify", "", "owner"),
    # agents and keys
    ("GET", "/api/v1/agents/{agent_id}", "", "owner"),
    ("POST", "/api/v1/agents/{agent_id}/api-keys", "", "owner"),
    ("GET", "/api/v1/agents/{agent_id}/api-keys", "", "owner"),
    ("DELETE", "/api/v1/agents/{agent_id}/api-keys/{key_prefix}", "", "owner"),
    ("POST", "/api/v1/agents/keys", "", "owner"),
    # schemas
    ("GET", "/api/v1/schemas", "tenant_id={tenant}", "owner"),
    ("POST", "/api/v1/schemas", "", "owner"),
    ("POST", "/api/v1/schemas/validate", "", "owner"),
    ("GET", "/api/v1/schemas/{schema_id}", "", "owner"),
    ("PUT", "/api/v1/schemas/{schema_id}/status", "", "owner"),
    ("DELETE", "/api/v1/schemas/{schema_id}", "", "owner"),
    ("GET", "/api/v1/schemas/event-type/{event_type}", "tenant_id={tenant}", "owner"),
    ("GET", "/api/v1/schemas/event-type/{event_type}/latest", "tenant_id={tenant}&event_type={event_type}", "owner"),
    # x402 (nested under /v1/x402)
    ("POST", "/api/v1/x402/payments", "", "owner"),
    ("GET", "/api/v1/x402/payments", "tenant_id={tenant}", "owner"),
    ("GET", "/api/v1/x402/payments/{intent_id}", "", "owner"),
    ("GET", "/api/v1/x402/payments/{intent_id}/receipt", "", "owner"),
    ("POST", "/api/v1/x402/batches", "", "owner"),
    ("GET", "/api/v1/x402/batches/{batch_id}", "", "owner"),
    ("POST", "/api/v1/x402/batches/settle", "", "owner"),
    # admin router
    ("GET", "/api/v1/admin/overview", "", "owner"),
    ("GET", "/api/v1/admin/tenants", "", "owner"),
    ("GET", "/api/v1/admin/stores", "", "owner"),
    ("GET", "/api/v1/admin/agents", "", "owner"),
]

# The anchor service's root-level routes and the STARK routes (501 problems here).
ROUTES += [
    ("GET", "/v1/commitments/pending", "", "bootstrap"),
    ("POST", "/v1/commitments/{batch_id}/anchored", "", "bootstrap"),
    ("GET", "/api/v1/ves/validity/{batch_id}/inputs", "", "owner"),
    ("GET", "/api/v1/ves/validity/{batch_id}/proofs", "", "owner"),
    ("POST", "/api/v1/ves/validity/{batch_id}/proofs", "", "owner"),
    ("GET", "/api/v1/ves/validity/proofs/{proof_id}", "", "owner"),
    ("GET", "/api/v1/ves/validity/proofs/{proof_id}/verify", "", "owner"),
    ("POST", "/api/v1/ves/compliance/{event_id}/inputs", "", "owner"),
    ("GET", "/api/v1/ves/compliance/{event_id}/proofs", "", "owner"),
    ("POST", "/api/v1/ves/compliance/{event_id}/proofs", "", "owner"),
    ("GET", "/api/v1/ves/compliance/proofs/{proof_id}", "", "owner"),
    ("GET", "/api/v1/ves/compliance/proofs/{proof_id}/verify", "", "owner"),
]


def _url(template: str, query: str, persona: Persona) -> str:
    values = {
        "tenant": persona.tenant_id,
        "store": persona.store_id,
        "batch_id": PLACEHOLDER,
        "agent_id": PLACEHOLDER,
        "intent_id": PLACEHOLDER,
        "schema_id": PLACEHOLDER,
        "event_id": PLACEHOLDER,
        "proof_id": PLACEHOLDER,
        "sequence_number": 1,
        "key_prefix": "abcdef0123456789",
        "entity_type": "order",
        "entity_id": "order-1",
        "event_type": "order.created",
    }
    path = template.format(**values)
    return f"{path}?{query.format(**values)}" if query else path


def _call(method: str, template: str, query: str, client: APIClient, persona: Persona) -> Any:
    url = _url(template, query, persona)
    if method in ("POST", "PUT"):
        return client.generic(method, url, data="{}", content_type="application/json")
    return client.generic(method, url)


def _route_missing(response: Any) -> str | None:
    """Why ``response`` says the route does not exist, or ``None`` if a view answered."""
    if response.status_code == 405:
        return "405 method not allowed"
    if response.status_code != 404:
        return None
    if not response["Content-Type"].startswith("application/problem+json"):
        return "404 without a problem body (the URLconf matched nothing)"
    code = response.json().get("code")
    return "404 not_found: no endpoint" if code == "not_found" else None


def _check(method: str, template: str, query: str, caller: str, owner: Persona, admin_client: APIClient) -> None:
    client = admin_client if caller == "bootstrap" else owner.client
    response = _call(method, template, query, client, owner)
    missing = _route_missing(response)
    assert missing is None, f"{method} {template}: {missing}: {response.content[:300]!r}"
    # 503 is an answer too: anchoring without a chain configured is 503 in the reference as well.
    assert response.status_code != 500, f"{method} {template}: {response.content[:300]!r}"


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "template", "query", "caller"), ROUTES, ids=[f"{m} {p}" for m, p, *_ in ROUTES])
def test_every_reference_route_resolves_to_a_view(
    method: str, template: str, query: str, caller: str, owner: Persona, admin_client: APIClient
) -> None:
    _check(method, template, query, caller, owner, admin_client)


@pytest.mark.django_db
def test_an_unknown_route_is_told_apart_from_an_unknown_resource(owner: Persona) -> None:
    """The distinction the tests above rely on: it must be able to fail."""
    no_route = owner.client.get("/api/v1/no-such-endpoint")
    assert _route_missing(no_route) is not None
    wrong_method = owner.client.delete("/api/v1/head")
    assert _route_missing(wrong_method) == "405 method not allowed"
    no_resource = owner.client.get(f"/api/v1/schemas/{PLACEHOLDER}")
    assert no_resource.status_code == 404
    assert _route_missing(no_resource) is None
