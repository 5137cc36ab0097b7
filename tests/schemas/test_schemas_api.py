"""Registry endpoints: CRUD, versions, compatibility enforcement, tenancy, validate, modes."""

from __future__ import annotations

import uuid

import pytest
from rest_framework.test import APIClient

from tests.conftest import Persona
from tests.schemas.helpers import ORDER_SCHEMA, post_json, register, set_mode

pytestmark = pytest.mark.django_db


def test_versions_count_up_per_event_type(owner: Persona) -> None:
    first = register(owner.client, owner.tenant_id)
    second = register(owner.client, owner.tenant_id, {**ORDER_SCHEMA, "required": []})
    other = register(owner.client, owner.tenant_id, event_type="order.shipped")

    assert first.status_code == 200, first.content
    assert [first.json()["version"], second.json()["version"], other.json()["version"]] == [1, 2, 1]
    listed = owner.client.get(f"/api/v1/schemas?tenant_id={owner.tenant_id}").json()
    assert listed["count"] == 3
    detail = owner.client.get(f"/api/v1/schemas/{first.json()['id']}").json()
    assert detail["schemaJson"] == ORDER_SCHEMA
    assert detail["status"] == "active"
    assert detail["compatibility"] == "backward"
    assert detail["tenantId"] == str(owner.tenant_id)


def test_an_incompatible_version_is_refused_with_the_reasons(owner: Persona) -> None:
    register(owner.client, owner.tenant_id)
    response = register(owner.client, owner.tenant_id, {**ORDER_SCHEMA, "required": ["total", "currency"]})

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "incompatible_schema"
    assert body["problems"] == ["backward: $: property 'currency' became required"]
    # compatibility "none" accepts it; archived versions are not compared against
    assert register(owner.client, owner.tenant_id, {"type": "string"}, compatibility="none").status_code == 200


def test_archived_versions_are_skipped_by_the_compatibility_check(owner: Persona) -> None:
    first = register(owner.client, owner.tenant_id).json()
    status = post_json(owner.client, f"/api/v1/schemas/{first['id']}/status", {"status": "archived"}, "put")
    assert status.json() == {"success": True, "schema_id": first["id"], "new_status": "archived"}

    assert register(owner.client, owner.tenant_id, {"type": "string"}).json()["version"] == 2


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"eventType": "x", "schemaJson": {"type": "nope"}}, 400, "invalid_schema"),
        ({"eventType": "x", "schemaJson": 5}, 400, "invalid_schema"),
        ({"eventType": "", "schemaJson": {}}, 422, "invalid_request"),
        ({"eventType": "x"}, 422, "invalid_request"),
        # The reference reads `compatibility` as a String and refuses the word in its handler.
        ({"eventType": "x", "schemaJson": {}, "compatibility": "sideways"}, 400, "invalid_field_value"),
        ({"eventType": "x", "schemaJson": {}, "compatibility": 7}, 422, "invalid_request"),
        ({"eventType": "x", "schemaJson": {"description": "y" * 200_000}}, 400, "schema_too_large"),
        # PostgreSQL jsonb cannot hold U+0000: found by schemathesis as a 500.
        ({"eventType": "x", "schemaJson": {"description": "a\x00b"}}, 400, "invalid_field"),
        ({"eventType": "x", "schemaJson": {"properties": {"a\x00": {}}}}, 400, "invalid_field"),
    ],
)
def test_bad_registrations_are_clear_4xx(owner: Persona, body: dict[str, object], status: int, code: str) -> None:
    response = post_json(owner.client, "/api/v1/schemas", {"tenantId": str(owner.tenant_id), **body})

    assert response.status_code == status, response.content
    assert response.json()["code"] == code


@pytest.mark.parametrize("path", ["/api/v1/schemas/event-type/{}", "/api/v1/schemas/event-type/{}/latest"])
def test_an_event_type_path_that_can_name_no_schema_is_an_invalid_parameter(owner: Persona, path: str) -> None:
    response = owner.client.get(path.format("e" * 257), {"tenant_id": str(owner.tenant_id)})

    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid_parameter"
    assert response.json()["parameter"] == "event_type"


def test_other_tenants_cannot_see_touch_or_register(owner: Persona, outsider: Persona) -> None:
    schema_id = register(owner.client, owner.tenant_id).json()["id"]

    assert outsider.client.get(f"/api/v1/schemas/{schema_id}").status_code == 404
    put = post_json(outsider.client, f"/api/v1/schemas/{schema_id}/status", {"status": "archived"}, "put")
    assert put.status_code == 404
    assert outsider.client.delete(f"/api/v1/schemas/{schema_id}").status_code == 404
    assert register(outsider.client, owner.tenant_id).status_code == 403
    assert outsider.client.get(f"/api/v1/schemas?tenant_id={owner.tenant_id}").status_code == 403
    assert owner.client.get("/api/v1/schemas/not-a-uuid").status_code == 400


def test_delete_needs_admin(owner: Persona, member: Persona, admin_client: APIClient) -> None:
    schema_id = register(owner.client, owner.tenant_id).json()["id"]

    assert member.client.delete(f"/api/v1/schemas/{schema_id}").status_code == 403
    deleted = admin_client.delete(f"/api/v1/schemas/{schema_id}")
    assert deleted.json() == {"success": True, "deleted_schema_id": schema_id}
    assert owner.client.get(f"/api/v1/schemas/{schema_id}").status_code == 404


