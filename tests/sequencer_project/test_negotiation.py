"""Content negotiation: JSON without work for clients that take it, DRF's answer for the others."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.conftest import Persona

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "application/json; charset=utf-8", "text/*, */*"])
def test_clients_that_take_json_get_json(owner: Persona, accept: str | None) -> None:
    url = f"/api/v1/head?tenant_id={owner.tenant_id}&store_id={owner.store_id}"
    response = owner.client.get(url) if accept is None else owner.client.get(url, HTTP_ACCEPT=accept)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"head_sequence": 0}


def test_a_client_that_refuses_json_gets_406(owner: Persona) -> None:
    response = owner.client.get(
        f"/api/v1/head?tenant_id={owner.tenant_id}&store_id={owner.store_id}", HTTP_ACCEPT="text/html"
    )

    assert response.status_code == 406
    assert response["Content-Type"] == "application/problem+json"


def test_views_with_several_renderers_still_negotiate(client: Client) -> None:
    yaml = client.get("/api/schema/")
    json = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert yaml["Content-Type"].startswith("application/vnd.oai.openapi;")
    assert json["Content-Type"].startswith("application/vnd.oai.openapi+json")
