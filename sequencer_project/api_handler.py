"""The API's own request path: a WSGI handler with only the middleware an API request needs.

The operator admin needs sessions, CSRF, authentication, messages and static files; a
credentialed JSON request needs none of them, and each costs CPU on every request (the
django-prometheus pair alone writes several multiprocess metric files). ``route_by_path`` sends
API, probe and metrics paths to a handler built from ``settings.API_MIDDLEWARE`` and everything
else (``/admin/``, static files) to Django's usual handler with ``settings.MIDDLEWARE``. Both
handlers share the URLconf, the views, the request signals and the database connections.

The test client runs every request through ``settings.MIDDLEWARE``; what the API path itself
adds or drops is tested through this WSGI application (``tests/sequencer_project/test_api_handler.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponseBase
from rest_framework.request import Request

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

API_PATH_PREFIXES = ("/api/", "/v1/", "/health", "/ready", "/metrics")


class ApiWSGIHandler(WSGIHandler):
    """``WSGIHandler`` whose middleware chain is ``settings.API_MIDDLEWARE``."""

    def load_middleware(self, is_async: bool = False) -> None:
        # Django builds the chain from settings.MIDDLEWARE; this runs once, at import time in
        # each worker, before any request, so swapping the list for the build is not racy.
        site_middleware = settings.MIDDLEWARE
        settings.MIDDLEWARE = settings.API_MIDDLEWARE
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = site_middleware

    def get_response(self, request: HttpRequest) -> HttpResponseBase:
        response = super().get_response(request)
        release_view(response)
        return response


def release_view(response: HttpResponseBase) -> None:
    """Break the reference cycles a DRF view leaves behind, once its response is rendered and
    every middleware has seen it, so reference counting frees the request's objects at once.

    A view instance holds its request and response and aliases ``head`` to its own bound ``get``
    (Django's ``View.setup``); DRF's request names the view and itself in ``parser_context``, its
    response both in ``renderer_context`` (which the API's exception handler also sets on the problem
    responses of DRF views). Left as they are, everything a request through a DRF
    view made (~150 objects for an entity history, ~470 for a range of 100 events) waits for the
    cyclic collector, and the web processes' collections, each walking thousands of such objects,
    stall every thread of the process for 15-50 ms (docs/performance.md, "The reads' tail").
    """
    context: dict[str, Any] | None = getattr(response, "renderer_context", None)  # not in DRF's stubs
    if not context:
        return
    response.renderer_context = None  # type: ignore[attr-defined]
    request = context.get("request")
    if isinstance(request, Request):
        request.parser_context = {}
    view = context.get("view")
    if view is not None:
        view.__dict__.clear()  # its request, response, arguments and the ``head`` alias


def route_by_path(
    *,
    api: WSGIApp,
    site: WSGIApp,
    endpoints: Mapping[str, WSGIApp] | None = None,
    prefixed: Mapping[str, WSGIApp] | None = None,
) -> WSGIApp:
    """One WSGI application: ``endpoints`` by exact path, then ``prefixed`` by path prefix (each
    endpoint checks the rest and falls back itself), API paths to ``api``, the rest to ``site``."""
    exact = dict(endpoints or {})
    prefixes = tuple((prefix, app) for prefix, app in (prefixed or {}).items())

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        handler = exact.get(path)
        if handler is None:
            handler = next((app for prefix, app in prefixes if path.startswith(prefix)), None)
        if handler is None:
            handler = api if path.startswith(API_PATH_PREFIXES) else site
        return handler(environ, start_response)

    return application
