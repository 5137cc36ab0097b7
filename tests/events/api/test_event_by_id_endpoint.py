"""``GET /api/v1/events/{event_id}`` through its WSGI endpoint (``events/api/event_by_id.py``,
ADR 0021) answers as its DRF view does, request by request."""

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

pytestmark = pytest.mark.django_db

drf_only = route_by_path(api=served.api, site=served.site)


def _both(path: str, key: str | None, query: str = "") -> tuple[HttpResponse, HttpResponse]:
    extra: dict[str, Any] = {"HTTP_AUTHORIZATION": f"ApiKey {key}"} if key is not None else {}
    served_answer = wsgi.call("GET", path, query=query, app=served.application, **extra)
    return served_answer, wsgi.call("GET", path, query=query, app=drf_only, **extra)


def _same(a: HttpResponse, b: HttpResponse) -> tuple[int, dict[str, Any]]:
    return a.status_code, wsgi.assert_same_answer(a, b)


@pytest.fixture
def stored(owner: Persona, post_ingest: IngestPoster) -> str:
    event = legacy_event(owner.tenant_id, owner.store_id, command_id=str(uuid.uuid4()))
    assert post_ingest(owner.client, {"events": [event]}).status_code == 200
    return str(event["event_id"])


def test_an_event_is_answered_alike(owner: Persona, stored: str) -> None:
    status, body = _same(*_both(f"/api/v1/events/{stored}", owner.key))

    assert status == 200
    assert body["envelope"]["event_id"] == stored
    assert body["envelope"]["payload"] == {"total": 42, "currency": "USD", "lines": [{"sku": "A-1", "qty": 2}]}


@pytest.mark.parametrize(
    ("who", "path", "query", "status", "code"),
    [
        ("owner", "/api/v1/events/not-a-uuid", "", 400, "invalid_parameter"),
        ("owner", "/api/v1/events/{missing}", "", 404, "event_not_found"),
        ("owner", "/api/v1/events/{id}", "tenant_id=nope", 400, "invalid_parameter"),
        ("owner", "/api/v1/events/{id}", "tenant_id={other}", 404, "event_not_found"),
        ("outsider", "/api/v1/events/{id}", "", 404, "event_not_found"),
        ("member", "/api/v1/events/{id}", "", 404, "event_not_found"),  # another store of the tenant
        ("bootstrap", "/api/v1/events/{id}", "", 400, "invalid_parameter"),  # names no tenant
        ("bootstrap", "/api/v1/events/{id}", "tenant_id={t}", 200, None),
        ("nobody", "/api/v1/events/{id}", "", 401, "missing_auth"),
        ("owner", "/api/v1/events/{id}/more", "", 404, "not_found"),  # not this endpoint's path
    ],
)
def test_errors_scope_and_fallbacks_are_the_same(
    owner: Persona,
    outsider: Persona,
    member: Persona,
    stored: str,
    who: str,
    path: str,
    query: str,
    status: int,
    code: str | None,
) -> None:
    keys = {
        "owner": owner.key,
        "outsider": outsider.key,
        "member": member.key,
        "bootstrap": settings.BOOTSTRAP_ADMIN_API_KEY,
        "nobody": None,
    }
    fill = {"id": stored, "missing": uuid.uuid4(), "other": uuid.uuid4(), "t": owner.tenant_id}
    got_status, body = _same(*_both(path.format(**fill), keys[who], query.format(**fill)))

    assert got_status == status
    assert body.get("code") == code


def test_the_endpoint_itself_answers(owner: Persona, stored: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from events.api import event_by_id

    def broken(*args: Any) -> dict[str, Any]:
        raise RuntimeError("a bug")

    monkeypatch.setattr(event_by_id, "event_answer", broken)
    served_answer, view_answer = _both(f"/api/v1/events/{stored}", owner.key)

    assert served_answer.status_code == 500  # the endpoint ran (the view keeps its own reference)
    assert view_answer.status_code == 200
