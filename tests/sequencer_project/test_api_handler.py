"""The API's own request path (``sequencer_project/api_handler.py``) through the WSGI application
gunicorn serves: API paths skip the site's middleware but keep request ids, security headers,
problem+json and metrics; the admin keeps sessions and CSRF."""

from __future__ import annotations

import gc
from collections.abc import Callable

import orjson
import pytest
from django.conf import settings
from prometheus_client import REGISTRY

from sequencer_project import api_handler
from sequencer_project import wsgi as served
from sequencer_project.metrics import TALLY
from tests import wsgi
from tests.conftest import Persona, legacy_event

pytestmark = pytest.mark.django_db

# The API without its WSGI endpoints: every operation through its DRF view.
drf_only = api_handler.route_by_path(api=served.api, site=served.site)


_call = wsgi.exchange


def _sample(name: str, labels: dict[str, str]) -> float:
    TALLY.flush()
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_an_api_request_keeps_ids_headers_and_metrics_and_skips_the_sites_middleware(owner: Persona) -> None:
    query = f"tenant_id={owner.tenant_id}&store_id={owner.store_id}"
    counted = {"method": "GET", "path": "/api/v1/head", "status": "200"}
    before = _sample("sequencer_http_requests_total", counted)
    site_before = _sample("django_http_requests_total_by_method_total", {"method": "GET"})

    status, headers, body = _call("/api/v1/head", key=owner.key, query=query)

    assert (status, orjson.loads(body)) == (200, {"head_sequence": 0})
    assert headers["x-request-id"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["cache-control"] == "no-store"
    assert "set-cookie" not in headers
    assert "cookie" not in headers.get("vary", "").lower()
    assert _sample("sequencer_http_requests_total", counted) == before + 1
    assert _sample("django_http_requests_total_by_method_total", {"method": "GET"}) == site_before


def test_an_unknown_api_path_is_a_problem_document() -> None:
    status, headers, body = _call("/api/v1/no-such-endpoint")

    assert status == 404
    assert headers["content-type"] == "application/problem+json"
    assert orjson.loads(body)["status"] == 404


def test_probes_answer_on_the_api_path() -> None:
    assert _call("/health")[0] == 200
    assert _call("/ready")[0] == 200


def test_the_admin_keeps_sessions_and_csrf() -> None:
    status, headers, _ = _call("/admin/login/")

    assert status == 200
    assert "csrftoken=" in headers["set-cookie"]
    assert "django_prometheus.middleware.PrometheusBeforeMiddleware" in settings.MIDDLEWARE


def _cyclic_garbage_of(request: Callable[[], object]) -> list[object]:
    """What ``request`` left that only the cyclic collector could free (nothing else collects
    between the two ``gc.collect`` calls: the collector is paused around the request)."""
    request()  # warm up: caches and lazily made objects of a first request are not garbage
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        request()
        gc.collect()
        return list(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


def test_a_drf_views_request_leaves_nothing_for_the_cyclic_collector(owner: Persona) -> None:
    """The view, its request and its response, a problem response's too, are freed by reference
    counting once the response is out, not by a collection of the web process; so are an unknown
    path's and a WSGI endpoint's problem answers (docs/performance.md, "The reads' tail")."""
    query = f"tenant_id={owner.tenant_id}&store_id={owner.store_id}"
    ingest = wsgi.call(
        "POST",
        "/api/v1/events/ingest",
        body=orjson.dumps(
            {
                "events": [
                    legacy_event(owner.tenant_id, owner.store_id, entity_type="order", entity_id="order-1")
                    for _ in range(3)
                ]
            }
        ),
        HTTP_AUTHORIZATION=f"ApiKey {owner.key}",
    )
    assert ingest.status_code == 200

    def history(app: object = None) -> object:
        response = wsgi.call(
            "GET", "/api/v1/entities/order/order-1", query=query, HTTP_AUTHORIZATION=f"ApiKey {owner.key}", app=app
        )
        assert response.status_code == 200
        assert len(orjson.loads(response.content)["events"]) == 3
        return response

    def event_range(app: object = None) -> object:
        response = wsgi.call(
            "GET", "/api/v1/events", query=query + "&from=1&limit=3", HTTP_AUTHORIZATION=f"ApiKey {owner.key}", app=app
        )
        assert response.status_code == 200
        assert len(orjson.loads(response.content)["events"]) == 3
        return response

    def refused(app: object = None) -> object:  # a problem response
        response = wsgi.call(
            "GET", "/api/v1/events", query="tenant_id=nope", HTTP_AUTHORIZATION=f"ApiKey {owner.key}", app=app
        )
        assert response.status_code == 400
        return response

    def unknown_path() -> object:  # Django's 404 page would search templates first
        response = wsgi.call("GET", "/api/v1/no-such-endpoint", HTTP_AUTHORIZATION=f"ApiKey {owner.key}")
        assert response.status_code == 404
        assert response["Content-Type"] == "application/problem+json"
        return response

    def malformed_ingest() -> object:  # a WSGI endpoint's problem answer
        response = wsgi.call("POST", "/api/v1/events/ingest", body=b"{nope", HTTP_AUTHORIZATION=f"ApiKey {owner.key}")
        assert response.status_code == 400
        return response

    def through_drf_views(request: Callable[[object], object]) -> Callable[[], object]:
        def drf_request() -> object:
            return request(drf_only)

        drf_request.__name__ = f"{request.__name__} through its DRF view"
        return drf_request

    requests: list[Callable[[], object]] = [
        history,
        event_range,
        refused,  # the WSGI endpoints' answers
        *(through_drf_views(r) for r in (history, event_range, refused)),  # as the test client serves them
        unknown_path,
        malformed_ingest,
    ]
    for request in requests:
        assert [type(o).__qualname__ for o in _cyclic_garbage_of(request)] == [], request.__name__


def test_without_the_release_a_drf_views_request_is_left_in_cycles(
    owner: Persona, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check above can fail: Django's view aliases ``head`` to its own ``get`` and DRF's
    request and response name the view, so without ``release_view`` the request is cyclic garbage."""
    monkeypatch.setattr(api_handler, "release_view", lambda response: None)
    query = f"tenant_id={owner.tenant_id}&store_id={owner.store_id}"

    def head_through_drf() -> object:
        return wsgi.call(
            "GET",
            "/api/v1/events",
            query=query + "&from=1&limit=1",
            HTTP_AUTHORIZATION=f"ApiKey {owner.key}",
            app=drf_only,
        )

    names = {type(o).__name__ for o in _cyclic_garbage_of(head_through_drf)}
    assert {"WSGIRequest", "Request", "Response", "EventListApi"} <= names
