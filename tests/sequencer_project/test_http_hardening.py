"""Security headers, gzip for large responses only, JSON logs, settings checks."""

from __future__ import annotations

import gzip
import logging
from typing import Any

import orjson
import pytest
from django.core.checks import run_checks
from django.test import Client

from sequencer_project.logs import JsonFormatter
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


def test_operations_settings_are_checked(settings: Any) -> None:
    settings.LOG_FORMAT = "xml"
    settings.RATE_LIMIT_WINDOW_SECONDS = 0
    settings.SEQUENCER_ENV = "production"
    settings.SECURE_HSTS_SECONDS = 0

    ids = {message.id for message in run_checks()}

    assert {"sequencer.E020", "sequencer.E021", "sequencer.W020"} <= ids
