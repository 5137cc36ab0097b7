"""Django's error answers outside the views (the URLconf's ``handler400``/``403``/``404``/``500``)
are problem documents on every path but the admin's, which keeps its HTML pages; and the OpenAPI
document ignores ``?version=``.

Before: ``//api/v1/head``, ``/API/V1/HEAD``, ``OPTIONS *`` and every unknown path outside
``/api/`` answered Django's HTML 404 page; ``/api/schema/?version=a%0Ab`` was a 500 and
``?version=<script>`` was echoed into the served document.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
import yaml
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory

from sequencer_project.api import middleware
from tests import wsgi

pytestmark = pytest.mark.django_db


def _problem(response: Any, status: int, code: str) -> dict[str, Any]:  # Django's or the test client's
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    problem: dict[str, Any] = orjson.loads(response.content)
    assert (problem["status"], problem["code"]) == (status, code)
    return problem


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "//api/v1/head"),
        ("GET", "/API/V1/HEAD"),
        ("OPTIONS", "*"),
        ("GET", "/nope"),
        ("GET", "/static/nope.css"),
    ],
)
def test_paths_naming_nothing_are_404_problems_as_gunicorn_serves_them(method: str, path: str) -> None:
    response = wsgi.call(method, path)

    _problem(response, 404, "not_found")
    assert response["X-Request-ID"]


@pytest.mark.parametrize("path", ["/API/V1/HEAD", "/nope"])  # the test client reads //api as a host
def test_paths_naming_nothing_are_404_problems_through_the_sites_middleware(path: str) -> None:
    _problem(Client().get(path), 404, "not_found")


def test_the_admin_keeps_its_html_404() -> None:
    response = wsgi.call("GET", "/admin/no-such-page/")  # the admin's catch-all wants a login first

    assert response.status_code in (302, 404)
    assert not response.get("Content-Type", "").startswith("application/problem+json")
    request = RequestFactory().get("/admin/nope")
    assert middleware.not_found(request, Exception()).status_code == 404
    assert middleware.not_found(request, Exception())["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    ("handler", "status", "code"),
    [
        (lambda r: middleware.bad_request(r, Exception("bad")), 400, "bad_request"),
        (lambda r: middleware.permission_denied(r, Exception("no")), 403, "permission_denied"),
        (lambda r: middleware.not_found(r, Exception("gone")), 404, "not_found"),
        (middleware.server_error, 500, "internal_error"),
    ],
    ids=["400", "403", "404", "500"],
)
def test_each_handler_answers_a_problem_but_on_the_admins_pages(handler: Any, status: int, code: str) -> None:
    def handled(path: str) -> HttpResponse:
        request: HttpRequest = RequestFactory().get(path)
        response: HttpResponse = handler(request)
        return response

    problem = _problem(handled("/somewhere"), status, code)
    admin = handled("/admin/somewhere")

    assert "bad" not in problem["detail"]  # nothing the exception says
    assert "gone" not in problem["detail"]
    assert admin.status_code == status
    assert admin["Content-Type"].startswith("text/html")


def test_an_unhandled_error_outside_the_api_is_a_500_problem_without_internals(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug on a path no API middleware answers for (``/healthz`` through the site's middleware)
    leaves through ``handler500``: the problem document, not Django's HTML page."""

    def explode(moment: object) -> str:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr("sequencer_project.health.chrono_rfc3339", explode)

    response = Client(raise_request_exception=False).get("/healthz")

    _problem(response, 500, "internal_error")
    assert b"secret internal detail" not in response.content


@pytest.mark.parametrize("query", ["version=a%0Ab", "version=%3Cscript%3Ealert(1)%3C/script%3E", "version=2"])
@pytest.mark.parametrize("format_", ["", "&format=json"])
def test_the_openapi_document_ignores_version(query: str, format_: str) -> None:
    plain = Client().get(f"/api/schema/?{format_.lstrip('&')}")
    versioned = Client().get(f"/api/schema/?{query}{format_}")

    assert versioned.status_code == 200, versioned.content[:300]
    assert versioned.content == plain.content
    assert versioned["Content-Disposition"] == plain["Content-Disposition"]
    assert b"<script>" not in versioned.content
    document = orjson.loads(versioned.content) if format_ else yaml.safe_load(versioned.content)
    assert document["info"]["version"] == "1"
