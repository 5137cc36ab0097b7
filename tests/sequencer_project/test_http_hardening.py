"""Security headers, gzip for large responses only, JSON logs, settings checks."""

from __future__ import annotations

import gzip
import logging
from typing import Any

import orjson
import pytest
from django.core.checks import run_checks
from django.core.handlers.wsgi import WSGIHandler
from django.test import Client

from events.api import head
from sequencer_project.api_handler import ApiWSGIHandler, route_by_path
from sequencer_project.logs import JsonFormatter
from tests import wsgi
from tests.conftest import IngestPoster, Persona, legacy_event

pytestmark = pytest.mark.django_db


def test_security_headers_are_set_on_api_and_probe_responses(owner: Persona) -> None:
    for response in (
        Client().get("/health"),
        owner.client.get(f"/api/v1/head?tenant_id={owner.tenant_id}&store_id={owner.store_id}"),
        Client().get("/api/v1/head"),  # a 401 problem
    ):
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["X-Frame-Options"] == "DENY"
        assert response["Referrer-Policy"] == "same-origin"
        assert response["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.mark.parametrize("path", ["/health", "/api/v1/head", "/api/v1/events?limit=1"])
@pytest.mark.parametrize(
    ("proxy_header", "extra", "sent"),
    [
        (None, {"wsgi.url_scheme": "https"}, True),  # TLS ended by the server itself
        (None, {"HTTP_X_FORWARDED_PROTO": "https"}, False),  # a header nobody said to trust
        (("HTTP_X_FORWARDED_PROTO", "https"), {"HTTP_X_FORWARDED_PROTO": "https"}, True),  # the proxy's
        (("HTTP_X_FORWARDED_PROTO", "https"), {"HTTP_X_FORWARDED_PROTO": "http"}, False),
        (("HTTP_X_FORWARDED_PROTO", "https"), {"wsgi.url_scheme": "https", "HTTP_X_FORWARDED_PROTO": "http"}, False),
        (("HTTP_X_FORWARDED_PROTO", "https"), {"wsgi.url_scheme": "https"}, True),  # no header: the scheme, as Django
    ],
)
def test_hsts_is_sent_on_requests_that_came_over_https(
    settings: Any, owner: Persona, path: str, proxy_header: Any, extra: dict[str, str], sent: bool
) -> None:
    """On the lean API path, a fast WSGI endpoint (head) and Django's (the probe) alike, with
    ``SECURE_PROXY_SSL_HEADER`` as the variable ``SECURE_PROXY_SSL_HEADER=X-Forwarded-Proto`` sets it:
    the proxy's header when it is sent, else the server's scheme (Django's ``is_secure``)."""
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_PROXY_SSL_HEADER = proxy_header
    base, _, query = path.partition("?")
    if base == "/api/v1/head":
        query = f"tenant_id={owner.tenant_id}&store_id={owner.store_id}"

    environ: dict[str, Any] = {"HTTP_AUTHORIZATION": f"ApiKey {owner.key}", **extra}
    # Built after the settings change: each handler reads its middleware's settings once, at its start.
    api = ApiWSGIHandler()
    application = route_by_path(api=api, site=WSGIHandler(), endpoints={head.PATH: head.HeadEndpoint(api)})
    response = wsgi.call("GET", base, query=query, app=application, **environ)

    assert response.status_code in (200, 400), response.content
    assert response.get("Strict-Transport-Security") == ("max-age=31536000" if sent else None)


def test_large_responses_are_gzipped_and_small_ones_are_not(owner: Persona, post_ingest: IngestPoster) -> None:
    events = [legacy_event(owner.tenant_id, owner.store_id) for _ in range(20)]
    assert post_ingest(owner.client, {"events": events}).status_code == 200
    stream = f"tenant_id={owner.tenant_id}&store_id={owner.store_id}"

    large = owner.client.get(f"/api/v1/events?{stream}&limit=20", HTTP_ACCEPT_ENCODING="gzip")
    small = owner.client.get(f"/api/v1/head?{stream}", HTTP_ACCEPT_ENCODING="gzip")
    plain = owner.client.get(f"/api/v1/events?{stream}&limit=20")

    assert large["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in large["Vary"]
    assert orjson.loads(gzip.decompress(large.content))["count"] == 20
    assert len(large.content) < len(plain.content)
    assert "Content-Encoding" not in small
    assert "Content-Encoding" not in plain


def test_the_json_log_formatter_writes_one_object_per_line_with_the_request_id() -> None:
    record = logging.LogRecord("sequencer.test", logging.WARNING, __file__, 1, "hello %s", ("world",), None)
    record.request_id = "req-42"

    line = JsonFormatter().format(record)

    entry = orjson.loads(line)
    assert "\n" not in line
    assert entry["message"] == "hello world"
    assert entry["level"] == "WARNING"
    assert entry["request_id"] == "req-42"
    assert entry["ts"].endswith("Z")


def test_log_format_json_is_wired_through_settings(settings: Any) -> None:
    from sequencer_project import settings as project_settings

    config: Any = project_settings.LOGGING
    assert config["formatters"]["json"]["()"] == "sequencer_project.logs.JsonFormatter"


@pytest.mark.parametrize(("session", "csrf"), [(False, True), (True, False), (False, False)])
def test_admin_cookies_that_may_travel_over_http_are_warned_about_in_production(
    settings: Any, session: bool, csrf: bool
) -> None:
    settings.SEQUENCER_ENV = "production"
    settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE = session, csrf

    assert "sequencer.W022" in {message.id for message in run_checks()}
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    assert "sequencer.W022" not in {message.id for message in run_checks()}


def test_operations_settings_are_checked(settings: Any) -> None:
    settings.LOG_FORMAT = "xml"
    settings.RATE_LIMIT_WINDOW_SECONDS = 0
    settings.SEQUENCER_ENV = "production"
    settings.SECURE_HSTS_SECONDS = 0

    ids = {message.id for message in run_checks()}

    assert {"sequencer.E020", "sequencer.E021", "sequencer.W020"} <= ids