def test_lookup_by_event_type_version_and_latest_active(owner: Persona) -> None:
    v1 = register(owner.client, owner.tenant_id).json()
    v2 = register(owner.client, owner.tenant_id, {**ORDER_SCHEMA, "required": []}).json()
    post_json(owner.client, f"/api/v1/schemas/{v2['id']}/status", {"status": "deprecated"}, "put")
    base = "/api/v1/schemas/event-type/order.created"

    assert owner.client.get(f"{base}?tenant_id={owner.tenant_id}").json()["count"] == 2
    assert owner.client.get(f"{base}?tenant_id={owner.tenant_id}&version=2").json()["schema"]["id"] == v2["id"]
    assert owner.client.get(f"{base}/latest?tenant_id={owner.tenant_id}").json()["id"] == v1["id"]
    missing = owner.client.get(f"{base}?tenant_id={owner.tenant_id}&version=9")
    assert missing.status_code == 404
    assert missing.json()["code"] == "schema_not_found"


def test_validate_reports_json_pointers(owner: Persona) -> None:
    schema_id = register(owner.client, owner.tenant_id).json()["id"]
    body = {"tenantId": str(owner.tenant_id), "eventType": "order.created", "payload": {"total": -1, "currency": 3}}

    result = post_json(owner.client, "/api/v1/schemas/validate", body).json()

    assert result["valid"] is False
    assert result["schemaId"] == schema_id
    assert result["schemaVersion"] == 1
    assert [e["path"] for e in result["errors"]] == ["/currency", "/total"]
    ok = post_json(owner.client, "/api/v1/schemas/validate", {**body, "payload": {"total": 1}, "schemaVersion": 1})
    assert ok.json()["valid"] is True
    # no schema: nothing to check, valid (as the reference); a version that does not exist: 404
    unknown = post_json(owner.client, "/api/v1/schemas/validate", {**body, "eventType": "nothing"})
    assert (unknown.status_code, unknown.json()) == (
        200,
        {"valid": True, "schemaId": None, "schemaVersion": None, "errors": []},
    )
    no_version = post_json(owner.client, "/api/v1/schemas/validate", {**body, "schemaVersion": 7})
    assert (no_version.status_code, no_version.json()["code"]) == (404, "schema_not_found")


def test_the_tenant_mode_override(owner: Persona, member: Persona) -> None:
    assert set_mode(owner.client, owner.tenant_id, "strict").json()["mode"] == "required"
    got = owner.client.get(f"/api/v1/schemas/validation-mode?tenant_id={owner.tenant_id}").json()
    assert got["override"] == "required"
    assert got["default"] == "enforce"
    assert set_mode(member.client, owner.tenant_id, "warn").status_code == 403
    assert set_mode(member.client, owner.tenant_id, "loud").status_code == 403  # the caller before the value
    assert set_mode(member.client, owner.tenant_id, "w" * 1000).status_code == 403
    bad = set_mode(owner.client, owner.tenant_id, "loud")
    assert bad.status_code == 400
    assert bad.json()["code"] == "invalid_validation_mode"
    assert set_mode(owner.client, owner.tenant_id, None).json() == {
        "tenantId": str(owner.tenant_id),
        "mode": "enforce",
        "override": None,
    }
    assert uuid.UUID(got["tenantId"]) == owner.tenant_id


@pytest.mark.parametrize("mode", [5, True, ["warn"], {"mode": "warn"}])
def test_a_mode_of_the_wrong_json_type_is_the_collectors_422(owner: Persona, mode: object) -> None:
    """It answered 400 ``invalid_validation_mode``, the code of an unknown spelling."""
    response = post_json(
        owner.client, "/api/v1/schemas/validation-mode", {"tenantId": str(owner.tenant_id), "mode": mode}, "put"
    )
    assert (response.status_code, response.json()["code"]) == (422, "invalid_request"), response.content
    assert list(response.json()["errors"]) == ["mode"]


def test_a_body_without_mode_is_refused_and_keeps_the_override(owner: Persona) -> None:
    """Only an explicit null removes the override; a body that forgot ``mode`` had removed it."""
    assert set_mode(owner.client, owner.tenant_id, "warn").json()["override"] == "warn"
    response = post_json(owner.client, "/api/v1/schemas/validation-mode", {"tenantId": str(owner.tenant_id)}, "put")
    assert (response.status_code, response.json()["code"], list(response.json()["errors"])) == (
        422,
        "invalid_request",
        ["mode"],
    )
    got = owner.client.get(f"/api/v1/schemas/validation-mode?tenant_id={owner.tenant_id}").json()
    assert got["override"] == "warn"
    assert set_mode(owner.client, owner.tenant_id, None).json()["override"] is None


def test_a_mode_is_any_spelling_and_a_long_one_is_unknown(owner: Persona) -> None:
    assert set_mode(owner.client, owner.tenant_id, "  Strict ").json()["override"] == "required"
    long = set_mode(owner.client, owner.tenant_id, "w" * 1000)
    assert (long.status_code, long.json()["code"], list(long.json()["errors"])) == (
        400,
        "invalid_validation_mode",
        ["mode"],
    )


def test_a_number_jsonb_returns_wider_than_64_bits_is_served_and_compared(owner: Persona) -> None:
    """Found by schemathesis (a 500): orjson parses 1.8446744073709552e+19 as a float, jsonb stores it
    exactly and psycopg reads it back as a 65-bit int, which orjson could not write."""
    schema = {"type": "object", "properties": {"n": {"type": "number", "maximum": 1.8446744073709552e19}}}
    first = register(owner.client, owner.tenant_id, schema)
    second = register(owner.client, owner.tenant_id, schema)

    assert (first.status_code, second.status_code) == (200, 200), second.content
    served = owner.client.get(f"/api/v1/schemas/{first.json()['id']}")
    assert served.status_code == 200
    assert served.json()["schemaJson"]["properties"]["n"]["maximum"] == 1.8446744073709552e19
