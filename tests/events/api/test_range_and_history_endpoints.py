"""``GET /api/v1/events`` (a range) and ``GET /api/v1/entities/{type}/{id}`` (an entity's history)
through their WSGI endpoints (``events/api/event_range.py``, ``events/api/entity_history.py``,
ADR 0042) answer as their DRF views do: status, body and headers, request by request."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.conf import settings
from django.http import HttpResponse

from sequencer_project import wsgi as served
from sequencer_project.api_handler import route_by_path
from tests import wsgi
from tests.conftest import IngestPoster, Persona, legacy_event
from tests.tenants.factories import issue_key

pytestmark = pytest.mark.django_db

drf_only = route_by_path(api=served.api, site=served.site)
_same = wsgi.assert_same_answer


def _get(app: Any, path: str, query: str, key: str | None, **extra: Any) -> HttpResponse:
    if key is not None:
        extra["HTTP_AUTHORIZATION"] = f"ApiKey {key}"
    return wsgi.call(extra.pop("method", "GET"), path, query=query, app=app, **extra)


def _both(path: str, query: str, key: str | None, **extra: Any) -> tuple[HttpResponse, HttpResponse]:
    return _get(served.application, path, query, key, **dict(extra)), _get(drf_only, path, query, key, **dict(extra))


@pytest.fixture
def stream(owner: Persona, post_ingest: IngestPoster) -> str:
    """Five events of ``order/o-1`` and two of ``order/o-2`` on the owner's stream; its query."""
    events = [
        legacy_event(owner.tenant_id, owner.store_id, entity_id="o-1" if n < 5 else "o-2", command_id=str(uuid.uuid4()))
        for n in range(7)
    ]
    assert post_ingest(owner.client, {"events": events}).status_code == 200
    return f"tenant_id={owner.tenant_id}&store_id={owner.store_id}"


def test_a_range_is_answered_alike(owner: Persona, stream: str) -> None:
    a, b = _both("/api/v1/events", f"{stream}&from=2&limit=3", owner.key)

    body = _same(a, b)
    assert [e["envelope"]["sequence_number"] for e in body["events"]] == [2, 3, 4]
    assert body["count"] == 3
    assert body["events"][0]["envelope"]["payload"]["total"] == 42
    assert (a["Content-Type"], a["Allow"]) == ("application/json", "GET, HEAD, OPTIONS")


def test_a_history_is_answered_alike(owner: Persona, stream: str) -> None:
    a, b = _both("/api/v1/entities/order/o-1", f"{stream}&from=1&limit=2", owner.key)

    body = _same(a, b)
    assert [e["envelope"]["sequence_number"] for e in body["events"]] == [2, 3]
    assert (body["entity_id"], body["count"], body["total"], body["has_more"]) == ("o-1", 2, 5, True)
    assert _same(*_both("/api/v1/entities/order/o-2", f"{stream}&limit=0", owner.key))["count"] == 2


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("", 400, "invalid_parameter"),
        ("tenant_id={t}", 400, "invalid_parameter"),
        ("tenant_id={t}&store_id=nope", 400, "invalid_parameter"),
        ("tenant_id={other}&store_id={s}", 403, "tenant_access_denied"),
        ("{stream}&from=-1", 400, "invalid_parameter"),
        ("{stream}&from=x", 400, "invalid_parameter"),
        ("{stream}&from=99999999999999999999", 400, "invalid_parameter"),
        ("{stream}&from=%D9%A3", 400, "invalid_parameter"),  # a digit, but not ASCII
        ("{stream}&limit=0", 400, "invalid_parameter"),
        ("{stream}&limit=99999999999999999999", 400, "invalid_parameter"),  # 20 digits: not an integer here
        ("{stream}&limit=5000", 200, None),  # capped
        ("{stream}&from=0", 200, None),  # reads as 1
        ("{stream}&from=50", 200, None),  # past the head: empty
        ("from=1&{stream}&from=6", 200, None),  # the last value counts, as in Django
    ],
)
def test_range_errors_and_bounds_are_the_same(
    owner: Persona, stream: str, query: str, status: int, code: str | None
) -> None:
    filled = query.format(t=owner.tenant_id, s=owner.store_id, other=uuid.uuid4(), stream=stream)
    a, b = _both("/api/v1/events", filled, owner.key)

    body = _same(a, b)
    assert a.status_code == status
    assert body.get("code") == code


