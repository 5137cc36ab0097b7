"""The API's own request path (``sequencer_project/api_handler.py``) through the WSGI application
gunicorn serves: API paths skip the site's middleware but keep request ids, security headers,
problem+json and metrics; the admin keeps sessions and CSRF."""

from __future__ import annotations

import orjson
import pytest
from django.conf import settings
from prometheus_client import REGISTRY

from sequencer_project.metrics import TALLY
from tests import wsgi
from tests.conftest import Persona

pytestmark = pytest.mark.django_db


_call = wsgi.exchange


def _sample(name: str, labels: dict[str, str]) -> float:
    TALLY.flush()
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_an_api_request_keeps_ids_headers_and_metrics_and_skips_the_sites_middleware(owner: Persona) -> None:
    query = f"tenant_id={owner.tenant_id}&store_id={owner.store_id}"
    counted = {"method": "GET", "status": "200"}
    before = _sample("api_requests_total", counted)
    site_before = _sample("django_http_requests_total_by_method_total", {"method": "GET"})

    status, headers, body = _call("/api/v1/head", key=owner.key, query=query)

    assert (status, orjson.loads(body)) == (200, {"head_sequence": 0})
    assert headers["x-request-id"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["cache-control"] == "no-store"
    assert "set-cookie" not in headers
    assert "cookie" not in headers.get("vary", "").lower()
    assert _sample("api_requests_total", counted) == before + 1
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
