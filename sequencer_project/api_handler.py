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

Before either handler, ``route_by_path`` refuses two requests no handler should see, with a 400
``bad_request`` problem: an HTTP/1.1 request without a ``Host`` header (or with an empty one,
which no request to this service names), on every path (RFC 9112 section 3.2; HTTP/1.0 needs
none), and on the API's own paths (``/api/``, ``/v1/``) a ``Host`` outside ``ALLOWED_HOSTS``.
The site's handler checks the host in ``CommonMiddleware``; the API handler and the WSGI
endpoints leave Django's ``request.get_host()`` out, so the API answered any ``Host``. The check
is Django's (:func:`host_allowed`), its verdict cached per ``Host`` value.
The probes and ``/metrics`` answer whatever ``Host`` they are sent: an orchestrator's probe and
a Prometheus scrape name the pod's address, which ``ALLOWED_HOSTS`` rarely lists.

The test client runs every request through ``settings.MIDDLEWARE``; what the API path itself
adds or drops is tested through this WSGI application (``tests/sequencer_project/test_api_handler.py``).
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest, get_script_name
from django.core.signals import setting_changed
from django.http import HttpRequest, HttpResponseBase
from django.http.request import split_domain_port, validate_host
from django.urls import set_script_prefix
from rest_framework.request import Request

from sequencer_project.api import errors
from sequencer_project.api.request_id import REFUSED_REQUEST_ID, forget_request_id, request_id_for, set_request_id
from sequencer_project.db import kept_connections

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

API_PATH_PREFIXES = ("/api/", "/v1/", "/health", "/ready", "/metrics")
# The paths whose Host is checked here: the API's own (the probes and /metrics are left out).
HOST_CHECKED_PREFIXES = ("/api/", "/v1/")
ANY_HOST_PATHS = frozenset({"/health", "/healthz", "/ready", "/readyz", "/metrics"})
_HOST_VERDICTS_KEPT = 256  # distinct Host values remembered; more are checked every time

security_logger = logging.getLogger("django.security.DisallowedHost")  # Django's, as its check logs


class _HostVerdicts:
    """Django's ``request.get_host()`` check of a raw ``Host`` value, remembered per value.

    The settings it reads are read once (an attribute of Django's lazy settings costs ~0.5 µs)
    and again after a change (``setting_changed``: a test's ``override_settings``)."""

    def __init__(self) -> None:
        self.forwarded: bool | None = None  # USE_X_FORWARDED_HOST; None: settings not read yet
        self.allowed_hosts: list[str] = []
        self.verdicts: dict[str, bool] = {}

    def read_settings(self) -> None:
        allowed_hosts = list(settings.ALLOWED_HOSTS)
        if settings.DEBUG and not allowed_hosts:  # as get_host: localhost variants
            allowed_hosts = [".localhost", "127.0.0.1", "[::1]"]
        self.allowed_hosts = allowed_hosts
        self.verdicts = {}
        self.forwarded = bool(settings.USE_X_FORWARDED_HOST)

    def forget(self, *, setting: str, **kwargs: Any) -> None:
        if setting in ("ALLOWED_HOSTS", "DEBUG", "USE_X_FORWARDED_HOST"):
            self.forwarded = None

    def allowed(self, host: str) -> bool:
        verdict = self.verdicts.get(host)
        if verdict is None:
            domain, _port = split_domain_port(host)
            verdict = bool(domain and validate_host(domain, self.allowed_hosts))
            if len(self.verdicts) < _HOST_VERDICTS_KEPT:
                self.verdicts[host] = verdict
        return verdict


_HOSTS = _HostVerdicts()
setting_changed.connect(_HOSTS.forget, dispatch_uid="sequencer_project.api_handler.hosts")


def host_allowed(environ: Mapping[str, Any]) -> bool:
    """Whether Django's ``request.get_host()`` would accept this request's host: its
    ``X-Forwarded-Host`` under ``USE_X_FORWARDED_HOST``, its ``Host``, or (neither sent) the
    server's name and port, each checked against ``ALLOWED_HOSTS``."""
    hosts = _HOSTS
    if hosts.forwarded is None:
        hosts.read_settings()
    if hosts.forwarded and "HTTP_X_FORWARDED_HOST" in environ:
        return hosts.allowed(environ["HTTP_X_FORWARDED_HOST"])
    host = environ.get("HTTP_HOST")
    if host is not None:
        return hosts.allowed(host)
    try:  # an HTTP/1.0 request without Host: Django's own reconstruction (rare, not cached)
        WSGIRequest(dict(environ)).get_host()
    except DisallowedHost:
        return False
    return True


