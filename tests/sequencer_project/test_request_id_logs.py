"""The request id on every log line a request writes, Django's own included.

Django logs a refused request (``django.request``: "Bad Request: /api/...", "Not Found: ...")
in its handler after the middleware chain has returned; the id used to be unbound by then, so
those lines showed ``[-]``. It now stays bound until the response is closed
(``RequestIdMiddleware``), and a line written after the request carries none. Checked through
the test client (the site's handler and ``MIDDLEWARE``) and through the WSGI application
gunicorn serves (the API's handler, ``API_MIDDLEWARE``, and the WSGI endpoints).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from django.test import Client

from sequencer_project.logs import JsonFormatter
from tests import wsgi

pytestmark = pytest.mark.django_db

ADMIN: dict[str, Any] = {"HTTP_AUTHORIZATION": "ApiKey test-bootstrap-admin"}


@dataclass(frozen=True)
class Line:
    logger: str
    plain: str  # as the console's plain formatter writes it
    request_id: str  # as LOG_FORMAT=json writes it


@pytest.fixture
def console_lines() -> Iterator[list[Line]]:
    """Every record the configured console handler would write, through its own filters (the
    request id filter among them), with its plain line and its JSON ``request_id``."""
    import sequencer_project.wsgi  # noqa: F401  (its first import sets Django up: logging configured again)

    console = next(h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler))
    json_formatter = JsonFormatter()
    lines: list[Line] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if console.filter(record):
                entry = orjson.loads(json_formatter.format(record))
                lines.append(Line(record.name, console.format(record), entry["request_id"]))

    capture = Capture(level=logging.DEBUG)
    logging.getLogger().addHandler(capture)
    try:
        yield lines
    finally:
        logging.getLogger().removeHandler(capture)


def _lines_of(lines: list[Line], logger: str) -> list[Line]:
    found = [line for line in lines if line.logger == logger]
    assert found, [line.plain for line in lines]
    return found


def _carries(line: Line, request_id: str) -> None:
    assert line.request_id == request_id, line.plain
    assert f"[{request_id}]" in line.plain, line.plain


def _nothing_after(lines: list[Line]) -> None:
    """A line the thread writes once the request is over carries no id (no stale one)."""
    logging.getLogger("sequencer_project.tests").warning("outside any request")
    last = lines[-1]
    assert last.logger == "sequencer_project.tests"
    assert last.request_id == "-"
    assert " [-] " in last.plain


Call = Callable[..., Any]


def _client(method: str, path: str, **extra: Any) -> Any:
    client = Client()
    if method == "POST":
        return client.post(path, data=extra.pop("body", b""), content_type="application/json", **extra)
    return client.get(path, **extra)


def _served(method: str, path: str, **extra: Any) -> Any:
    return wsgi.call(method, path, **extra)


HANDLERS = pytest.mark.parametrize("call", [_client, _served], ids=["test-client", "served-wsgi"])


@HANDLERS
@pytest.mark.parametrize("sent", [True, False], ids=["id-sent", "id-generated"])
def test_a_404_line_carries_the_request_id(call: Call, sent: bool, console_lines: list[Line]) -> None:
    request_id = f"req-{uuid.uuid4().hex}"
    extra = {"HTTP_X_REQUEST_ID": request_id} if sent else {}

    response = call("GET", "/api/v1/no-such-endpoint", **ADMIN, **extra)

    assert response.status_code == 404
    expected = request_id if sent else response["X-Request-ID"]
    assert expected
    assert expected != "-"
    [line] = _lines_of(console_lines, "django.request")
    assert "Not Found: /api/v1/no-such-endpoint" in line.plain
    _carries(line, expected)
    _nothing_after(console_lines)


@HANDLERS
@pytest.mark.parametrize("sent", [True, False], ids=["id-sent", "id-generated"])
def test_a_400_line_carries_the_request_id(call: Call, sent: bool, console_lines: list[Line]) -> None:
    """A malformed body on a DRF view (the schemas' validate endpoint: the full API path, not a
    WSGI endpoint)."""
    request_id = f"req-{uuid.uuid4().hex}"
    extra = {"HTTP_X_REQUEST_ID": request_id} if sent else {}

    response = call("POST", "/api/v1/schemas/validate", body=b"{not json", **ADMIN, **extra)

    assert response.status_code == 400, response.content
    expected = request_id if sent else response["X-Request-ID"]
    [line] = _lines_of(console_lines, "django.request")
    assert "Bad Request: /api/v1/schemas/validate" in line.plain
    _carries(line, expected)
    _nothing_after(console_lines)


@HANDLERS
@pytest.mark.parametrize("path", ["/nope", "/admin/login/"])
def test_a_disallowed_host_line_carries_the_request_id(call: Call, path: str, console_lines: list[Line]) -> None:
    """Django's ``DisallowedHost`` (``CommonMiddleware``, the site's paths; the served
    application refuses the API's own paths before any handler, ``api_handler.request_refusal``)."""
    request_id = f"req-{uuid.uuid4().hex}"

    response = call("GET", path, HTTP_HOST="evil.example", HTTP_X_REQUEST_ID=request_id)

    assert response.status_code == 400
    assert response["X-Request-ID"] == request_id
    [security] = _lines_of(console_lines, "django.security.DisallowedHost")
    assert "evil.example" in security.plain
    _carries(security, request_id)
    for line in console_lines:
        _carries(line, request_id)
    _nothing_after(console_lines)


