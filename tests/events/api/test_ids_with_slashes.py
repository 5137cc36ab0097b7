"""Entity types and ids holding ``/``: ingest stores them, and the read routes address them as the
reference's clients send them, each path parameter percent-escaped (``ORD%2F1``), because routing
splits the path the client sent before decoding each segment (``sequencer_project/api/path_segments.py``;
docs/api.md, "Path parameters holding a slash").

The test client's requests carry ``RAW_URI`` as gunicorn passes it; the WSGI endpoint and its view
are held equal on the same environ; and one test sends the requests to gunicorn itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes

import pytest
from django.http import HttpResponse
from prometheus_client import REGISTRY
from rest_framework.test import APIClient

from events.api import entity_history
from events.projections.entity_state import ENTITY_STATE
from events.services.projections import projection_advance
from sequencer_project import wsgi as served
from sequencer_project.api_handler import route_by_path
from sequencer_project.metrics import TALLY
from tests import wsgi
from tests.conftest import IngestPoster, Persona, legacy_event
from tests.sequencer_project.ops_helpers import get_as_sent, serving_gunicorn

pytestmark = pytest.mark.django_db

drf_only = route_by_path(api=served.api, site=served.site)
ENTITIES = "/api/v1/entities/"


def _sent(client: APIClient, path: str, query: str) -> Any:
    """GET ``path`` (percent-escaped as a client sends it) as gunicorn passes it: ``PATH_INFO``
    decoded, ``RAW_URI`` the request target as sent."""
    return client.get(f"{path}?{query}", RAW_URI=f"{path}?{query}")


def _stream(persona: Persona) -> str:
    return f"tenant_id={persona.tenant_id}&store_id={persona.store_id}"


@pytest.fixture
def slashed(owner: Persona, post_ingest: IngestPoster) -> str:
    """On the owner's stream: ``order/ORD/1`` twice, ``order/ORD`` and ``order/ORD/state`` once
    each, ``shop/order/A`` once, all projected; the stream's query."""
    entities = [("order", "ORD/1"), ("order", "ORD/1"), ("order", "ORD"), ("order", "ORD/state"), ("shop/order", "A")]
    events = [
        legacy_event(owner.tenant_id, owner.store_id, entity_type=kind, entity_id=name, payload={"n": n})
        for n, (kind, name) in enumerate(entities)
    ]
    assert post_ingest(owner.client, {"events": events}).status_code == 200
    projection_advance(projection=ENTITY_STATE, tenant_id=owner.tenant_id, store_id=owner.store_id, batch_size=100)
    return _stream(owner)


def test_an_entity_id_holding_a_slash_has_a_history_and_a_state(owner: Persona, slashed: str) -> None:
    history = _sent(owner.client, ENTITIES + "order/ORD%2F1", slashed)
    state = _sent(owner.client, ENTITIES + "order/ORD%2F1/state", slashed)

    assert history.status_code == 200, history.content
    assert (history.json()["entity_id"], history.json()["count"]) == ("ORD/1", 2)
    assert {e["envelope"]["entity_id"] for e in history.json()["events"]} == {"ORD/1"}
    assert state.status_code == 200, state.content
    assert (state.json()["version"], state.json()["state"]) == (2, {"n": 1})


def test_an_entity_type_holding_a_slash_is_addressed_the_same_way(owner: Persona, slashed: str) -> None:
    history = _sent(owner.client, ENTITIES + "shop%2Forder/A", slashed)
    state = _sent(owner.client, ENTITIES + "shop%2Forder/A/state", slashed)

    assert (history.json()["entity_type"], history.json()["count"]) == ("shop/order", 1)
    assert state.json()["state"] == {"n": 4}


@pytest.mark.parametrize(
    ("path", "answer"),
    [
        # The history of ORD/state, never the state of ORD.
        ("order/ORD%2Fstate", {"entity_id": "ORD/state", "count": 1}),
        ("order/ORD%2F1%2Fstate", {"entity_id": "ORD/1/state", "count": 0}),
        ("order/ORD", {"entity_id": "ORD", "count": 1}),
        ("order/%4FRD", {"entity_id": "ORD", "count": 1}),  # an unreserved character escaped
        ("order/ORD%252F1", {"entity_id": "ORD%2F1", "count": 0}),  # "%2F" itself, escaped once
        ("order/50%25", {"entity_id": "50%", "count": 0}),
    ],
)
def test_an_escaped_slash_stays_inside_its_segment(
    owner: Persona, slashed: str, path: str, answer: dict[str, Any]
) -> None:
    response = _sent(owner.client, ENTITIES + path, slashed)

    assert response.status_code == 200, response.content
    assert {name: response.json()[name] for name in answer} == answer


@pytest.mark.parametrize("path", ["order%2FORD", "order%2FORD%2F1", "order/ORD/1", "order/ORD%2F1/", "order/ORD/x/y"])
def test_a_path_of_no_route_is_the_apis_404(owner: Persona, slashed: str, path: str) -> None:
    response = _sent(owner.client, ENTITIES + path, slashed)

    assert response.status_code == 404, response.content
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("order/%FF", "entity_id"),
        ("order/ORD%C3", "entity_id"),  # a truncated UTF-8 sequence
        ("order/%ED%A0%80", "entity_id"),  # an encoded surrogate
        ("order/a%00b", "entity_id"),
        ("%FF/ORD", "entity_type"),
        ("%00/ORD/state", "entity_type"),
        ("order/%FF/state", "entity_id"),
    ],
)
def test_a_segment_that_decodes_to_no_text_is_an_invalid_parameter(
    owner: Persona, slashed: str, path: str, parameter: str
) -> None:
    response = _sent(owner.client, ENTITIES + path, slashed)
    anonymous = _sent(APIClient(), ENTITIES + path, slashed)

    assert response.status_code == 400, response.content
    assert (response.json()["code"], response.json()["parameter"]) == ("invalid_parameter", parameter)
    assert anonymous.json()["code"] == "missing_auth"  # the caller first, as for every parameter