@pytest.mark.parametrize(
    ("path", "query", "status", "code"),
    [
        ("/api/v1/entities/order/o-1", "", 400, "invalid_parameter"),
        ("/api/v1/entities/order/o-1", "tenant_id={other}&store_id={s}", 403, "tenant_access_denied"),
        ("/api/v1/entities/order/o-1", "{stream}&from=-1", 400, "invalid_parameter"),
        ("/api/v1/entities/order/o-1", "{stream}&limit=x", 400, "invalid_parameter"),
        ("/api/v1/entities/order/o-1", "{stream}&limit=500", 200, None),  # capped at the maximum
        ("/api/v1/entities/order/o-1", "{stream}&from=9", 200, None),  # past the end: empty
        ("/api/v1/entities/order/" + "x" * 513, "{stream}", 400, "invalid_parameter"),  # longer than any entity id
        ("/api/v1/entities/order/unknown", "{stream}", 200, None),
        # Paths the endpoint leaves to the API handler: answered as before.
        ("/api/v1/entities/order/o-1/state", "{stream}", 404, "entity_state_not_found"),
        ("/api/v1/entities/order/o-1/", "{stream}", 404, "not_found"),
        ("/api/v1/entities/order", "{stream}", 404, "not_found"),
        # Not ASCII (PATH_INFO as WSGI gives it: the UTF-8 bytes read as Latin-1): the view.
        ("/api/v1/entities/order/" + "ö-1".encode().decode("latin-1"), "{stream}", 200, None),
    ],
)
def test_history_errors_and_fallbacks_are_the_same(
    owner: Persona, stream: str, path: str, query: str, status: int, code: str | None
) -> None:
    filled = query.format(s=owner.store_id, other=uuid.uuid4(), stream=stream)
    a, b = _both(path, filled, owner.key)

    body = _same(a, b)
    assert a.status_code == status
    assert body.get("code") == code


@pytest.mark.parametrize("path", ["/api/v1/events", "/api/v1/entities/order/o-1"])
def test_scope_and_credentials_are_the_same(owner: Persona, member: Persona, stream: str, path: str) -> None:
    assert _same(*_both(path, stream, member.key))["code"] == "store_access_denied"
    assert _same(*_both(path, stream, None))["code"] == "missing_auth"
    assert _same(*_both(path, stream, "ss_unknown"))["code"] == "invalid_api_key"
    assert _same(*_both(path, stream, settings.BOOTSTRAP_ADMIN_API_KEY))["count"] > 0
    write_only = issue_key(owner.tenant, can_read=False, can_write=True)
    assert _same(*_both(path, stream, write_only))["code"] == "permission_denied"


@pytest.mark.parametrize("path", ["/api/v1/events", "/api/v1/entities/order/o-1"])
def test_rate_limits_count_alike(owner: Persona, stream: str, path: str) -> None:
    answers = []
    for app in (served.application, drf_only):
        key = issue_key(owner.tenant, rate_limit=1)
        answers.append((_get(app, path, stream, key), _get(app, path, stream, key)))
    (ok_a, refused_a), (ok_b, refused_b) = answers
    assert ok_a["RateLimit-Remaining"] == ok_b["RateLimit-Remaining"] == "0"
    assert _same(refused_a, refused_b)["code"] == "rate_limited"


@pytest.mark.parametrize(
    ("module", "name", "path"),
    [
        ("event_range", "event_range_answer", "/api/v1/events"),
        ("entity_history", "entity_history_answer", "/api/v1/entities/order/o-1"),
    ],
)
def test_the_endpoints_themselves_answer(
    owner: Persona, stream: str, monkeypatch: pytest.MonkeyPatch, module: str, name: str, path: str
) -> None:
    from events import api

    def broken(*args: Any) -> dict[str, Any]:
        raise RuntimeError("a bug")

    monkeypatch.setattr(getattr(api, module), name, broken)
    served_answer, view_answer = _both(path, stream, owner.key)

    assert served_answer.status_code == 500  # the endpoint ran (the view keeps its own reference)
    assert served_answer["Content-Type"] == "application/problem+json"
    assert view_answer.status_code == 200
