"""Every DRF exception leaves as a documented problem whose ``code`` and ``status`` agree with
the HTTP status: never ``internal_error`` with a client status (a 406 once did)."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest
from rest_framework import exceptions as drf

from sequencer_project.api.problems import problem_exception_handler

ERRORS_DOC = Path(__file__).resolve().parents[2] / "docs" / "errors.md"


def _documented() -> dict[str, int]:
    rows = re.findall(r"^\| `(\w+)` \| (\d{3}) \|", ERRORS_DOC.read_text(), re.MULTILINE)
    return {code: int(status) for code, status in rows}


class _Teapot(drf.APIException):
    status_code = 418


class _Gateway(drf.APIException):
    status_code = 502
    default_detail = "upstream at 10.0.0.7 failed"


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (drf.ParseError(), 400, "malformed_json"),
        (drf.ValidationError({"a": ["bad"]}), 422, "invalid_request"),
        (drf.NotAuthenticated(), 401, "missing_auth"),
        (drf.AuthenticationFailed(), 401, "invalid_api_key"),
        (drf.PermissionDenied(), 403, "permission_denied"),
        (drf.NotFound(), 404, "not_found"),
        (drf.MethodNotAllowed("PATCH"), 405, "method_not_allowed"),
        (drf.NotAcceptable(), 400, "bad_request"),
        (drf.UnsupportedMediaType("text/plain"), 415, "unsupported_media_type"),
        (drf.Throttled(2.5), 429, "rate_limited"),
        (_Teapot(), 400, "bad_request"),
        (drf.APIException(), 500, "internal_error"),
        (_Gateway(), 500, "internal_error"),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else None,
)
def test_each_drf_exception_is_a_documented_code_of_its_status(exc: drf.APIException, status: int, code: str) -> None:
    response = problem_exception_handler(exc, {})

    assert response is not None
    body = orjson.loads(response.content)
    assert (response.status_code, body["status"], body["code"]) == (status, status, code)
    assert response["Content-Type"] == "application/problem+json"
    assert _documented()[code] == status
    assert "10.0.0.7" not in body["detail"]  # a server error's detail stays in the log


def test_a_throttled_answer_says_when_to_retry() -> None:
    response = problem_exception_handler(drf.Throttled(2.5), {})

    assert response is not None
    assert response["Retry-After"] == "3"