def _both(path: str, query: str, key: str) -> tuple[HttpResponse, HttpResponse]:
    """The WSGI endpoint's answer and its view's, each on the environ gunicorn would pass."""
    answers = [
        wsgi.call(
            "GET", _path_info(path), query=query, app=app, HTTP_AUTHORIZATION=f"ApiKey {key}", RAW_URI=f"{path}?{query}"
        )
        for app in (served.application, drf_only)
    ]
    return answers[0], answers[1]


def _path_info(path: str) -> str:
    """``PATH_INFO`` as gunicorn passes it: decoded, one character per byte."""
    return unquote_to_bytes(path).decode("latin-1")


@pytest.mark.parametrize(
    "path",
    [
        "order/ORD%2F1",
        "shop%2Forder/A",
        "order/ORD%2Fstate",
        "order/%C3%B6%2F1",
        "order/%FF",
        "order/a%00b",
        "order%2FORD",
        "order/ORD%2F1/state",
    ],
)
def test_the_wsgi_endpoint_answers_as_the_view(owner: Persona, slashed: str, path: str) -> None:
    wsgi.assert_same_answer(*_both(ENTITIES + path, slashed, owner.key))


def test_the_wsgi_endpoint_serves_an_escaped_id_itself(owner: Persona, slashed: str) -> None:
    """Not through its fallback: the hot read stays on the fast path for every id."""
    endpoint = entity_history.EntityHistoryEndpoint(lambda environ, start_response: pytest.fail("fell back"))
    path = ENTITIES + "order/ORD%2F1"
    response = wsgi.call(
        "GET",
        _path_info(path),
        query=slashed,
        app=endpoint,
        HTTP_AUTHORIZATION=f"ApiKey {owner.key}",
        RAW_URI=f"{path}?{slashed}",
    )

    assert response.json()["entity_id"] == "ORD/1"  # type: ignore[attr-defined]


def test_the_route_label_is_the_route_served(owner: Persona, slashed: str) -> None:
    def count(route: str, status: str) -> float:
        TALLY.flush()
        labels = {"method": "GET", "path": route, "status": status}
        return REGISTRY.get_sample_value("sequencer_http_requests_total", labels) or 0.0

    state, unmatched = ENTITIES + ":entity_type/:entity_id/state", "unmatched"
    before = count(state, "200"), count(unmatched, "404")

    _sent(owner.client, ENTITIES + "order/ORD%2F1/state", slashed)  # decoded, a path of no route of its own
    _sent(owner.client, ENTITIES + "order%2FORD", slashed)  # decoded, the history's path

    assert (count(state, "200"), count(unmatched, "404")) == (before[0] + 1, before[1] + 1)


def test_without_the_target_an_escaped_slash_splits_its_segment(owner: Persona, slashed: str) -> None:
    """A server that passes no request target (granian) leaves only ``PATH_INFO``: the documented
    limit (docs/api.md)."""
    response = owner.client.get(f"{ENTITIES}order/ORD%2F1?{slashed}")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_gunicorn_routes_escaped_slashes(tmp_path: Path, owner: Persona, slashed: str) -> None:
    """Under gunicorn as deployed (its ``RAW_URI``): the fast path, the views and the refusals."""
    with serving_gunicorn(tmp_path, WEB_WORKERS="1", WEB_THREADS="2") as (port, _):
        answers = {
            path: get_as_sent(port, f"{ENTITIES}{path}?{slashed}", owner.key)
            for path in ("order/ORD%2F1", "order/ORD%2F1/state", "shop%2Forder/A", "order/ORD%2Fstate", "order%2FORD")
        }
        invalid = get_as_sent(port, f"{ENTITIES}order/%FF?{slashed}", owner.key)

    assert answers["order/ORD%2F1"][0] == 200
    assert answers["order/ORD%2F1"][1]["entity_id"] == "ORD/1"
    assert answers["order/ORD%2F1"][1]["count"] == 2
    assert answers["order/ORD%2F1/state"][0] == 200
    assert answers["order/ORD%2F1/state"][1]["version"] == 2
    assert answers["shop%2Forder/A"][1]["entity_type"] == "shop/order"
    assert answers["order/ORD%2Fstate"][1]["entity_id"] == "ORD/state"
    assert answers["order%2FORD"][0] == 404
    assert invalid[0] == 400
    assert (invalid[1]["code"], invalid[1]["parameter"]) == ("invalid_parameter", "entity_id")


def test_an_id_without_a_slash_reads_as_without_the_target(owner: Persona, slashed: str) -> None:
    assert _sent(owner.client, ENTITIES + "order/ORD", slashed).json() == (
        owner.client.get(f"{ENTITIES}order/ORD?{slashed}").json()
    )
