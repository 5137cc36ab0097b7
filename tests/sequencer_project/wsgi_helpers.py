"""One request through the WSGI application gunicorn serves (``sequencer_project.wsgi``), so the
API's own request path (``sequencer_project/api_handler.py``) is what answers."""

from __future__ import annotations

import io
import wsgiref.util
from typing import Any

from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from sequencer_project.wsgi import application


def wsgi_call(
    path: str, *, method: str = "GET", key: str | None = None, query: str = "", body: bytes = b""
) -> tuple[int, dict[str, str], bytes]:
    """``(status, headers with lower-case names, body)``; ``key`` is sent as ``ApiKey``, ``body`` as JSON."""
    environ: dict[str, Any] = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query}
    wsgiref.util.setup_testing_defaults(environ)
    environ["wsgi.input"] = io.BytesIO(body)
    if body:
        environ["CONTENT_LENGTH"], environ["CONTENT_TYPE"] = str(len(body)), "application/json"
    if key is not None:
        environ["HTTP_AUTHORIZATION"] = f"ApiKey {key}"
    started: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        started["status"], started["headers"] = int(status.split()[0]), headers

    # As Django's test client does: the request signals must not close the test's connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        content = b"".join(application(environ, start_response))
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    headers: dict[str, str] = {}
    for name, value in started["headers"]:
        headers[name.lower()] = f"{headers[name.lower()]}, {value}" if name.lower() in headers else value
    return started["status"], headers, content
