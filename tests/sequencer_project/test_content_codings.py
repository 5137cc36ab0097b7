"""Content codings both ways: a request body with a ``Content-Encoding`` other than ``identity``
is refused (415, ``Accept-Encoding: identity``) on every body-reading path, and responses are
gzipped only where ``Accept-Encoding`` accepts gzip by its weights (RFC 9110 sections 8.4,
12.5.3 and 15.5.16).

Before: a plain body labelled gzip was accepted as plain, a real gzip body was 400
``malformed_json``; ``gzip;q=0`` got gzip and ``GZIP`` did not.
"""

from __future__ import annotations

import gzip
import uuid
from typing import Any

import orjson
import pytest
from django.http import HttpResponse
from hypothesis import given
from hypothesis import strategies as st

from sequencer_project.api.compression import accepts_gzip
from tests import wsgi
from tests.conftest import IngestPoster, Persona, legacy_event

pytestmark = pytest.mark.django_db

REFUSED_CODINGS = ["gzip", "GZIP", " br ", "deflate", "bogus", "identity, gzip", "gzip, identity", "x-gzip"]
NO_CODING = ["identity", " Identity ", "IDENTITY, identity", ""]


def _legacy_body(persona: Persona) -> bytes:
    return orjson.dumps({"events": [legacy_event(persona.tenant_id, persona.store_id)]})


def _ves_body() -> bytes:
    return orjson.dumps({"agentId": str(uuid.uuid4()), "events": []})


def _schema_body(persona: Persona) -> bytes:
    return orjson.dumps({"tenantId": str(persona.tenant_id), "eventType": "order.created", "payload": {}})


def _assert_refused_coding(response: HttpResponse) -> None:
    assert response.status_code == 415, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response["Accept-Encoding"] == "identity"
    problem = orjson.loads(response.content)
    assert (problem["status"], problem["code"]) == (415, "unsupported_media_type")


@pytest.mark.parametrize("coding", REFUSED_CODINGS)
def test_the_wsgi_ingest_endpoint_refuses_a_coded_body_before_reading_it(owner: Persona, coding: str) -> None:
    body = _legacy_body(owner)
    for sent in (body, gzip.compress(body)):  # labelled only, and really coded
        response = wsgi.call(
            "POST",
            "/api/v1/events/ingest",
            body=sent,
            HTTP_AUTHORIZATION=f"ApiKey {owner.key}",
            HTTP_CONTENT_ENCODING=coding,
        )
        _assert_refused_coding(response)
    stream = f"tenant_id={owner.tenant_id}&store_id={owner.store_id}"
    head = wsgi.call("GET", "/api/v1/head", query=stream, HTTP_AUTHORIZATION=f"ApiKey {owner.key}")
    assert orjson.loads(head.content)["head_sequence"] == 0  # nothing was ingested


@pytest.mark.parametrize("coding", REFUSED_CODINGS)
@pytest.mark.parametrize("path", ["/api/v1/events/ingest", "/api/v1/ves/events/ingest", "/api/v1/schemas/validate"])
def test_drf_views_refuse_a_coded_body(owner: Persona, coding: str, path: str) -> None:
    body = {
        "/api/v1/events/ingest": _legacy_body(owner),
        "/api/v1/ves/events/ingest": _ves_body(),
        "/api/v1/schemas/validate": _schema_body(owner),
    }[path]

    response = owner.client.post(path, body, content_type="application/json", HTTP_CONTENT_ENCODING=coding)

    _assert_refused_coding(response)


@pytest.mark.parametrize("coding", NO_CODING)
def test_identity_is_no_coding_on_either_path(owner: Persona, post_ingest: IngestPoster, coding: str) -> None:
    through_view = owner.client.post(
        "/api/v1/schemas/validate", _schema_body(owner), content_type="application/json", HTTP_CONTENT_ENCODING=coding
    )
    through_endpoint = post_ingest(owner.client, _legacy_body(owner), HTTP_CONTENT_ENCODING=coding)

    assert through_view.status_code == 200, through_view.content
    assert through_endpoint.status_code == 200, through_endpoint.content
    assert through_endpoint.json()["events_accepted"] == 1


