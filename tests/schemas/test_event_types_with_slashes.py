"""Event types holding ``/``: registration stores them, and the event-type routes address them
as the reference's clients send them, escaped (``proto%2Fslash``), because routing splits the path
the client sent before decoding each segment (docs/api.md, "Path parameters holding a slash").

The test client's requests carry ``RAW_URI`` as gunicorn passes it; one test sends them to gunicorn.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.conftest import Persona
from tests.schemas.helpers import ORDER_SCHEMA, post_json, register
from tests.sequencer_project.ops_helpers import get_as_sent, serving_gunicorn

pytestmark = pytest.mark.django_db

BY_TYPE = "/api/v1/schemas/event-type/"


def _sent(client: APIClient, path: str, query: str) -> Any:
    """GET ``path`` (escaped as a client sends it) as gunicorn passes it, ``RAW_URI`` included."""
    return client.get(f"{path}?{query}", RAW_URI=f"{path}?{query}")


@pytest.fixture
def registered(owner: Persona) -> dict[str, str]:
    """``proto/slash`` v1 (deprecated) and v2, ``proto/latest`` v1 and ``proto`` v1: their ids."""
    ids = {}
    for event_type, version in (("proto/slash", 1), ("proto/slash", 2), ("proto/latest", 1), ("proto", 1)):
        response = register(owner.client, owner.tenant_id, {**ORDER_SCHEMA, "required": []}, event_type=event_type)
        assert response.status_code == 200, response.content
        assert response.json()["version"] == version
        ids[f"{event_type}@{version}"] = response.json()["id"]
    deprecated = post_json(
        owner.client, f"/api/v1/schemas/{ids['proto/slash@1']}/status", {"status": "deprecated"}, "put"
    )
    assert deprecated.status_code == 200, deprecated.content
    return ids


def test_an_event_type_holding_a_slash_has_its_versions_and_latest(owner: Persona, registered: dict[str, str]) -> None:
    tenant = f"tenant_id={owner.tenant_id}"

    versions = _sent(owner.client, BY_TYPE + "proto%2Fslash", tenant)
    one = _sent(owner.client, BY_TYPE + "proto%2Fslash", f"{tenant}&version=1")
    latest = _sent(owner.client, BY_TYPE + "proto%2Fslash/latest", tenant)

    assert versions.status_code == 200, versions.content
    assert [s["eventType"] for s in versions.json()["schemas"]] == ["proto/slash", "proto/slash"]
    assert one.json()["schema"]["id"] == registered["proto/slash@1"]
    assert latest.status_code == 200, latest.content
    assert latest.json()["id"] == registered["proto/slash@2"]


@pytest.mark.parametrize(
    ("path", "schema"),
    [
        ("proto%2Flatest", "proto/latest@1"),  # the versions of proto/latest, never the latest of proto
        ("proto%2Flatest/latest", "proto/latest@1"),
        ("proto/latest", "proto@1"),
        ("proto%2Fslash%2Flatest", None),  # proto/slash/latest: registered by no one
    ],
)
def test_an_escaped_slash_stays_inside_its_segment(
    owner: Persona, registered: dict[str, str], path: str, schema: str | None
) -> None:
    response = _sent(owner.client, BY_TYPE + path, f"tenant_id={owner.tenant_id}")

    assert response.status_code == 200, response.content
    body = response.json()
    if schema is None:
        assert body["count"] == 0
    else:
        assert (body["schemas"][0]["id"] if "schemas" in body else body["id"]) == registered[schema]


@pytest.mark.parametrize("path", ["proto/slash", "proto/slash/latest", "proto%2Fslash/latest/x", "", "proto/"])
def test_a_path_of_no_route_is_the_apis_404(owner: Persona, registered: dict[str, str], path: str) -> None:
    response = _sent(owner.client, BY_TYPE + path, f"tenant_id={owner.tenant_id}")

    assert response.status_code == 404, response.content
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("path", ["%FF", "proto%C3", "a%00b/latest", "%ED%A0%80/latest"])
def test_an_event_type_that_decodes_to_no_text_is_an_invalid_parameter(owner: Persona, path: str) -> None:
    response = _sent(owner.client, BY_TYPE + path, f"tenant_id={owner.tenant_id}")
    anonymous = _sent(APIClient(), BY_TYPE + path, f"tenant_id={owner.tenant_id}")

    assert response.status_code == 400, response.content
    assert (response.json()["code"], response.json()["parameter"]) == ("invalid_parameter", "event_type")
    assert anonymous.json()["code"] == "missing_auth"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_gunicorn_routes_escaped_slashes(tmp_path: Path, owner: Persona, registered: dict[str, str]) -> None:
    tenant = f"tenant_id={owner.tenant_id}"
    with serving_gunicorn(tmp_path, WEB_WORKERS="1", WEB_THREADS="2") as (port, _):
        versions = get_as_sent(port, f"{BY_TYPE}proto%2Fslash?{tenant}", owner.key)
        latest = get_as_sent(port, f"{BY_TYPE}proto%2Fslash/latest?{tenant}", owner.key)
        of_latest = get_as_sent(port, f"{BY_TYPE}proto%2Flatest?{tenant}", owner.key)
        invalid = get_as_sent(port, f"{BY_TYPE}%FF/latest?{tenant}", owner.key)

    assert (versions[0], versions[1]["count"]) == (200, 2)
    assert (latest[0], latest[1]["id"]) == (200, registered["proto/slash@2"])
    assert of_latest[1]["schemas"][0]["id"] == registered["proto/latest@1"]
    assert (invalid[0], invalid[1]["parameter"]) == (400, "event_type")
