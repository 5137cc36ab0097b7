"""A new version in another draft (``$schema``) is never accepted as compatible (docs/schemas.md,
"Compatibility rules"): draft 4 has no ``const``, so the same keywords accept other documents."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Persona
from tests.schemas.helpers import post_json, register

pytestmark = pytest.mark.django_db

DRAFT_4 = "http://json-schema.org/draft-04/schema#"
DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
IN_DRAFT_4: dict[str, Any] = {"$schema": DRAFT_4, "type": "object", "properties": {"a": {"const": 1}}}
DEFAULT_DRAFT: dict[str, Any] = {"type": "object", "properties": {"a": {"const": 1}}}


def _valid(owner: Persona, version: int, payload: Any) -> bool:
    body = {"tenantId": str(owner.tenant_id), "eventType": "X", "payload": payload, "schemaVersion": version}
    response = post_json(owner.client, "/api/v1/schemas/validate", body)
    assert response.status_code == 200, response.content
    return bool(response.json()["valid"])


def _refused(response: Any, *directions: str) -> list[str]:
    assert response.status_code == 409, response.content
    body = response.json()
    assert body["code"] == "incompatible_schema"
    problems: list[str] = body["problems"]
    assert [p.split(":", 1)[0] for p in problems] == list(directions)
    return problems


def test_the_audits_pair_really_differs_on_documents(owner: Persona) -> None:
    """Why the pair must be refused: ``{"a": 2}`` is valid under draft 4 (``const`` ignored) and
    not under the default 2020-12."""
    assert register(owner.client, owner.tenant_id, IN_DRAFT_4, event_type="X").status_code == 200
    assert (
        register(owner.client, owner.tenant_id, DEFAULT_DRAFT, event_type="X", compatibility="none").json()["version"]
        == 2
    )

    assert (_valid(owner, 1, {"a": 2}), _valid(owner, 2, {"a": 2})) == (True, False)


def test_backward_refuses_dropping_the_draft(owner: Persona) -> None:
    register(owner.client, owner.tenant_id, IN_DRAFT_4, event_type="X")

    problems = _refused(register(owner.client, owner.tenant_id, DEFAULT_DRAFT, event_type="X"), "backward")

    assert problems == [
        f'backward: $: $schema differs: old version "{DRAFT_4}", new version "{DRAFT_2020_12}" '
        "(the default: no $schema); schemas of different drafts are never compared (keep $schema as it "
        "was, or register with compatibility none)"
    ]


def test_forward_refuses_adding_a_draft(owner: Persona) -> None:
    register(owner.client, owner.tenant_id, DEFAULT_DRAFT, event_type="X")

    response = register(owner.client, owner.tenant_id, IN_DRAFT_4, event_type="X", compatibility="forward")

    (problem,) = _refused(response, "forward")
    assert problem.startswith(f'forward: $: $schema differs: new version "{DRAFT_4}", old version "{DRAFT_2020_12}"')


def test_full_refuses_both_ways(owner: Persona) -> None:
    register(owner.client, owner.tenant_id, IN_DRAFT_4, event_type="X")

    _refused(
        register(owner.client, owner.tenant_id, DEFAULT_DRAFT, event_type="X", compatibility="full"),
        *(
            "backward",
            "forward",
        ),
    )


def test_none_accepts_a_new_draft(owner: Persona) -> None:
    register(owner.client, owner.tenant_id, IN_DRAFT_4, event_type="X")

    response = register(owner.client, owner.tenant_id, DEFAULT_DRAFT, event_type="X", compatibility="none")

    assert (response.status_code, response.json()["version"]) == (200, 2)


def test_a_subschema_declaring_its_own_draft_is_compared_there(owner: Persona) -> None:
    """jsonschema switches draft at a subschema that declares ``$schema``: ``a`` ignores its
    ``const`` in v1, so the change is found at ``$.a``."""
    nested = {"type": "object", "properties": {"a": {"$schema": DRAFT_4, "const": 1}}}
    register(owner.client, owner.tenant_id, nested, event_type="X")

    (problem,) = _refused(register(owner.client, owner.tenant_id, DEFAULT_DRAFT, event_type="X"), "backward")

    assert problem.startswith(f'backward: $.a: $schema differs: old version "{DRAFT_4}", new version "{DRAFT_2020_12}"')
    assert "(inherited: no $schema)" in problem


@pytest.mark.parametrize("spelling", [DRAFT_2020_12, DRAFT_2020_12 + "#"])
def test_declaring_the_default_draft_changes_nothing(owner: Persona, spelling: str) -> None:
    register(owner.client, owner.tenant_id, DEFAULT_DRAFT, event_type="X")

    response = register(owner.client, owner.tenant_id, {**DEFAULT_DRAFT, "$schema": spelling}, event_type="X")

    assert response.status_code == 200, response.content


def test_the_same_draft_spelt_without_its_hash_is_the_same_draft(owner: Persona) -> None:
    register(owner.client, owner.tenant_id, IN_DRAFT_4, event_type="X")

    response = register(owner.client, owner.tenant_id, {**IN_DRAFT_4, "$schema": DRAFT_4.rstrip("#")}, event_type="X")

    assert response.status_code == 200, response.content


def test_const_is_no_restriction_in_draft_4(owner: Persona) -> None:
    """Within draft 4, ``const`` restricts nothing: typing ``a`` is a narrowing (it was accepted,
    read as "only 1 was allowed")."""
    register(owner.client, owner.tenant_id, IN_DRAFT_4, event_type="X")
    typed = {**IN_DRAFT_4, "properties": {"a": {"type": "integer"}}}

    (problem,) = _refused(register(owner.client, owner.tenant_id, typed, event_type="X"), "backward")

    assert problem == "backward: $.a: type restricted to ['integer']"


@pytest.mark.parametrize(
    ("schema", "where"),
    [
        # draft 4 has no boolean subschemas: the 2020-12 root's metaschema allows it, draft 4's does not
        ({"properties": {"a": {"$schema": DRAFT_4, "items": True}}}, "$.properties.a"),
        ({"allOf": [{"$schema": DRAFT_4, "properties": {"b": False}}]}, "$.allOf[0]"),
        # reached only through a reference, under a keyword no draft defines
        ({"$ref": "#/elsewhere", "elsewhere": {"$schema": DRAFT_4, "items": True}}, "$.$ref"),
        ({"properties": {"a": {"$schema": "https://example.com/no-such-draft"}}}, "$.properties.a.$schema"),
    ],
)
def test_a_subschema_invalid_under_its_own_draft_is_refused_not_a_500(
    owner: Persona, schema: dict[str, Any], where: str
) -> None:
    """Registration walked such a subschema by its own draft's rules and raised (500): now it is
    checked against that draft's metaschema first and refused with where it stands."""
    response = register(owner.client, owner.tenant_id, schema, event_type="Y")

    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert (body["code"], body["status"]) == ("invalid_schema", 400)
    assert where in body["detail"], body["detail"]
    assert owner.client.get(f"/api/v1/schemas?tenant_id={owner.tenant_id}").json()["count"] == 0
