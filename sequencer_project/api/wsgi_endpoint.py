"""API operations served straight from WSGI, below Django's and DRF's request layers (ADR 0021).

The hottest operations spent about a third of their CPU in layers that decide nothing for them:
Django's request object, middleware chain and URL resolver, then DRF's request wrapper, dispatch,
negotiation and renderer. A :class:`WsgiEndpoint` does what those layers did for one operation,
in a straight line:

1. request id (the client's ``X-Request-ID`` when sane) bound to logs and problem bodies;
2. authentication (the same credential rules and per-process key cache), the Redis rate limits;
3. the operation's :meth:`WsgiEndpoint.answer` (the same function its DRF view calls);
4. the response: orjson, the API's headers (security, ``no-store``, rate limit, DRF's
   ``Allow``), gzip above ``GZIP_MIN_BYTES``, ``application/problem+json`` for every error
   through the same conversion as the rest of the API, and the same metrics;
5. the thread keeps its pooled database connection for its next such request while it is
   healthy, instead of Django's hand-back at every request end
   (:mod:`sequencer_project.db.kept_connections`, ADR 0024).

Requests an endpoint does not take as they are (another method, DRF's ``format`` override, an
``Accept`` other than JSON, ``SECURE_SSL_REDIRECT`` on) go to the full API handler, unchanged.
Each endpoint's answers are held equal to its view's request by request in the tests.
"""

from __future__ import annotations

import abc
import http
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

import orjson
from django.conf import settings
from django.http import QueryDict
from django.utils.text import compress_string

from sequencer_project.api import errors
from sequencer_project.api.authentication import credential_from_headers, principal_for_api_key, principal_for_jwt
from sequencer_project.api.body import check_content_encoding, server_input_read
from sequencer_project.api.compression import accepts_gzip
from sequencer_project.api.json_numbers import dumps
from sequencer_project.api.operations import UNMATCHED_ROUTE, rate_limit_headers, record_api_request
from sequencer_project.api.principal import Principal
from sequencer_project.api.problems import PROBLEM_CONTENT_TYPE, problem_body, to_sequencer_error
from sequencer_project.api.request_id import REFUSED_REQUEST_ID, request_id_for, set_request_id
from sequencer_project.api.throttling import check_rate_limits
from sequencer_project.db import kept_connections

logger = logging.getLogger("sequencer_project.api")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
_ACCEPTS_JSON = frozenset({"", "*/*", "application/json"})  # as SingleRendererNegotiation
_STATUS_LINES = {status.value: f"{status.value} {status.phrase}" for status in http.HTTPStatus}


class _EnvironHeaders:
    """``headers.get(name, default)`` over a WSGI environ (what ``credential_from_headers`` reads)."""

    __slots__ = ("_environ",)

    def __init__(self, environ: dict[str, Any]) -> None:
        self._environ = environ

    def get(self, name: str, default: str = "") -> str:
        value = self._environ.get("HTTP_" + name.upper().replace("-", "_"), default)
        return value if isinstance(value, str) else default


