"""Content negotiation: the API answers JSON whatever ``Accept`` says (as the reference, which
ignores it), never 406; ``?format=`` is an ordinary query parameter, never a 404."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests import wsgi
from tests.conftest import Persona

pytestmark = pytest.mark.django_db

ACCEPTS = [
    None,
    "*/*",
    "application/json",
    "application/json; charset=utf-8",
    "text/*, */*",
    "application/problem+json",
    "text/html",
    "application/xml",
    "text/html,application/xhtml+xml,application/xml;q=0.9",
    "application/json;q=0",
    "not a media type",
]


def _headers(accept: str | None) -> dict[str, Any]:
    return {} if accept is None else {"HTTP_ACCEPT": accept}


@pytest.mark.parametrize("accept", ACCEPTS)
def test_every_client_gets_json_whatever_it_accepts(owner: Persona, accept: str | None) -> None:
    query = f"tenant_id={owner.tenant_id}&store_id={owner.store_id}"
    view = owner.client.get(f"/api/v1/head?{query}", **_headers(accept))
    served = wsgi.call("GET", "/api/v1/head", query=query, HTTP_AUTHORIZATION=f"ApiKey {owner.key}", **_headers(accept))

    for response in (view, served):
        assert response.status_code == 200, response.content
        assert response["Content-Type"] == "application/json"
        assert orjson.loads(response.content) == {"head_sequence": 0}


@pytest.mark.parametrize("accept", ["text/html", "application/problem+json", "application/xml"])
def test_posts_and_operations_routes_answer_json_to_any_accept(
    owner: Persona, admin_client: APIClient, accept: str
) -> None:
    body = {"tenantId": str(owner.tenant_id), "eventType": "order.created", "payload": {}}
    validate = owner.client.post(
        "/api/v1/schemas/validate", orjson.dumps(body), content_type="application/json", HTTP_ACCEPT=accept
    )
    health = admin_client.get("/health/detailed", HTTP_ACCEPT=accept)
    metrics = admin_client.get("/metrics", HTTP_ACCEPT=accept)

    assert validate.status_code == 200, validate.content
    assert validate.json()["valid"] is True
    assert health.status_code == 200, health.content
    assert health["Content-Type"] == "application/json"
    assert metrics.status_code == 200, metrics.content


@pytest.mark.parametrize("accept", ["text/html", "application/problem+json"])
def test_errors_are_problems_whatever_the_client_accepts(owner: Persona, accept: str) -> None:
    anonymous = Client().get("/api/v1/head", HTTP_ACCEPT=accept)
    wrong_method = owner.client.delete("/api/v1/head", HTTP_ACCEPT=accept)

    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "missing_auth")
    assert (wrong_method.status_code, wrong_method.json()["code"]) == (405, "method_not_allowed")
    for response in (anonymous, wrong_method):
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["status"] == response.status_code


@pytest.mark.parametrize("value", ["xml", "json", "api", "html", ""])
def test_a_format_parameter_is_ignored_like_any_unknown_parameter(owner: Persona, value: str) -> None:
    query = f"tenant_id={owner.tenant_id}&store_id={owner.store_id}&format={value}"
    view = owner.client.get(f"/api/v1/head?{query}")
    served = wsgi.call("GET", "/api/v1/head", query=query, HTTP_AUTHORIZATION=f"ApiKey {owner.key}")
    body = {"tenantId": str(owner.tenant_id), "eventType": "order.created", "payload": {}}
    validate = owner.client.post(
        f"/api/v1/schemas/validate?format={value}", orjson.dumps(body), content_type="application/json"
    )

    for response in (view, served):
        assert response.status_code == 200, response.content
        assert orjson.loads(response.content) == {"head_sequence": 0}
    assert validate.status_code == 200, validate.content
    assert validate.json()["valid"] is True


def test_views_with_several_renderers_still_negotiate(client: Client) -> None:
    yaml = client.get("/api/schema/")
    json = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    json_by_format = client.get("/api/schema/?format=json")

    assert yaml["Content-Type"].startswith("application/vnd.oai.openapi;")
    assert json["Content-Type"].startswith("application/vnd.oai.openapi+json")
    assert json_by_format["Content-Type"].startswith("application/vnd.oai.openapi+json")
    assert json_by_format.json()["info"]["title"] == "StateSet Sequencer API"


@pytest.mark.parametrize(("accept", "query"), [("text/html", ""), (None, "?format=xml")])
def test_views_with_several_renderers_fall_back_to_their_first(client: Client, accept: str | None, query: str) -> None:
    response = client.get(f"/api/schema/{query}", **_headers(accept))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi;")
