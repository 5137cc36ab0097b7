"""Request id, security headers and problem+json for errors outside DRF views: the API's
middleware and the URLconf's error handlers (problem+json on every path but the admin's)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse
from django.views import defaults

from sequencer_project.api import errors
from sequencer_project.api.problems import problem_response, to_sequencer_error, unhandled_problem
from sequencer_project.api.request_id import current_request_id, forget_request_id, request_id_for, set_request_id

_API_PREFIXES = ("/api/", "/v1/")


def is_api_path(path: str) -> bool:
    return path.startswith(_API_PREFIXES)


class RequestIdMiddleware:
    """Accept a sane ``X-Request-ID`` or make one; echo it and bind it to log records; the
    reference's security headers on every response.

    The id stays bound until the server closes the response, not only while the chain runs:
    Django logs a refused request (``django.request``'s "Bad Request: /api/...", "Not Found",
    a 5xx) in its handler once the middleware chain has returned, and a streamed body is still
    read after it. Closing the response forgets the id, so a line the thread writes outside any
    request carries none (both handlers' ``close`` run the response's closers; the site's then
    sends ``request_finished``, the API's does not, so that signal cannot be the hook)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_for(request.headers.get("X-Request-ID", ""))
        set_request_id(request_id)
        try:
            response = self.get_response(request)
        except BaseException:  # never an Exception: Django's wrapper of the next layer answers those
            forget_request_id()
            raise
        response._resource_closers.append(forget_request_id)  # type: ignore[attr-defined]  # Django's, run by close()
        response["X-Request-ID"] = request_id
        # As the reference's request-id middleware, on every answer (probes, /metrics, root 404s):
        # kept where set already (the admin's never_cache, static files' max-age, a view exempt
        # from X-Frame-Options, the X-Frame-Options and nosniff of Django's middleware).
        response.setdefault("Cache-Control", "no-store")
        response.setdefault("X-Content-Type-Options", "nosniff")
        if not getattr(response, "xframe_options_exempt", False):
            response.setdefault("X-Frame-Options", "DENY")
        return response


class ApiProblemMiddleware:
    """Turn 404/405 and uncaught exceptions on API paths into problem+json responses."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            is_api_path(request.path)
            and response.status_code == 404
            and not response.get("Content-Type", "").startswith(("application/json", "application/problem+json"))
        ):
            return no_endpoint(request)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_api_path(request.path) and request.path not in ("/ready", "/health"):
            return None
        error = to_sequencer_error(exception)
        if error is not None:
            return problem_response(error)
        return unhandled_problem(request, exception)


def is_admin_path(path: str) -> bool:
    """The operator admin's pages, which keep Django's HTML error pages."""
    return path.startswith("/admin/") or path == "/admin"


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The URLconf's ``handler404``: the problem document on every path but the admin's, which
    keeps Django's page. ``//api/v1/head``, ``/API/V1/HEAD`` and ``OPTIONS *`` name no endpoint
    either. Django's page looks for a ``404.html`` template first, and the exceptions of that
    search leave ~190 objects per request in reference cycles (ADR 0041): a client probing
    unknown paths would fill the web processes' young generation with them."""
    if is_admin_path(request.path_info):
        return defaults.page_not_found(request, exception)
    return no_endpoint(request)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The URLconf's ``handler400`` (a ``Host`` outside ``ALLOWED_HOSTS``, Django's other
    ``SuspiciousOperation``s): 400 ``bad_request`` problem but on the admin's pages. The detail
    is fixed: the exception's text names what the client sent."""
    if is_admin_path(request.path_info):
        return defaults.bad_request(request, exception)
    detail = "The request's Host is not one this service answers for (ALLOWED_HOSTS)."
    if not isinstance(exception, DisallowedHost):
        detail = "The request was refused as malformed."
    return problem_response(errors.BadRequestError(detail))


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The URLconf's ``handler403``: 403 ``permission_denied`` problem but on the admin's pages."""
    if is_admin_path(request.path_info):
        return defaults.permission_denied(request, exception)
    return problem_response(errors.PermissionDeniedError())


def server_error(request: HttpRequest) -> HttpResponse:
    """The URLconf's ``handler500`` (an exception no middleware answered; Django has logged it):
    500 ``internal_error`` problem without internals but on the admin's pages."""
    if is_admin_path(request.path_info):
        return defaults.server_error(request)
    return problem_response(errors.SequencerError("An unexpected error occurred; it has been logged."))


def no_endpoint(request: HttpRequest) -> HttpResponse:
    """The problem document of an API path that names no operation."""
    return problem_response(errors.NotFoundError(f"No endpoint at {request.path}."))


class RequestIdLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # An id given with the record (``extra``) is kept: a line written for a request refused
        # before its id was bound (``problems.problem_body``).
        record.request_id = getattr(record, "request_id", None) or current_request_id() or "-"
        return True
