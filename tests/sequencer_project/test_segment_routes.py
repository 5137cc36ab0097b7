"""Routes whose parameters are free text (``sequencer_project/api/segment_routes.py``): each keeps
its own URL pattern for ``reverse()``, ``resolve()`` and the OpenAPI document, the group's last
takes the rest of its prefix, and a route accepts only ``<str:...>`` parameters and literals."""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.urls import resolve, reverse

from events.api.projection_views import EntityStateApi
from events.api.views import EntityHistoryApi
from schemas.api.views import SchemaByTypeApi, SchemaLatestApi
from sequencer_project.api.segment_routes import segment_path, segment_routed


def _view(*args: object, **kwargs: object) -> HttpResponse:
    return HttpResponse()


@pytest.mark.parametrize(
    ("path", "view", "name"),
    [
        ("/api/v1/entities/order/ORD-1", EntityHistoryApi, "events:entity-history"),
        ("/api/v1/entities/order/ORD-1/state", EntityStateApi, "events:entity-state"),
        ("/api/v1/schemas/event-type/order.created", SchemaByTypeApi, "schemas:by-type"),
        ("/api/v1/schemas/event-type/order.created/latest", SchemaLatestApi, "schemas:latest"),
    ],
)
def test_a_routes_own_path_resolves_to_its_view(path: str, view: type, name: str) -> None:
    match = resolve(path)

    assert match.func.view_class is view  # type: ignore[attr-defined]
    assert match.func.csrf_exempt  # type: ignore[attr-defined]
    assert match.view_name == name


def test_reverse_still_names_each_route() -> None:
    kwargs = {"entity_type": "order", "entity_id": "ORD-1"}

    assert reverse("events:entity-state", kwargs=kwargs) == "/api/v1/entities/order/ORD-1/state"
    assert reverse("schemas:latest", kwargs={"event_type": "x"}) == "/api/v1/schemas/event-type/x/latest"


def test_the_rest_of_a_prefix_resolves_to_the_group() -> None:
    """``ORD%2F1`` arrives decoded as ``ORD/1``: a path of no route, which the group serves."""
    match = resolve("/api/v1/entities/order/ORD/1")

    assert match.url_name is None
    assert match.route == "api/v1/entities/"
    assert match.func.csrf_exempt  # type: ignore[attr-defined]


@pytest.mark.parametrize("route", ["<int:n>", "<str:a>//b", "<path:rest>", "a/<str:b>x"])
def test_a_route_of_other_converters_or_shapes_is_refused(route: str) -> None:
    with pytest.raises(ValueError, match="only <str:name> parameters"):
        segment_path(route, _view, name="x")


def test_a_groups_prefix_is_literal_and_ends_in_a_slash() -> None:
    with pytest.raises(ValueError, match="literal"):
        segment_routed("things", segment_path("<str:a>", _view, name="a"))
    with pytest.raises(ValueError, match="literal"):
        segment_routed("<str:x>/things/", segment_path("<str:a>", _view, name="a"))


@pytest.mark.parametrize(
    ("segments", "fits"),
    [
        (["order", "ORD%2F1"], {"entity_type": "order", "entity_id": "ORD/1"}),
        (["order", ""], None),
        (["order", "ORD", "state"], None),
        (["order"], None),
    ],
)
def test_a_route_fits_the_segments_of_its_shape(segments: list[str], fits: dict[str, str] | None) -> None:
    assert segment_path("<str:entity_type>/<str:entity_id>", _view, name="h").fit(segments) == fits


def test_a_literal_segment_matches_its_escaped_spelling() -> None:
    state = segment_path("<str:entity_type>/<str:entity_id>/state", _view, name="s")

    assert state.fit(["order", "ORD", "st%61te"]) == {"entity_type": "order", "entity_id": "ORD"}
    assert state.fit(["order", "ORD", "stat"]) is None
