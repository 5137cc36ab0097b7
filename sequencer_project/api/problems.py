"""RFC 9457 ``application/problem+json`` rendering for every error.

Conversion order: our :class:`SequencerError` first, then DRF's exceptions, then Django's
``Http404``/``PermissionDenied``, then database availability errors (503, never a hang or a
500). Anything else becomes a 500 problem carrying only the request id; the exception is
logged with its traceback.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import orjson
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from rest_framework import exceptions as drf

from sequencer_project.api import errors
from sequencer_project.api.request_id import current_request_id
from sequencer_project.api.throttling import RateLimitedError
from sequencer_project.db.availability import database_unreachable_observed

logger = logging.getLogger(__name__)
#: The logger of refused requests (``refused 401 invalid_api_key``).
refusals = logging.getLogger("sequencer_project.api.refusals")

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://stateset.dev/problems/"

_LOCK_NOT_AVAILABLE = "55P03"
_QUERY_CANCELED = "57014"


class DatabaseUnavailableError(errors.ServiceUnavailableError):
    code = "database_unavailable"
    title = "Database unavailable"


class StreamBusyError(errors.ServiceUnavailableError):
    code = "stream_busy"
    title = "Stream busy; retry"


def problem_body(error: errors.SequencerError, instance: str | None) -> dict[str, Any]:
    """The RFC 9457 body. Extension members never replace a standard one: ``status`` is always
    the HTTP status (an x402 409 once carried the intent's ``"status": "sequenced"``).

    Every refusal (a 4xx, or a 5xx that says what this deployment offers: ``offered_here``) is
    logged here, where every problem body is made (the framework's views, the WSGI endpoints
    that answer below it, the server's own 408): one INFO line with the status and the code,
    under the request id (``instance``, bound or not), never the detail (it may quote a
    payload's values, which are sealed at rest). A fault is logged where it is raised."""
    if error.refusal:
        refusals.info("refused %d %s", error.http_status, error.code, extra={"request_id": instance})
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + error.code,
        "title": error.title,
        "status": error.http_status,
        "detail": error.detail,
        "code": error.code,
    }
    if instance:
        body["instance"] = instance
    if error.errors:
        body["errors"] = error.errors
    for name, value in error.extensions.items():
        body.setdefault(name, value)
    return body


def problem_response(error: errors.SequencerError) -> HttpResponse:
    response = HttpResponse(
        orjson.dumps(problem_body(error, current_request_id())),
        status=error.http_status,
        content_type=PROBLEM_CONTENT_TYPE,
    )
    for name, value in error.headers.items():
        response[name] = value
    return response


# DRF exceptions by status, each to the documented code of that status (docs/errors.md). The
# API raises its own errors; these come from DRF's machinery (dispatch, parsers, a view's
# ``self.http_method_not_allowed``) or third-party views.
_DRF_BY_STATUS: dict[int, type[errors.SequencerError]] = {
    400: errors.BadRequestError,
    403: errors.PermissionDeniedError,
    404: errors.NotFoundError,
    405: errors.MethodNotAllowedError,
    409: errors.ConflictError,
    413: errors.PayloadTooLargeError,
    415: errors.UnsupportedMediaTypeError,
}


def _from_drf(exc: drf.APIException) -> errors.SequencerError:
    """The documented error of a DRF exception; its ``status`` is always the response's.

    A status no documented code has (406, which negotiation no longer raises; a third-party
    418) becomes 400 ``bad_request`` for a client error and 500 ``internal_error`` otherwise:
    never ``internal_error`` with a client status.
    """
    detail = exc.detail if isinstance(exc.detail, str) else None
    if isinstance(exc, drf.NotAuthenticated):
        return errors.AuthenticationRequiredError(detail, headers={"WWW-Authenticate": "ApiKey"})
    if isinstance(exc, drf.AuthenticationFailed) or exc.status_code == 401:
        return errors.InvalidCredentialsError(detail, headers={"WWW-Authenticate": "ApiKey"})
    if isinstance(exc, drf.ParseError):
        return errors.MalformedJsonError(detail)
    if isinstance(exc, drf.ValidationError):
        return errors.InvalidRequestError("The request body failed validation.", errors=_field_errors(exc.detail))
    if isinstance(exc, drf.Throttled) or exc.status_code == 429:
        wait = getattr(exc, "wait", None)
        headers = {"Retry-After": str(max(1, math.ceil(wait)))} if wait is not None else {}
        return RateLimitedError(detail, headers=headers)
    known = _DRF_BY_STATUS.get(exc.status_code)
    if known is not None:
        return known(detail)
    if 400 <= exc.status_code < 500:
        return errors.BadRequestError(detail)
    return errors.SequencerError()  # 500 internal_error; DRF's detail may name internals


def _field_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for key, value in detail.items():
            out.update(_field_errors(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(detail, list) and detail and not all(isinstance(item, str) for item in detail):
        out = {}
        for index, value in enumerate(detail):
            out.update(_field_errors(value, f"{prefix}[{index}]"))
        return out
    messages = [str(item) for item in detail] if isinstance(detail, list) else [str(detail)]
    return {prefix or "non_field_errors": messages}


def to_sequencer_error(exc: BaseException) -> errors.SequencerError | None:
    """Map a known exception to a client-visible error, or ``None`` if it is a bug."""
    if isinstance(exc, errors.SequencerError):
        return exc
    if isinstance(exc, drf.APIException):
        return _from_drf(exc)
    if isinstance(exc, Http404):
        return errors.NotFoundError()
    if isinstance(exc, DjangoPermissionDenied):
        return errors.PermissionDeniedError()
    if isinstance(exc, OperationalError | InterfaceError) or _is_pool_timeout(exc):
        sqlstate = getattr(getattr(exc, "__cause__", None), "sqlstate", None)
        if sqlstate in (_LOCK_NOT_AVAILABLE, _QUERY_CANCELED):
            return StreamBusyError(
                "The database did not answer within the configured timeout.", headers={"Retry-After": "1"}
            )
        database_unreachable_observed(exc)  # later requests of this process fail fast
        return DatabaseUnavailableError("The database is not reachable; retry shortly.", headers={"Retry-After": "1"})
    if isinstance(exc, DatabaseError):
        sqlstate = getattr(getattr(exc, "__cause__", None), "sqlstate", None)
        if sqlstate in (_LOCK_NOT_AVAILABLE, _QUERY_CANCELED):
            return StreamBusyError("The stream is busy; retry shortly.", headers={"Retry-After": "1"})
    return None


def _is_pool_timeout(exc: BaseException) -> bool:
    return type(exc).__name__ == "PoolTimeout"


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> HttpResponse | None:
    """DRF ``EXCEPTION_HANDLER``: every error leaves as problem+json."""
    error = to_sequencer_error(exc)
    if error is None:
        return None  # re-raised by DRF; ApiProblemMiddleware turns it into a logged 500
    if error.http_status >= 500 and not error.refusal:
        logger.warning("request failed with %s: %s", error.code, exc)
    response = problem_response(error)
    if error.http_status >= 500 and error.refusal:
        # Logged as a refusal: Django would add an ERROR line, which any reader could then write.
        response._has_been_logged = True  # type: ignore[attr-defined]  # Django's own flag
    # Named as on DRF's own responses: the API handler releases the view's reference cycles
    # through it once the response is out (sequencer_project.api_handler.release_view).
    response.renderer_context = context  # type: ignore[attr-defined]
    return response


def unhandled_problem(request: HttpRequest, exc: BaseException) -> HttpResponse:
    logger.error("unhandled error on %s %s", request.method, request.path, exc_info=exc)
    return problem_response(errors.SequencerError("An unexpected error occurred; it has been logged."))