def request_refusal(environ: dict[str, Any], path: str) -> errors.SequencerError | None:
    """The 400 (or 501) of a request refused before any handler (see the module's doc), or ``None``."""
    # Missing or empty: granian passes a request without Host with an empty one (gunicorn without).
    # Probes and /metrics answer any Host, none included: a load balancer's health check may omit it.
    if not environ.get("HTTP_HOST") and environ.get("SERVER_PROTOCOL") == "HTTP/1.1" and path not in ANY_HOST_PATHS:
        return errors.BadRequestError("An HTTP/1.1 request must carry a Host header (RFC 9112 section 3.2).")
    coding = environ.get("HTTP_TRANSFER_ENCODING")
    if coding is not None and coding.strip().lower() != "chunked":  # gunicorn passes "gzip, chunked" on undecoded
        return errors.UnsupportedTransferCodingError(
            f"Transfer-Encoding {coding!r} is not supported; send the body as it is or 'chunked'."
        )
    if path.startswith(HOST_CHECKED_PREFIXES) and not host_allowed(environ):
        host = environ.get("HTTP_X_FORWARDED_HOST" if settings.USE_X_FORWARDED_HOST else "HTTP_HOST")
        # The line carries the id the answer will (answer_problem reads it back from environ).
        request_id = environ[REFUSED_REQUEST_ID] = request_id_for(environ.get("HTTP_X_REQUEST_ID", ""))
        set_request_id(request_id)
        try:
            security_logger.error("Invalid HTTP_HOST header: %r. It is not in ALLOWED_HOSTS (%s).", host, path)
        finally:
            forget_request_id()
        return errors.BadRequestError("The request's Host is not one this service answers for (ALLOWED_HOSTS).")
    return None


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


# gunicorn discards at most this much of a body the application left unread before it serves the
# connection's next request (``gunicorn.http.parser._DRAIN_MAX_BYTES``); past it, it closes.
_SERVER_DRAINS_BYTES = 64 * 1024


def _body_may_be_left_unread(environ: dict[str, Any]) -> bool:
    """Whether the server may close the connection after this request: a body it would not drain
    whole if an early answer (401, 404, 413, ...) leaves it unread."""
    if "HTTP_TRANSFER_ENCODING" in environ:
        return True
    length: str = environ.get("CONTENT_LENGTH") or ""
    return bool(length) and (not length.isdigit() or int(length) > _SERVER_DRAINS_BYTES)


def _closing_on_refusal(start_response: Callable[..., Any]) -> Callable[..., Any]:
    """``start_response`` that answers an error with ``Connection: close``.

    Our headers cannot say it (gunicorn drops an application's hop-by-hop headers), so it asks
    gunicorn's response object, whose method ``start_response`` is, to close: otherwise the answer
    said ``keep-alive``, gunicorn then gave up draining the unread body and closed the connection,
    and the client's next request on it was lost. Other servers' ``start_response`` has no
    ``force_close``; it is left alone there."""
    force_close = getattr(getattr(start_response, "__self__", None), "force_close", None)
    if force_close is None:
        return start_response

    def closing(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        if status[:1] in ("4", "5"):
            force_close()
        return start_response(status, headers, exc_info)

    return closing


def route_by_path(
    *,
    api: WSGIApp,
    site: WSGIApp,
    endpoints: Mapping[str, WSGIApp] | None = None,
    prefixed: Mapping[str, WSGIApp] | None = None,
) -> WSGIApp:
    """One WSGI application: the requests :func:`request_refusal` refuses answered at once, then
    ``endpoints`` by exact path, then ``prefixed`` by path prefix (each endpoint checks the rest and
    falls back itself), API paths to ``api``, the rest to ``site``."""
    from sequencer_project.api.wsgi_endpoint import answer_problem  # it imports this module's importers

    exact = dict(endpoints or {})
    prefixes = tuple((prefix, app) for prefix, app in (prefixed or {}).items())

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if _body_may_be_left_unread(environ):
            start_response = _closing_on_refusal(start_response)
        path = environ.get("PATH_INFO", "")
        refusal = request_refusal(environ, path)
        if refusal is not None:
            return answer_problem(environ, start_response, refusal, counted=path.startswith(API_PATH_PREFIXES))
        handler = exact.get(path)
        if handler is None:
            handler = next((app for prefix, app in prefixes if path.startswith(prefix)), None)
        if handler is None:
            handler = api if path.startswith(API_PATH_PREFIXES) else site
        return handler(environ, start_response)

    return application
