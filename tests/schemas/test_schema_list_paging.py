"""Schema lists are paged (docs/schemas.md, "Endpoints"): ``limit`` (default 100, capped at 500)
and ``offset``, in SQL, in the reference's order (event type, then newest version first)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from schemas.models import EventSchema
from schemas.selectors import LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT
from tests.conftest import Persona
from tests.schemas.helpers import register

pytestmark = pytest.mark.django_db

LIST = "/api/v1/schemas"
BY_TYPE = "/api/v1/schemas/event-type/order.created"


def _versions(owner: Persona, event_type: str, count: int) -> None:
    """``count`` versions of ``event_type``, stored directly (registration is tested elsewhere)."""
    EventSchema.objects.bulk_create(
        EventSchema(tenant=owner.tenant, event_type=event_type, version=v, schema_json={"title": f"v{v}"})
        for v in range(1, count + 1)
    )


def _get(owner: Persona, path: str, **params: Any) -> Any:
    response = owner.client.get(path, {"tenant_id": str(owner.tenant_id), **params})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == len(body["schemas"])  # the reference's count: the answer's length
    return body


def _keys(body: Any) -> list[tuple[str, int]]:
    return [(s["eventType"], s["version"]) for s in body["schemas"]]


def test_a_list_without_parameters_is_a_bounded_page(owner: Persona) -> None:
    """What a reference client gets: the same shape, the first 100 versions (it answered all)."""
    _versions(owner, "order.created", LIST_DEFAULT_LIMIT + 5)

    body = _get(owner, LIST)

    assert body["count"] == LIST_DEFAULT_LIMIT
    assert _keys(body)[:2] == [("order.created", 105), ("order.created", 104)]
    assert set(body) == {"schemas", "count", "next_offset"}  # the reference's two, and where to go on
    assert body["next_offset"] == LIST_DEFAULT_LIMIT
    assert _get(owner, BY_TYPE)["count"] == LIST_DEFAULT_LIMIT
    assert _get(owner, LIST, offset=LIST_DEFAULT_LIMIT) | {"schemas": None} == {
        "schemas": None,
        "count": 5,
        "next_offset": None,  # the last page says so
    }


def test_pages_walk_every_version_once_in_the_references_order(owner: Persona) -> None:
    _versions(owner, "b.second", 4)
    _versions(owner, "a.first", 3)
    expected = [("a.first", v) for v in (3, 2, 1)] + [("b.second", v) for v in (4, 3, 2, 1)]

    walked: list[tuple[str, int]] = []
    for offset in range(0, 10, 2):
        walked += _keys(_get(owner, LIST, limit=2, offset=offset))

    assert walked == expected
    assert _keys(_get(owner, LIST, limit=5)) == expected[:5]  # `limit=5` was ignored
    assert _keys(_get(owner, LIST, offset=6)) == expected[6:]
    assert _get(owner, LIST, offset=7)["schemas"] == []
    assert _keys(_get(owner, "/api/v1/schemas/event-type/b.second", limit=2, offset=1)) == expected[4:6]


def test_a_limit_above_the_maximum_is_capped(owner: Persona) -> None:
    _versions(owner, "order.created", LIST_MAX_LIMIT + 1)

    assert _get(owner, LIST, limit=LIST_MAX_LIMIT * 10)["count"] == LIST_MAX_LIMIT
    assert _get(owner, BY_TYPE, limit=LIST_MAX_LIMIT + 1)["count"] == LIST_MAX_LIMIT


def test_the_page_is_cut_in_sql(owner: Persona) -> None:
    _versions(owner, "order.created", 3)

    with CaptureQueriesContext(connection) as queries:
        _get(owner, LIST, limit=2, offset=1)

    (listing,) = [q["sql"] for q in queries.captured_queries if '"event_schemas"' in q["sql"]]
    assert "LIMIT 3 OFFSET 1" in listing  # the page and one more, which only tells a next page exists
    assert 'ORDER BY "event_schemas"."event_type" ASC, "event_schemas"."version" DESC' in listing


@pytest.mark.parametrize("path", [LIST, BY_TYPE])
@pytest.mark.parametrize(
    ("parameter", "value"),
    [
        ("limit", "0"),
        ("limit", "-1"),
        ("limit", "five"),
        ("limit", "1.5"),
        ("limit", "9" * 30),
        ("offset", "-1"),
        ("offset", "x"),
        ("offset", "9" * 30),
    ],
)
def test_bad_paging_values_are_invalid_parameters(owner: Persona, path: str, parameter: str, value: str) -> None:
    register(owner.client, owner.tenant_id)

    response = owner.client.get(path, {"tenant_id": str(owner.tenant_id), parameter: value})

    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    assert (response.json()["code"], response.json()["parameter"]) == ("invalid_parameter", parameter)


def test_one_version_by_number_is_not_paged(owner: Persona) -> None:
    _versions(owner, "order.created", 3)

    response = owner.client.get(BY_TYPE, {"tenant_id": str(owner.tenant_id), "version": "2", "offset": "5"})

    assert response.json()["schema"]["version"] == 2


def test_other_tenants_versions_are_not_in_the_page(owner: Persona, outsider: Persona) -> None:
    _versions(owner, "order.created", 2)
    _versions(outsider, "order.created", 2)

    assert _keys(_get(owner, LIST, limit=10)) == [("order.created", 2), ("order.created", 1)]
