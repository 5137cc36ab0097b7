"""Requests through the WSGI application gunicorn serves (``sequencer_project.wsgi``), in-process.

Django's test client runs the site handler and ``MIDDLEWARE``; production traffic takes the
lean API handler and, for legacy ingest, the WSGI endpoint (ADR 0019, ADR 0021). Tests of those
paths call :func:`call` and get a Django ``HttpResponse`` with ``json()`` like the test client's.
"""

from __future__ import annotations

import io
import wsgiref.util
from typing import Any

import orjson
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.http import HttpResponse


def call(
    method: str,
    path: str,
    *,
    body: bytes = b"",
    content_type: str = "application/json",
    query: str = "",
    app: Any = None,
    **environ_extra: Any,
) -> HttpResponse:
    """One request; ``environ_extra`` holds WSGI keys (``HTTP_AUTHORIZATION=...``)."""
    if app is None:
        from sequencer_project.wsgi import application as app
    environ: dict[str, Any] = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query}
    wsgiref.util.setup_testing_defaults(environ)
    environ["wsgi.input"] = io.BytesIO(body)
    if body or method in ("POST", "PUT", "PATCH"):
        environ["CONTENT_LENGTH"] = str(len(body))
        environ["CONTENT_TYPE"] = content_type
    environ.update({name: str(value) for name, value in environ_extra.items()})
    started: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        started["status"], started["headers"] = int(status.split()[0]), headers

    # As Django's test client does: the request signals must not close the test's connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        chunks = app(environ, start_response)
        content = b"".join(chunks)
        if hasattr(chunks, "close"):
            chunks.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    response = HttpResponse(content, status=started["status"])
    del response["Content-Type"]
    for name, value in started["headers"]:
        response.headers[name] = f"{response.headers[name]}, {value}" if name in response.headers else value
    response.json = lambda: orjson.loads(content)  # type: ignore[attr-defined]
    return response


def exchange(
    path: str, *, method: str = "GET", key: str | None = None, query: str = "", body: bytes = b""
) -> tuple[int, dict[str, str], bytes]:
    """``(status, headers with lower-case names, body)``; ``key`` is sent as ``ApiKey``."""
    extra: dict[str, Any] = {"HTTP_AUTHORIZATION": f"ApiKey {key}"} if key is not None else {}
    response = call(method, path, query=query, body=body, **extra)
    return response.status_code, {name.lower(): value for name, value in response.items()}, response.content


PER_REQUEST_HEADERS = frozenset({"x-request-id", "content-length"})


# Seconds until a rate-limit window resets, counted from the moment each answer was made: two
# answers a moment apart may straddle a second.
SECONDS_FROM_NOW_HEADERS = ("retry-after", "ratelimit-reset")


def assert_same_headers(a: HttpResponse, b: HttpResponse) -> None:
    """The headers of two answers are the same but per-request ones; seconds-from-now headers
    may differ by the one second that can tick between the answers."""
    first, second = ({k.lower(): v for k, v in r.items() if k.lower() not in PER_REQUEST_HEADERS} for r in (a, b))
    for name in SECONDS_FROM_NOW_HEADERS:
        if name in first and name in second:
            wait_a, wait_b = int(first.pop(name)), int(second.pop(name))
            assert abs(wait_a - wait_b) <= 1, (name, wait_a, wait_b)
    assert first == second


def assert_same_answer(a: HttpResponse, b: HttpResponse) -> dict[str, Any]:
    """Two answers to one request (a WSGI endpoint's and its view's) are the same: status, JSON
    body (but the problem's ``instance``, a request id) and headers (``assert_same_headers``)."""
    assert a.status_code == b.status_code, (a.content, b.content)
    first, second = a.json(), b.json()  # type: ignore[attr-defined]
    for body in (first, second):
        body.pop("instance", None)
    assert first == second
    assert_same_headers(a, b)
    return dict(first)