def test_a_wsgi_endpoint_line_carries_the_request_id_and_leaves_none_behind(
    console_lines: list[Line], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The WSGI endpoints (ADR 0021) bind the id around their own work: the line of an error
    no mapping answers (the head read made to fail) carries it, and none is left bound after."""
    from events.api.head import HeadEndpoint

    def fails(self: Any, principal: Any, environ: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("the read failed")

    monkeypatch.setattr(HeadEndpoint, "answer", fails)
    request_id = f"req-{uuid.uuid4().hex}"

    response = wsgi.call("GET", "/api/v1/head", HTTP_X_REQUEST_ID=request_id, **ADMIN)

    assert response.status_code == 500, response.content
    assert response["X-Request-ID"] == request_id
    [line] = _lines_of(console_lines, "sequencer_project.api")
    assert "unhandled error on GET /api/v1/head" in line.plain
    _carries(line, request_id)
    _nothing_after(console_lines)


def test_a_request_a_wsgi_endpoint_refuses_leaves_no_id_behind(console_lines: list[Line]) -> None:
    response = wsgi.call("POST", "/api/v1/events/ingest", body=b"{not json", HTTP_X_REQUEST_ID="req-refused", **ADMIN)

    assert response.status_code == 400, response.content
    assert response["X-Request-ID"] == "req-refused"
    _nothing_after(console_lines)


@pytest.mark.parametrize("sent", [True, False])
def test_an_api_request_refused_for_its_host_logs_and_answers_the_same_request_id(
    sent: bool, console_lines: list[Line]
) -> None:
    """The served application refuses a Host outside ALLOWED_HOSTS on the API's paths before any
    handler (``api_handler.request_refusal``): its security line and its problem carry one id."""
    request_id = f"req-{uuid.uuid4().hex}"
    extra: dict[str, Any] = {"HTTP_X_REQUEST_ID": request_id} if sent else {}

    response = wsgi.call("GET", "/api/v1/head", HTTP_HOST="evil.example", **extra)

    assert response.status_code == 400
    expected = request_id if sent else response["X-Request-ID"]
    assert orjson.loads(response.content)["instance"].endswith(expected)
    [security] = _lines_of(console_lines, "django.security.DisallowedHost")
    assert "evil.example" in security.plain
    _carries(security, expected)
    [refused] = _lines_of(console_lines, "sequencer_project.api.refusals")  # bound to its id too
    assert refused.plain.endswith("refused 400 bad_request")
    _carries(refused, expected)
    _nothing_after(console_lines)


def test_a_feature_this_deployment_does_not_offer_is_an_info_line_not_an_error(
    owner: Any, console_lines: list[Line]
) -> None:
    # Any reader could write ERROR lines through the anchoring routes of a service without
    # anchoring (Django logs every 5xx at ERROR): the 503 now writes one INFO refusal line.
    response = owner.client.get(f"/api/v1/ves/anchor/{uuid.uuid4()}/verify")

    assert (response.status_code, response.json()["code"]) == (503, "anchoring_unconfigured")
    assert not [line.plain for line in console_lines if " ERROR " in line.plain]
    [refused] = _lines_of(console_lines, "sequencer_project.api.refusals")
    assert refused.plain.endswith(
        "INFO sequencer_project.api.refusals [" + response["X-Request-ID"] + "] refused 503 anchoring_unconfigured"
    )


@pytest.mark.parametrize(
    ("method", "path", "extra", "status", "code"),
    [
        (
            "POST",
            "/api/v1/events/ingest",
            {"body": b"{}", "HTTP_AUTHORIZATION": "ApiKey ss_nope"},
            401,
            "invalid_api_key",
        ),
        ("POST", "/api/v1/events/ingest", {"body": b"{not json", **ADMIN}, 400, "malformed_json"),
        ("GET", "/api/v1/head", {"HTTP_AUTHORIZATION": "ApiKey ss_nope"}, 401, "invalid_api_key"),
        (
            "GET",
            "/api/v1/events/4a0c2d1e-0000-4000-8000-00000000beef",
            {"QUERY_STRING": "tenant_id=4a0c2d1e-0000-4000-8000-00000000cafe", **ADMIN},
            404,
            "event_not_found",
        ),
        ("GET", "/api/v1/projections/lag", {"HTTP_AUTHORIZATION": "ApiKey ss_nope"}, 401, "invalid_api_key"),
    ],
)
def test_every_refused_request_writes_one_line_with_its_code_and_request_id(
    method: str, path: str, extra: dict[str, Any], status: int, code: str, console_lines: list[Line]
) -> None:
    # The WSGI endpoints answered their refusals without a line: an operator given a client's
    # request id found nothing. One INFO line now names the status and code (never the detail).
    request_id = f"req-{uuid.uuid4().hex}"

    response = wsgi.call(method, path, HTTP_X_REQUEST_ID=request_id, **extra)

    assert (response.status_code, orjson.loads(response.content)["code"]) == (status, code)
    [line] = _lines_of(console_lines, "sequencer_project.api.refusals")
    assert line.plain.endswith(f"INFO sequencer_project.api.refusals [{request_id}] refused {status} {code}")
    _carries(line, request_id)


def test_a_foreign_host_on_the_site_is_a_warning_not_an_error(console_lines: list[Line]) -> None:
    Client().get("/admin/login/", HTTP_HOST="evil.example")

    [security] = _lines_of(console_lines, "django.security.DisallowedHost")
    assert " WARNING django.security.DisallowedHost " in security.plain, security.plain
