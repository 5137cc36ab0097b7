"""The WSGI ingest endpoint (``events/api/ingest_endpoint.py``, ADR 0021) answers exactly as the
API handler's DRF view does: status, body, headers and metrics, request by request.

Every other ingest test already goes through the endpoint (the ``post_ingest`` fixture calls the
WSGI application); here each request is sent both ways and the answers compared.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from django.http import HttpResponse
from prometheus_client import REGISTRY

from sequencer_project import wsgi as served
from sequencer_project.api_handler import route_by_path
from sequencer_project.metrics import TALLY
from tests import wsgi
from tests.conftest import Persona, legacy_event
from tests.tenants.factories import issue_key

pytestmark = pytest.mark.django_db

PATH = "/api/v1/events/ingest"
# The same application without the endpoint: every ingest request takes the DRF view.
drf_only = route_by_path(api=served.api, site=served.site)
# Headers that legitimately differ between two requests.
_PER_REQUEST = {"x-request-id", "content-length"}

Send = Callable[..., HttpResponse]


def _via(app: Any) -> Send:
    def send(body: Any = None, *, key: str | None = None, raw: bytes | None = None, **extra: Any) -> HttpResponse:
        data = raw if raw is not None else orjson.dumps(body)
        if key is not None:
            extra["HTTP_AUTHORIZATION"] = f"ApiKey {key}"
        return wsgi.call(extra.pop("method", "POST"), PATH, body=data, app=app, **extra)

    return send


endpoint, view = _via(served.application), _via(drf_only)


def _headers(response: HttpResponse) -> dict[str, str]:
    return {name.lower(): value for name, value in response.items() if name.lower() not in _PER_REQUEST}


def _problem(response: HttpResponse) -> dict[str, Any]:
    body: dict[str, Any] = response.json()  # type: ignore[attr-defined]
    body.pop("instance", None)  # the request id
    return body


def _assert_same_problem(a: HttpResponse, b: HttpResponse, status: int, code: str) -> None:
    assert (a.status_code, b.status_code) == (status, status), (a.content, b.content)
    assert _problem(a) == _problem(b)
    assert _problem(a)["code"] == code
    wsgi.assert_same_headers(a, b)


def test_an_accepted_event_gets_the_same_answer_and_headers(owner: Persona) -> None:
    answers = [
        send({"events": [legacy_event(owner.tenant_id, owner.store_id)]}, key=owner.key) for send in (endpoint, view)
    ]

    a, b = (r.json() for r in answers)  # type: ignore[attr-defined]
    assert [r.status_code for r in answers] == [200, 200]
    assert (
        set(a)
        == set(b)
        == {
            "batch_id",
            "events_accepted",
            "events_rejected",
            "assigned_sequence_start",
            "assigned_sequence_end",
            "head_sequence",
            "receipts",
        }
    )
    assert (a["assigned_sequence_start"], b["assigned_sequence_start"]) == (1, 2)
    assert set(a["receipts"][0]) == set(b["receipts"][0]) == {"event_id", "sequence_number", "replayed"}
    assert _headers(answers[0]) == _headers(answers[1])
    assert _headers(answers[0])["content-type"] == "application/json"
    assert _headers(answers[0])["x-content-type-options"] == "nosniff"
    assert _headers(answers[0])["cache-control"] == "no-store"


def test_a_replay_and_a_duplicate_are_answered_alike(owner: Persona) -> None:
    event = legacy_event(owner.tenant_id, owner.store_id)
    assert endpoint({"events": [event]}, key=owner.key).status_code == 200
    twin = {**event, "payload": {"changed": True}}

    for body in ({"events": [event]}, {"events": [twin]}):
        a, b = (send(body, key=owner.key).json() for send in (endpoint, view))  # type: ignore[attr-defined]
        a.pop("batch_id"), b.pop("batch_id")
        assert a == b


@pytest.mark.parametrize(
    ("request_kwargs", "status", "code"),
    [
        ({}, 401, "missing_auth"),
        ({"key": "ss_not_a_key"}, 401, "invalid_api_key"),
        ({"HTTP_AUTHORIZATION": "Basic dXNlcjpwYXNz"}, 401, "invalid_api_key"),
        ({"CONTENT_TYPE": "text/plain", "owner_key": True}, 415, "unsupported_media_type"),
        ({"raw": b"{not json", "owner_key": True}, 400, "malformed_json"),
        ({"raw": b"[1, 2]", "owner_key": True}, 422, "invalid_request"),
        ({"raw": b'{"events": {}}', "owner_key": True}, 422, "invalid_request"),
        ({"CONTENT_LENGTH": str(1 << 40), "raw": b"{}", "owner_key": True}, 413, "body_too_large"),
    ],
)
def test_request_errors_are_the_same_problems(
    owner: Persona, request_kwargs: dict[str, Any], status: int, code: str
) -> None:
    kwargs = dict(request_kwargs)
    if kwargs.pop("owner_key", False):
        kwargs["key"] = owner.key
    a, b = (send({"events": []}, **kwargs) for send in (endpoint, view))

    _assert_same_problem(a, b, status, code)


def test_a_store_outside_the_keys_scope_is_the_same_403(owner: Persona, member: Persona) -> None:
    body = {"events": [legacy_event(owner.tenant_id, owner.store_id)]}
    a, b = (send(body, key=member.key) for send in (endpoint, view))

    _assert_same_problem(a, b, 403, "store_access_denied")


def test_an_empty_batch_is_the_same_empty_answer(owner: Persona) -> None:
    a, b = (send({"events": []}, key=owner.key) for send in (endpoint, view))

    assert (a.status_code, b.status_code) == (200, 200)
    first, second = a.json(), b.json()  # type: ignore[attr-defined]
    first.pop("batch_id"), second.pop("batch_id")
    assert (
        first
        == second
        == {
            "events_accepted": 0,
            "events_rejected": 0,
            "assigned_sequence_start": None,
            "assigned_sequence_end": None,
            "head_sequence": 0,
            "receipts": [],
        }
    )


def test_rate_limits_count_and_refuse_alike(owner: Persona) -> None:
    answers = []
    for send in (endpoint, view):
        key = issue_key(owner.tenant, can_write=True, rate_limit=1)
        body = {"events": [legacy_event(owner.tenant_id, owner.store_id)]}
        answers.append((send(body, key=key), send(body, key=key)))

    (ok_a, refused_a), (ok_b, refused_b) = answers
    assert (ok_a.status_code, ok_b.status_code) == (200, 200)
    assert ok_a["RateLimit-Remaining"] == ok_b["RateLimit-Remaining"] == "0"
    _assert_same_problem(refused_a, refused_b, 429, "rate_limited")
    assert int(refused_a["Retry-After"]) > 0


def test_large_answers_are_gzipped_alike_and_request_ids_echoed(owner: Persona) -> None:
    answers = [
        send(
            {"events": [legacy_event(owner.tenant_id, owner.store_id) for _ in range(40)]},
            key=owner.key,
            HTTP_ACCEPT_ENCODING="gzip, deflate",
            HTTP_X_REQUEST_ID="trace-42",
        )
        for send in (endpoint, view)
    ]

    assert [r.status_code for r in answers] == [200, 200]
    assert [r["Content-Encoding"] for r in answers] == ["gzip", "gzip"]
    assert [r["X-Request-ID"] for r in answers] == ["trace-42", "trace-42"]
    assert _headers(answers[0]) == _headers(answers[1])


@pytest.mark.parametrize(
    "extra",
    [{"method": "GET"}, {"HTTP_ACCEPT": "text/html"}, {"QUERY_STRING": "format=json"}],
    ids=["another-method", "not-json-accepted", "query-string"],
)
def test_requests_the_endpoint_does_not_take_reach_the_view(owner: Persona, extra: dict[str, Any]) -> None:
    a, b = (send({"events": []}, key=owner.key, **extra) for send in (endpoint, view))

    assert a.status_code == b.status_code
    first, second = a.json(), b.json()  # type: ignore[attr-defined]
    for body in (first, second):
        body.pop("batch_id", None), body.pop("instance", None)
    assert first == second
    assert _headers(a) == _headers(b)


def test_it_counts_requests_events_and_errors_in_the_same_metrics(owner: Persona) -> None:
    def sample(name: str, **labels: str) -> float:
        TALLY.flush()
        return REGISTRY.get_sample_value(name, labels) or 0.0

    before = (
        sample("sequencer_http_requests_total", method="POST", path="/api/v1/events/ingest", status="200"),
        sample("ingest_events_total", endpoint="legacy", outcome="accepted"),
        sample("ingest_errors_total", endpoint="legacy", code="malformed_json"),
    )

    endpoint({"events": [legacy_event(owner.tenant_id, owner.store_id) for _ in range(3)]}, key=owner.key)
    endpoint(raw=b"{oops", key=owner.key)

    assert sample("sequencer_http_requests_total", method="POST", path="/api/v1/events/ingest", status="200") == (
        before[0] + 1
    )
    assert sample("ingest_events_total", endpoint="legacy", outcome="accepted") == before[1] + 3
    assert sample("ingest_errors_total", endpoint="legacy", code="malformed_json") == before[2] + 1


def test_an_unexpected_error_is_a_logged_500_problem(owner: Persona, monkeypatch: pytest.MonkeyPatch) -> None:
    from events.api import ingest_endpoint

    def broken(principal: Any, body: object) -> dict[str, Any]:
        raise RuntimeError("a bug")

    monkeypatch.setattr(ingest_endpoint, "legacy_ingest_answer", broken)
    response = endpoint({"events": []}, key=owner.key)

    assert response.status_code == 500
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 500  # type: ignore[attr-defined]
    assert "a bug" not in response.content.decode()
    assert uuid.UUID(response["X-Request-ID"])
