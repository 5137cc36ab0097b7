"""The request's host, through the WSGI application gunicorn serves (``sequencer_project.wsgi``):
an HTTP/1.1 request without ``Host`` is a 400 problem on every path (RFC 9112 section 3.2), and
on the API's paths a ``Host`` outside ``ALLOWED_HOSTS`` is too, as Django's ``get_host`` decides.

Before: both were served (the API handler and the WSGI endpoints never asked Django for the
host), and on other paths a host outside the list got Django's HTML "Bad Request (400)".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest
from django.test import Client

from sequencer_project import api_handler
from tests import wsgi
from tests.conftest import Persona

pytestmark = pytest.mark.django_db

ADMIN: dict[str, Any] = {"HTTP_AUTHORIZATION": "ApiKey test-bootstrap-admin"}


def _without_host(protocol: str, *, empty: bool = False) -> Callable[[dict[str, Any], Callable[..., Any]], Any]:
    """The served application given a request that named no host as gunicorn passes it (no
    ``HTTP_HOST``) or, ``empty``, as granian does (an empty one)."""
    from sequencer_project.wsgi import application

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        del environ["HTTP_HOST"]
        if empty:
            environ["HTTP_HOST"] = ""
        environ["SERVER_PROTOCOL"] = protocol
        return application(environ, start_response)

    return app


def _bad_request(response: Any) -> dict[str, Any]:  # Django's or the test client's
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response["X-Request-ID"]
    assert response["Cache-Control"] == "no-store"
    problem: dict[str, Any] = orjson.loads(response.content)
    assert (problem["status"], problem["code"]) == (400, "bad_request")
    assert problem["instance"] == response["X-Request-ID"]
    return problem


@pytest.mark.parametrize("empty", [False, True], ids=["gunicorn", "granian"])
@pytest.mark.parametrize("path", ["/api/v1/head", "/api/v1/events/ingest", "/admin/", "/nope", "/v1/x"])
def test_an_http_1_1_request_without_host_is_a_400_problem_on_every_path_but_the_probes(path: str, empty: bool) -> None:
    method = "POST" if path.endswith("ingest") else "GET"

    problem = _bad_request(wsgi.call(method, path, app=_without_host("HTTP/1.1", empty=empty), **ADMIN))

    assert "Host" in problem["detail"]


@pytest.mark.parametrize("empty", [False, True], ids=["gunicorn", "granian"])
@pytest.mark.parametrize("path", ["/health", "/healthz", "/ready", "/metrics"])
def test_probes_and_metrics_answer_an_http_1_1_request_without_host(path: str, empty: bool) -> None:
    """A load balancer's health check line may carry no Host (HAProxy's ``option httpchk``)."""
    response = wsgi.call("GET", path, app=_without_host("HTTP/1.1", empty=empty), **ADMIN)

    assert response.status_code == 200, response.content


def test_an_http_1_0_request_may_name_no_host() -> None:
    response = wsgi.call("GET", "/health", app=_without_host("HTTP/1.0"))

    assert response.status_code == 200, response.content


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8080", "127.0.0.1.evil.example", "[::2]"])
@pytest.mark.parametrize(
    "path",
    ["/api/v1/head", "/api/v1/events/ingest", "/api/v1/events", "/api/v1/ves/events/ingest", "/v1/commitments/pending"],
)
def test_the_api_refuses_a_host_outside_allowed_hosts(owner: Persona, host: str, path: str) -> None:
    """The WSGI endpoints (head, ingest, range) and the DRF views alike, before authentication."""
    method = "POST" if path.endswith("ingest") else "GET"

    _bad_request(wsgi.call(method, path, HTTP_HOST=host, HTTP_AUTHORIZATION=f"ApiKey {owner.key}"))


@pytest.mark.parametrize("host", ["127.0.0.1:8080", "localhost:8080", "127.0.0.1", "localhost"])
def test_the_hosts_make_run_is_reached_at_are_allowed(owner: Persona, host: str) -> None:
    """``make run``'s documented curl commands (``http://127.0.0.1:8080``; ``localhost``) keep
    working under the default ``ALLOWED_HOSTS`` (``localhost,127.0.0.1``)."""
    query = f"tenant_id={owner.tenant_id}&store_id={owner.store_id}"

    response = wsgi.call("GET", "/api/v1/head", query=query, HTTP_HOST=host, HTTP_AUTHORIZATION=f"ApiKey {owner.key}")

    assert response.status_code == 200, response.content


@pytest.mark.parametrize("path", ["/health", "/healthz", "/ready", "/metrics"])
def test_probes_and_metrics_answer_whatever_host_they_are_sent(path: str) -> None:
    """An orchestrator's probe and a Prometheus scrape name the pod's address."""
    response = wsgi.call("GET", path, HTTP_HOST="10.1.2.3:8080", **ADMIN)

    assert response.status_code == 200, response.content


def test_the_check_follows_allowed_hosts_and_forwarded_host_as_django_does(owner: Persona, settings: Any) -> None:
    query = f"tenant_id={owner.tenant_id}&store_id={owner.store_id}"
    key: dict[str, Any] = {"HTTP_AUTHORIZATION": f"ApiKey {owner.key}"}

    def status(**environ: Any) -> int:
        return wsgi.call("GET", "/api/v1/head", query=query, **key, **environ).status_code

    assert status(HTTP_HOST="api.example.com") == 400
    settings.ALLOWED_HOSTS = [".example.com"]
    assert status(HTTP_HOST="api.example.com") == 200  # not the verdict remembered under the old list
    assert status(HTTP_HOST="127.0.0.1") == 400
    settings.USE_X_FORWARDED_HOST = True
    assert status(HTTP_HOST="127.0.0.1", HTTP_X_FORWARDED_HOST="api.example.com") == 200
    assert status(HTTP_HOST="api.example.com", HTTP_X_FORWARDED_HOST="evil.example") == 400


def test_the_verdicts_kept_are_bounded() -> None:
    for number in range(api_handler._HOST_VERDICTS_KEPT + 50):
        environ = {"HTTP_HOST": f"h{number}.evil.example"}
        assert api_handler.host_allowed(environ) is False
    assert len(api_handler._HOSTS.verdicts) == api_handler._HOST_VERDICTS_KEPT


def test_a_refused_host_is_counted_on_the_api_path_as_no_route(owner: Persona) -> None:
    from prometheus_client import REGISTRY

    from sequencer_project.metrics import TALLY

    labels = {"method": "GET", "path": "unmatched", "status": "400"}
    TALLY.flush()
    before = REGISTRY.get_sample_value("sequencer_http_requests_total", labels) or 0.0

    wsgi.call("GET", "/api/v1/head", HTTP_HOST="evil.example")

    TALLY.flush()
    assert REGISTRY.get_sample_value("sequencer_http_requests_total", labels) == before + 1


@pytest.mark.parametrize("path", ["/nope", "/static/nope.css", "/api/v1/head"])
def test_a_host_outside_allowed_hosts_is_a_problem_on_the_sites_handler_too(path: str) -> None:
    """The test client runs the site's middleware, whose ``CommonMiddleware`` asks for the host:
    its 400 is the problem document (the URLconf's ``handler400``)."""
    problem = _bad_request(Client().get(path, HTTP_HOST="evil.example"))

    assert "ALLOWED_HOSTS" in problem["detail"]


def test_the_admin_keeps_djangos_page_for_a_host_outside_allowed_hosts() -> None:
    response = Client().get("/admin/login/", HTTP_HOST="evil.example")

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
