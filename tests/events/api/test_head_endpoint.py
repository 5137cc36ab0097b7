"""``GET /api/v1/head`` through its WSGI endpoint (``events/api/head.py``, ADR 0021) answers as
its DRF view does: status, body and headers, request by request."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.http import HttpResponse

from sequencer_project import wsgi as served
from sequencer_project.api_handler import route_by_path
from tests import wsgi
from tests.conftest import IngestPoster, Persona, legacy_event
from tests.tenants.factories import issue_key

pytestmark = pytest.mark.django_db

drf_only = route_by_path(api=served.api, site=served.site)


def _get(app: Any, query: str, key: str | None, **extra: Any) -> HttpResponse:
    if key is not None:
        extra["HTTP_AUTHORIZATION"] = f"ApiKey {key}"
    return wsgi.call(extra.pop("method", "GET"), "/api/v1/head", query=query, app=app, **extra)


def _both(query: str, key: str | None, **extra: Any) -> tuple[HttpResponse, HttpResponse]:
    return _get(served.application, query, key, **dict(extra)), _get(drf_only, query, key, **dict(extra))


_same = wsgi.assert_same_answer


def test_the_head_is_answered_alike(owner: Persona, post_ingest: IngestPoster) -> None:
    events = [legacy_event(owner.tenant_id, owner.store_id) for _ in range(3)]
    assert post_ingest(owner.client, {"events": events}).status_code == 200
    query = f"tenant_id={owner.tenant_id}&store_id={owner.store_id}"

    a, b = _both(query, owner.key)

    assert _same(a, b) == {"head_sequence": 3}
    assert (a.status_code, a["Content-Type"], a["Allow"]) == (200, "application/json", "GET, HEAD, OPTIONS")


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("", 400, "invalid_parameter"),
        ("tenant_id={t}", 400, "invalid_parameter"),
        ("tenant_id={t}&store_id=nope", 400, "invalid_parameter"),
        ("tenant_id={t}&store_id=", 400, "invalid_parameter"),
        ("tenant_id=%ZZ&store_id={s}", 400, "invalid_parameter"),
        ("tenant_id={other}&store_id={s}", 403, "tenant_access_denied"),
        ("tenant_id=x&tenant_id={t}&store_id={s}", 200, None),  # the last value counts, as in Django
    ],
)
def test_query_errors_and_scope_are_the_same(owner: Persona, query: str, status: int, code: str | None) -> None:
    filled = query.format(t=owner.tenant_id, s=owner.store_id, other=uuid.uuid4())
    a, b = _both(filled, owner.key)

    body = _same(a, b)
    assert a.status_code == status
    assert body.get("code") == code


def test_a_store_outside_the_keys_scope_and_missing_credentials_are_the_same(owner: Persona, member: Persona) -> None:
    query = f"tenant_id={owner.tenant_id}&store_id={owner.store_id}"
    assert _same(*_both(query, member.key))["code"] == "store_access_denied"
    assert _same(*_both(query, None))["code"] == "missing_auth"
    assert _same(*_both(query, "ss_unknown"))["code"] == "invalid_api_key"


def test_rate_limits_count_alike(owner: Persona) -> None:
    query = f"tenant_id={owner.tenant_id}&store_id={owner.store_id}"
    answers = []
    for app in (served.application, drf_only):
        key = issue_key(owner.tenant, rate_limit=1)
        answers.append((_get(app, query, key), _get(app, query, key)))
    (ok_a, refused_a), (ok_b, refused_b) = answers
    assert ok_a["RateLimit-Remaining"] == ok_b["RateLimit-Remaining"] == "0"
    assert _same(refused_a, refused_b)["code"] == "rate_limited"


@pytest.mark.parametrize(
    "extra", [{"method": "HEAD"}, {"HTTP_ACCEPT": "text/html"}], ids=["head-method", "not-json-accepted"]
)
def test_requests_the_endpoint_does_not_take_reach_the_view(owner: Persona, extra: dict[str, Any]) -> None:
    query = f"tenant_id={owner.tenant_id}&store_id={owner.store_id}"
    a, b = _both(query, owner.key, **extra)

    assert a.status_code == b.status_code
    assert a.content.replace(a["X-Request-ID"].encode(), b"") == b.content.replace(b["X-Request-ID"].encode(), b"")


def test_the_format_override_goes_to_the_view(owner: Persona) -> None:
    query = f"tenant_id={owner.tenant_id}&store_id={owner.store_id}&format=json"
    a, b = _both(query, owner.key)

    assert (a.status_code, b.status_code) == (b.status_code, a.status_code)
    assert a.content == b.content


def test_the_endpoint_itself_answers_and_a_bug_is_a_logged_500(owner: Persona, monkeypatch: pytest.MonkeyPatch) -> None:
    from events.api import head

    def broken(principal: Any, query: Any) -> dict[str, Any]:
        raise RuntimeError("a bug")

    monkeypatch.setattr(head, "head_answer", broken)
    query = f"tenant_id={owner.tenant_id}&store_id={owner.store_id}"
    served_answer, view_answer = _both(query, owner.key)

    assert served_answer.status_code == 500  # the endpoint ran (the view keeps its own reference)
    assert served_answer["Content-Type"] == "application/problem+json"
    assert view_answer.status_code == 200
