"""Draft 3's ``extends`` as one schema: the reference walker (``referencing``) fails on it with an
``AttributeError``, which reached the client as a 500; it is now a 400 ``invalid_schema`` saying
to write the array form, which registers (docs/schemas.md)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Persona
from tests.schemas.helpers import register

DRAFT3 = "http://json-schema.org/draft-03/schema#"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("schema", "where"),
    [
        ({"$schema": DRAFT3, "extends": {"type": "string"}}, "$"),
        ({"properties": {"a": {"$schema": DRAFT3, "extends": {"type": "string"}}}}, "$.properties.a"),
    ],
)
def test_extends_as_one_schema_is_a_clear_400(owner: Persona, schema: dict[str, Any], where: str) -> None:
    refused = register(owner.client, owner.tenant_id, schema, event_type="probe.extends")

    assert refused.status_code == 400, refused.content
    assert refused["Content-Type"] == "application/problem+json"
    assert (refused.json()["status"], refused.json()["code"]) == (400, "invalid_schema")
    assert where in refused.json()["detail"]
    assert "write `extends` as an array of schemas" in refused.json()["detail"]


@pytest.mark.django_db
def test_extends_as_an_array_registers_and_validates(owner: Persona) -> None:
    schema = {"$schema": DRAFT3, "extends": [{"type": "string"}]}
    assert register(owner.client, owner.tenant_id, schema, event_type="probe.extends").status_code == 200
    answer = owner.client.post(
        "/api/v1/schemas/validate",
        {"tenantId": str(owner.tenant_id), "eventType": "probe.extends", "payload": 5},
        format="json",
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["valid"] is False