@cache
def fixed_headers() -> tuple[tuple[str, str], ...]:
    """Headers every API response carries (the API middleware's), read once."""
    headers = [("Cache-Control", "no-store")]
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append(("X-Content-Type-Options", "nosniff"))
    if settings.SECURE_REFERRER_POLICY:
        headers.append(("Referrer-Policy", settings.SECURE_REFERRER_POLICY))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append(("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY))
    headers.append(("X-Frame-Options", settings.X_FRAME_OPTIONS))
    return tuple(headers)


def _hsts(environ: dict[str, Any]) -> list[tuple[str, str]]:
    """``Strict-Transport-Security`` on secure requests when configured (as SecurityMiddleware)."""
    if not settings.SECURE_HSTS_SECONDS or not _is_secure(environ):
        return []
    value = f"max-age={settings.SECURE_HSTS_SECONDS}"
    if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
        value += "; includeSubDomains"
    if settings.SECURE_HSTS_PRELOAD:
        value += "; preload"
    return [("Strict-Transport-Security", value)]


def _is_secure(environ: dict[str, Any]) -> bool:
    """As Django's ``request.is_secure()``: the proxy's header when configured and sent, else the scheme."""
    proxy_header = settings.SECURE_PROXY_SSL_HEADER
    if proxy_header:
        name, secure_value = proxy_header
        if name in environ:
            return str(environ[name]).split(",")[0].strip() == secure_value
    return environ.get("wsgi.url_scheme") == "https"


def _principal(environ: dict[str, Any]) -> Principal:
    credential = credential_from_headers(_EnvironHeaders(environ))
    if credential is None:
        raise errors.AuthenticationRequiredError(
            "Authentication credentials were not provided.", headers={"WWW-Authenticate": "ApiKey"}
        )
    scheme, value = credential
    return principal_for_jwt(value) if scheme == "jwt" else principal_for_api_key(value)


def query_params(environ: dict[str, Any]) -> QueryDict:
    """The query string parsed as Django builds ``request.GET`` (the WSGI string's bytes, as UTF-8)."""
    return QueryDict(environ.get("QUERY_STRING", "").encode("iso-8859-1"))


def read_body(environ: dict[str, Any]) -> Callable[[int], bytes]:
    """``read(limit)`` for :func:`sequencer_project.api.body.parse_json_body`, once the body's
    content coding is checked (refused here, before the media type and the size, as
    ``body.request_json_bytes`` does for the views)."""
    check_content_encoding(environ.get("HTTP_CONTENT_ENCODING"))
    stream = environ["wsgi.input"]
    declared = environ.get("CONTENT_LENGTH")

    def read(limit: int) -> bytes:
        length = int(declared) if declared and declared.isdigit() else 0  # checked against the limit before
        # Without a declared length (chunked): at most one byte past the limit.
        return server_input_read(stream, length if length else limit)

    return read


def _gzip(environ: dict[str, Any], body: bytes) -> tuple[bytes, list[tuple[str, str]]]:
    """Django's GZipMiddleware for bodies above ``GZIP_MIN_BYTES`` (randomised length, BREACH).

    DRF adds no ``Vary: Accept`` with a single renderer, so ``Accept-Encoding`` is the only one.
    """
    if len(body) < settings.GZIP_MIN_BYTES:
        return body, []
    vary = [("Vary", "Accept-Encoding")]
    if not accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING", "")):
        return body, vary
    compressed = compress_string(body, max_random_bytes=100)
    if len(compressed) >= len(body):
        return body, vary
    return compressed, [*vary, ("Content-Encoding", "gzip")]


def answer_problem(
    environ: dict[str, Any], start_response: Callable[..., Any], error: errors.SequencerError, *, counted: bool
) -> Iterable[bytes]:
    """Answer ``error`` as the API answers its problems (request id, the API's headers), for a
    request refused before any handler (``sequencer_project.api_handler.route_by_path``);
    ``counted``: in the API's request metrics, as a route nothing matched."""
    started = time.perf_counter()
    request_id = environ.get(REFUSED_REQUEST_ID) or request_id_for(environ.get("HTTP_X_REQUEST_ID", ""))
    body = orjson.dumps(problem_body(error, request_id))
    start_response(
        _STATUS_LINES.get(error.http_status, str(error.http_status)),
        [
            ("Content-Type", PROBLEM_CONTENT_TYPE),
            *error.headers.items(),
            ("Content-Length", str(len(body))),
            ("X-Request-ID", request_id),
            *fixed_headers(),
            *_hsts(environ),
        ],
    )
    if counted:
        method = environ.get("REQUEST_METHOD", "")
        record_api_request(method, error.http_status, route=UNMATCHED_ROUTE, elapsed=time.perf_counter() - started)
    return [body]


class WsgiEndpoint(abc.ABC):
    """One API operation as a WSGI application; ``fallback`` serves what it does not take.

    A subclass names its ``method``, whether it reads a query string, its ``allow`` header (what
    DRF's view would send), its ``route`` (the template its view's URL pattern gives in the
    request metrics' ``path`` label, known here without a resolve), its ingest metrics label if
    any, and :meth:`answer`.
    """

    route: str
    method: str = "GET"
    reads_query: bool = False
    allow: str = "GET, HEAD, OPTIONS"
    ingest_label: str | None = None

    def __init__(self, fallback: WSGIApp) -> None:
        self.fallback = fallback

    @abc.abstractmethod
    def answer(self, principal: Principal, environ: dict[str, Any]) -> dict[str, Any]:
        """The operation's 200 body; raise a ``SequencerError`` (or any mapped error) to refuse."""

    def takes(self, environ: dict[str, Any]) -> bool:
        """Whether this endpoint serves the request as it is (else the full API handler does)."""
        query = environ.get("QUERY_STRING", "")
        return (
            environ.get("REQUEST_METHOD") == self.method
            and (self.reads_query or not query)
            and "format=" not in query  # DRF's format override: the view decides
            and environ.get("HTTP_ACCEPT", "") in _ACCEPTS_JSON
            and not settings.SECURE_SSL_REDIRECT
        )

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not self.takes(environ):
            return self.fallback(environ, start_response)
        kept_connections.request_started()
        started = time.perf_counter()
        request_id = request_id_for(environ.get("HTTP_X_REQUEST_ID", ""))
        set_request_id(request_id)
        failed = True
        try:
            outcome = self._serve(environ, request_id)
            failed = outcome.status >= 500
        finally:
            set_request_id(None)
            kept_connections.request_finished(failed=failed)
        body, encoding = _gzip(environ, outcome.body)
        start_response(
            _STATUS_LINES.get(outcome.status, str(outcome.status)),
            [
                *outcome.headers,
                *encoding,
                ("Content-Length", str(len(body))),
                ("X-Request-ID", request_id),
                ("Allow", self.allow),
                *fixed_headers(),
                *_hsts(environ),
            ],
        )
        record_api_request(
            self.method,
            outcome.status,
            route=self.route,
            elapsed=time.perf_counter() - started,
            ingest_endpoint=self.ingest_label,
            data=outcome.answer,
            problem_code=outcome.problem_code,
        )
        return [body]

    def _serve(self, environ: dict[str, Any], request_id: str) -> _Outcome:
        """The request's answer, or its problem document."""
        limits: list[tuple[str, str]] = []
        try:
            principal = _principal(environ)
            state = check_rate_limits(principal)
            if state is not None:
                limits = rate_limit_headers(state)
            answer = self.answer(principal, environ)
        except Exception as exc:  # every error leaves as problem+json, as in the API middleware
            # In a function of its own: a local here naming the error would hold it in a cycle
            # with its traceback, which holds this frame (ADR 0041).
            return self._problem(exc, environ, request_id, limits)
        body = dumps(answer, option=orjson.OPT_UTC_Z)
        return _Outcome(200, body, [("Content-Type", "application/json"), *limits], answer)

    def _problem(
        self, exc: Exception, environ: dict[str, Any], request_id: str, limits: list[tuple[str, str]]
    ) -> _Outcome:
        error = to_sequencer_error(exc)
        if error is None:
            logger.error("unhandled error on %s %s", self.method, environ.get("PATH_INFO"), exc_info=exc)
            error = errors.SequencerError("An unexpected error occurred; it has been logged.")
        elif error.http_status >= 500:
            logger.warning("request failed with %s: %s", error.code, exc)
        headers = [("Content-Type", PROBLEM_CONTENT_TYPE), *error.headers.items(), *limits]
        return _Outcome(error.http_status, orjson.dumps(problem_body(error, request_id)), headers, None, error.code)


@dataclass(frozen=True, slots=True)
class _Outcome:
    status: int
    body: bytes
    headers: list[tuple[str, str]]
    answer: dict[str, Any] | None = None  # the 200 answer before rendering (metrics count its events)
    problem_code: str = ""
