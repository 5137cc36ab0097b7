"""The API's own request path: a WSGI handler with only the middleware an API request needs.

The operator admin needs sessions, CSRF, authentication, messages and static files; a
credentialed JSON request needs none of them, and each costs CPU on every request (the
django-prometheus pair alone writes several multiprocess metric files). ``route_by_path`` sends
API, probe and metrics paths to a handler built from ``settings.API_MIDDLEWARE`` and everything
else (``/admin/``, static files) to Django's usual handler with ``settings.MIDDLEWARE``. Both
handlers share the URLconf, the views and the database connections.

An API request keeps its server thread's pooled connection, as the WSGI endpoints do (ADR 0024,
ADR 0042): the handler calls ``kept_connections.request_started`` / ``request_finished`` instead
of sending Django's request signals, whose receivers would hand the connection back to the pool
after every request and check one out (with the pool's health check) at the next.

The test client runs every request through ``settings.MIDDLEWARE``; what the API path itself
adds or drops is tested through this WSGI application (``tests/sequencer_project/test_api_handler.py``).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler, get_script_name
from django.http import HttpRequest, HttpResponseBase
from django.urls import set_script_prefix
from rest_framework.request import Request

from sequencer_project.db import kept_connections

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

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """Django's ``WSGIHandler.__call__`` with the kept connections' request start and finish
        in place of the ``request_started`` / ``request_finished`` signals (the API answers no
        file, so ``wsgi.file_wrapper`` is not used)."""
        set_script_prefix(get_script_name(environ))
        kept_connections.request_started()
        try:
            response = self.get_response(self.request_class(environ))
        except BaseException:
            kept_connections.request_finished(failed=True)
            raise
        # The server calls ``close`` once the body is sent (a streamed body may still read).
        response.close = functools.partial(_close, response, failed=response.status_code >= 500)  # type: ignore[method-assign]
        start_response(
            f"{response.status_code} {response.reason_phrase}",
            [*response.items(), *(("Set-Cookie", c.output(header="")) for c in response.cookies.values())],
        )
        return response

    def get_response(self, request: HttpRequest) -> HttpResponseBase:
        response = super().get_response(request)
        release_view(response)
        return response


def _close(response: HttpResponseBase, *, failed: bool) -> None:
    """``HttpResponseBase.close`` without the ``request_finished`` signal: the response's own
    closers, then the thread's connections kept or handed back. Drops itself from the response,
    which it names: left there, the two would wait for the cyclic collector (ADR 0041)."""
    del response.close
    try:
        for closer in response._resource_closers:  # type: ignore[attr-defined]  # Django's, as its close
            with contextlib.suppress(Exception):  # as Django's close: a closer's failure ends nothing
                closer()
        response._resource_closers.clear()  # type: ignore[attr-defined]
        response.closed = True
    finally:
        kept_connections.request_finished(failed=failed)


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