def test_the_endpoint_and_its_view_refuse_a_coded_body_alike(owner: Persona) -> None:
    body = _legacy_body(owner)
    headers: dict[str, Any] = {"HTTP_CONTENT_ENCODING": "gzip"}
    from_endpoint = wsgi.call(
        "POST", "/api/v1/events/ingest", body=body, HTTP_AUTHORIZATION=f"ApiKey {owner.key}", **headers
    )
    from_view = owner.client.post("/api/v1/events/ingest", body, content_type="application/json", **headers)

    assert orjson.loads(from_endpoint.content)["detail"] == orjson.loads(from_view.content)["detail"]
    _assert_refused_coding(from_endpoint)
    _assert_refused_coding(from_view)


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        ("gzip", True),
        ("GZIP", True),
        ("gzip, deflate, br", True),
        ("deflate, gzip;q=0.5", True),
        ("gzip;Q=1.000", True),
        ("x-gzip", True),
        ("*", True),
        ("br, *;q=0.1", True),
        ("gzip;q=0", False),
        ("gzip; q=0", False),
        ("deflate, gzip;q=0.0", False),
        ("gzip;q=0.000, *", False),  # named: * does not override it
        ("*;q=0", False),
        ("identity", False),
        ("deflate, br", False),
        ("", False),
        ("gzip;q=2", False),  # not a qvalue: the member is left out
        ("gzip;q=abc, br", False),
        ("gzip;q=abc, *", True),
        ("gzipx, xgzip", False),
    ],
)
def test_accept_encoding_is_read_with_its_weights(header: str, accepted: bool) -> None:
    assert accepts_gzip(header) is accepted


_CODINGS = st.sampled_from(["br", "deflate", "identity", "compress", "zstd", "foo"])
_WEIGHTS = st.sampled_from(["", ";q=1", ";q=0.5", ";q=0.001", ";q=0", ";q=0.0", ";q=1.0"])
_SPACES = st.sampled_from(["", " ", "\t", "  "])


@st.composite
def _header_without_gzip(draw: st.DrawFn) -> list[str]:
    return [draw(_SPACES) + draw(_CODINGS) + draw(_WEIGHTS) + draw(_SPACES) for _ in range(draw(st.integers(0, 4)))]


@given(others=_header_without_gzip(), gzip_weight=_WEIGHTS, position=st.integers(0, 4), star=st.booleans())
def test_named_gzip_decides_by_its_own_weight_wherever_it_stands(
    others: list[str], gzip_weight: str, position: int, star: bool
) -> None:
    members = [*others, *(["*"] if star else [])]
    members.insert(min(position, len(members)), "gzip" + gzip_weight)
    header = ",".join(members)

    assert accepts_gzip(header) is (gzip_weight not in (";q=0", ";q=0.0"))
    assert accepts_gzip(header.upper()) is accepts_gzip(header)


@given(others=_header_without_gzip(), star_weight=st.none() | _WEIGHTS)
def test_without_gzip_named_the_star_decides(others: list[str], star_weight: str | None) -> None:
    header = ",".join([*others, *([] if star_weight is None else ["*" + star_weight])])

    assert accepts_gzip(header) is (star_weight is not None and star_weight not in (";q=0", ";q=0.0"))


def _large_range(owner: Persona, post_ingest: IngestPoster) -> str:
    events = [legacy_event(owner.tenant_id, owner.store_id) for _ in range(20)]
    assert post_ingest(owner.client, {"events": events}).status_code == 200
    return f"tenant_id={owner.tenant_id}&store_id={owner.store_id}&limit=20"


@pytest.mark.parametrize(
    ("accept_encoding", "gzipped"),
    [("gzip;q=0", False), ("deflate, gzip;q=0.0", False), ("GZIP", True), ("*", True), ("gzip", True)],
)
def test_both_response_paths_gzip_by_the_weights(
    owner: Persona, post_ingest: IngestPoster, accept_encoding: str, gzipped: bool
) -> None:
    """The middleware (a DRF view through the test client) and the WSGI range endpoint agree."""
    query = _large_range(owner, post_ingest)
    through_view = owner.client.get(f"/api/v1/events?{query}", HTTP_ACCEPT_ENCODING=accept_encoding)
    through_endpoint = wsgi.call(
        "GET",
        "/api/v1/events",
        query=query,
        HTTP_AUTHORIZATION=f"ApiKey {owner.key}",
        HTTP_ACCEPT_ENCODING=accept_encoding,
    )

    for response in (through_view, through_endpoint):
        assert response.status_code == 200
        assert "Accept-Encoding" in response["Vary"]
        assert (response.get("Content-Encoding") == "gzip") is gzipped
        content = gzip.decompress(response.content) if gzipped else response.content
        assert orjson.loads(content)["count"] == 20
