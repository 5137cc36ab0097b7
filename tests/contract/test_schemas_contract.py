"""The schema routes of the reference router (``src/api/mod.rs``), answered with the shapes,
types and status codes of ``src/api/handlers/schemas.rs`` and ``src/api/types.rs``.

Every route: list, register, validate, get, status, delete, by event type (all / one
version), latest. Errors stay problem+json (ours); success bodies carry the reference's
members with its types, timestamps in ``to_rfc3339()`` form.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from rest_framework.test import APIClient

from schemas.registry import mode_cache, schema_cache
from tests.conftest import IngestPoster, Persona, legacy_event
from tests.contract.wire import (
    anything,
    array_of,
    assert_members,
    assert_problem,
    boolean,
    equal,
    integer,
    nullable,
    object_with,
    offset_time,
    text,
    uuid_text,
)
from tests.schemas.helpers import post_json

pytestmark = pytest.mark.django_db

ORDER = {
    "type": "object",
    "properties": {
        "total": {"type": "integer"},
        "items": {
            "type": "array",
            "items": {"type": "object", "properties": {"sku": {"type": "string"}}, "required": ["sku"]},
        },
    },
    "required": ["total"],
}
# RegisterSchemaResponse
REGISTERED = {"id": uuid_text, "eventType": text, "version": integer, "createdAt": offset_time}
# SchemaResponse
SCHEMA = {
    "id": uuid_text,
    "tenantId": uuid_text,
    "eventType": text,
    "version": integer,
    "schemaJson": anything,
    "status": text,
    "compatibility": text,
    "description": nullable(text),
    "createdAt": offset_time,
    "updatedAt": offset_time,
    "createdBy": nullable(text),
}
# ValidationResponse
VALIDATION = {
    "valid": boolean,
    "schemaId": nullable(uuid_text),
    "schemaVersion": nullable(integer),
    "errors": array_of(lambda e: isinstance(e, dict) and set(e) == {"path", "message"} and text(e["path"])),
}


def _register(client: APIClient, tenant_id: uuid.UUID, event_type: str = "order.created", **extra: Any) -> Any:
    body = {"tenantId": str(tenant_id), "eventType": event_type, "schemaJson": ORDER, **extra}
    return post_json(client, "/api/v1/schemas", body)


def _validate(client: APIClient, tenant_id: uuid.UUID, payload: Any, **extra: Any) -> Any:
    body = {"tenantId": str(tenant_id), "eventType": "order.created", "payload": payload, **extra}
    return post_json(client, "/api/v1/schemas/validate", body)


def test_register_answers_200_with_the_register_schema_response(owner: Persona) -> None:
    response = _register(owner.client, owner.tenant_id, description="orders")

    assert response.status_code == 200, response.content  # the reference's clients check === 200
    assert_members(response.json(), REGISTERED, exact=True)
    assert response.json()["version"] == 1
    assert _register(owner.client, owner.tenant_id).json()["version"] == 2


def test_get_list_and_by_event_type_answer_schema_responses(owner: Persona) -> None:
    first = _register(owner.client, owner.tenant_id, description="orders").json()
    _register(owner.client, owner.tenant_id)
    _register(owner.client, owner.tenant_id, event_type="order.shipped")
    tenant = {"tenant_id": str(owner.tenant_id)}

    got = owner.client.get(f"/api/v1/schemas/{first['id']}")
    listed = owner.client.get("/api/v1/schemas", tenant)
    # A reference client also sends event_type in the query (the reference demands it).
    by_type = owner.client.get("/api/v1/schemas/event-type/order.created", {**tenant, "event_type": "order.created"})
    one = owner.client.get(
        "/api/v1/schemas/event-type/order.created", {**tenant, "event_type": "order.created", "version": "1"}
    )
    latest = owner.client.get(
        "/api/v1/schemas/event-type/order.created/latest", {**tenant, "event_type": "order.created"}
    )

    assert [r.status_code for r in (got, listed, by_type, one, latest)] == [200] * 5
    assert_members(got.json(), SCHEMA)
    body = got.json()
    assert (body["id"], body["tenantId"], body["version"]) == (first["id"], str(owner.tenant_id), 1)
    assert (body["status"], body["compatibility"], body["description"]) == ("active", "backward", "orders")
    assert body["createdAt"] == first["createdAt"]
    assert body["schemaJson"] == ORDER
    assert_members(listed.json(), {"schemas": array_of(object_with(SCHEMA)), "count": integer})
    # ORDER BY event_type, version DESC, as the reference
    assert [(s["eventType"], s["version"]) for s in listed.json()["schemas"]] == [
        ("order.created", 2),
        ("order.created", 1),
        ("order.shipped", 1),
    ]
    assert listed.json()["count"] == 3
    assert by_type.json()["count"] == 2
    assert [s["version"] for s in by_type.json()["schemas"]] == [2, 1]
    assert set(one.json()) == {"schema"}
    assert_members(one.json()["schema"], SCHEMA)
    assert one.json()["schema"]["id"] == first["id"]
    assert_members(latest.json(), SCHEMA)
    assert latest.json()["version"] == 2


def test_a_schema_registered_without_a_description_reads_back_null(owner: Persona) -> None:
    schema_id = _register(owner.client, owner.tenant_id).json()["id"]

    assert owner.client.get(f"/api/v1/schemas/{schema_id}").json()["description"] is None


def test_validate_without_a_schema_is_valid_with_null_ids(owner: Persona) -> None:
    response = _validate(owner.client, owner.tenant_id, {"anything": True})

    assert response.status_code == 200, response.content
    assert response.json() == {"valid": True, "schemaId": None, "schemaVersion": None, "errors": []}


def test_validate_reports_json_pointer_paths(owner: Persona) -> None:
    registered = _register(owner.client, owner.tenant_id).json()

    bad = _validate(owner.client, owner.tenant_id, {"total": "3", "items": [{"sku": 1}, {}]})
    good = _validate(owner.client, owner.tenant_id, {"total": 3, "items": [{"sku": "A"}]}, schemaVersion=1)
    root = _validate(owner.client, owner.tenant_id, {"items": []})

    assert [r.status_code for r in (bad, good, root)] == [200] * 3
    for response in (bad, good, root):
        assert_members(response.json(), VALIDATION, exact=True)
    assert (bad.json()["valid"], bad.json()["schemaId"], bad.json()["schemaVersion"]) == (False, registered["id"], 1)
    assert sorted(e["path"] for e in bad.json()["errors"]) == ["/items/0/sku", "/items/1", "/total"]
    assert good.json() == {"valid": True, "schemaId": registered["id"], "schemaVersion": 1, "errors": []}
    assert [e["path"] for e in root.json()["errors"]] == [""]  # the root is the empty pointer, not "$"


def test_a_pointer_escapes_slash_and_tilde(owner: Persona) -> None:
    schema = {"type": "object", "properties": {"a/b": {"type": "object", "properties": {"c~d": {"type": "integer"}}}}}
    post_json(
        owner.client, "/api/v1/schemas", {"tenantId": str(owner.tenant_id), "eventType": "esc", "schemaJson": schema}
    )

    response = post_json(
        owner.client,
        "/api/v1/schemas/validate",
        {"tenantId": str(owner.tenant_id), "eventType": "esc", "payload": {"a/b": {"c~d": "x"}}},
    )

    assert [e["path"] for e in response.json()["errors"]] == ["/a~1b/c~0d"]


def test_ingest_rejections_carry_json_pointer_paths(owner: Persona, post_ingest: IngestPoster) -> None:
    schema_cache.clear()
    mode_cache.clear()
    _register(owner.client, owner.tenant_id)
    event = legacy_event(owner.tenant_id, owner.store_id, payload={"total": 1, "items": [{"sku": 5}]})

    body = post_ingest(owner.client, {"events": [event]}).json()

    assert body["events_rejected"] == 1
    rejection = body["rejections"][0]
    assert rejection["reason"] == "SchemaValidation"
    assert rejection["message"] == (
        "Schema validation failed for event type 'order.created': /items/0/sku: 5 is not of type \"string\""
    )


def test_status_update_and_delete_answer_the_reference_bodies(owner: Persona, admin_client: APIClient) -> None:
    schema_id = _register(owner.client, owner.tenant_id).json()["id"]

    updated = post_json(owner.client, f"/api/v1/schemas/{schema_id}/status", {"status": "deprecated"}, "put")
    deleted = admin_client.delete(f"/api/v1/schemas/{schema_id}")

    assert updated.status_code == 200, updated.content
    assert_members(updated.json(), {"success": equal(True), "schema_id": uuid_text, "new_status": text}, exact=True)
    assert updated.json() == {"success": True, "schema_id": schema_id, "new_status": "deprecated"}
    assert deleted.status_code == 200, deleted.content
    assert deleted.json() == {"success": True, "deleted_schema_id": schema_id}


def test_not_found_and_rights_are_problems(owner: Persona, member: Persona, outsider: Persona) -> None:
    schema_id = _register(owner.client, owner.tenant_id).json()["id"]
    tenant = {"tenant_id": str(owner.tenant_id)}

    assert_problem(owner.client.get(f"/api/v1/schemas/{uuid.uuid4()}"), 404, "schema_not_found")
    assert_problem(owner.client.get("/api/v1/schemas/event-type/nothing/latest", tenant), 404, "schema_not_found")
    missing_version = owner.client.get("/api/v1/schemas/event-type/order.created", {**tenant, "version": "9"})
    assert_problem(missing_version, 404, "schema_not_found")
    assert_problem(_validate(owner.client, owner.tenant_id, {}, schemaVersion=9), 404, "schema_not_found")
    assert_problem(_register(outsider.client, owner.tenant_id), 403, "tenant_access_denied")
    assert_problem(outsider.client.get("/api/v1/schemas", tenant), 403, "tenant_access_denied")
    assert_problem(_validate(outsider.client, owner.tenant_id, {}), 403, "tenant_access_denied")
    assert_problem(outsider.client.get(f"/api/v1/schemas/{schema_id}"), 404, "schema_not_found")
    assert_problem(member.client.delete(f"/api/v1/schemas/{schema_id}"), 403, "permission_denied")
