"""The one exception hierarchy of the service.

Every error a client can see is a :class:`SequencerError` with a stable ``code`` (a public
contract listed in ``docs/errors.md``; never renamed), an HTTP status and a title. The
problem+json handler (:mod:`sequencer_project.api.problems`) renders them as RFC 9457 bodies.
Per-app subclasses live in ``<app>/errors.py``.
"""

from __future__ import annotations

from typing import Any, ClassVar


class SequencerError(Exception):
    """Base of all client-visible errors."""

    code: ClassVar[str] = "internal_error"
    http_status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal server error"
    #: A 5xx that says what this deployment offers, not a fault (a feature not built or not
    #: configured): logged as a refusal, as every 4xx is (``problems.problem_body``).
    offered_here: ClassVar[bool] = False

    @property
    def refusal(self) -> bool:
        """Whether the answer refuses the request rather than reports a fault."""
        return self.http_status < 500 or self.offered_here

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors
        self.headers = headers or {}
        self.extensions = extensions


class BadRequestError(SequencerError):
    code = "bad_request"
    http_status = 400
    title = "Bad request"


class MalformedJsonError(SequencerError):
    code = "malformed_json"
    http_status = 400
    title = "Malformed JSON"


class JsonTooDeepError(SequencerError):
    """A body nesting objects and arrays deeper than ``json_limits.MAX_JSON_DEPTH``."""

    code = "json_too_deep"
    http_status = 400
    title = "JSON nested too deeply"


class InvalidFieldError(BadRequestError):
    """A value PostgreSQL cannot store (U+0000 in text or jsonb, NaN); ``field`` names it."""

    code = "invalid_field"
    title = "A field holds a value that cannot be stored"


class UnsupportedMediaTypeError(SequencerError):
    code = "unsupported_media_type"
    http_status = 415
    title = "Unsupported media type"


class ServerOverloadedError(SequencerError):
    """The request waited longer for a server thread than ``WEB_QUEUE_TIMEOUT_SECONDS``: refused
    unserved, so the threads go to requests whose clients still wait
    (``sequencer_project/gunicorn_worker.py``). Nothing of it was done; send it again."""

    code = "server_overloaded"
    http_status = 503
    title = "Server overloaded"


class RequestTimeoutError(SequencerError):
    """The client did not send its request in time: its header block, or its body stopped
    arriving (``WEB_REQUEST_*_TIMEOUT_SECONDS``, ``sequencer_project/gunicorn_worker.py``). The
    server closes the connection after the answer."""

    code = "request_timeout"
    http_status = 408
    title = "Request timeout"


class UnsupportedContentEncodingError(UnsupportedMediaTypeError):
    """A request body sent with a ``Content-Encoding`` other than ``identity``: the API decodes
    none, so it names the one it takes (RFC 9110 section 15.5.16)."""

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"Accept-Encoding": "identity"})
        super().__init__(detail, **kwargs)


class InvalidRequestError(SequencerError):
    """Well-formed JSON whose shape or field types are wrong (the reference answers 422)."""

    code = "invalid_request"
    http_status = 422
    title = "Invalid request"


class InvalidFieldValueError(BadRequestError):
    """A member of the right JSON type whose value the endpoint refuses (too long, out of the
    endpoint's range, not one of its accepted words). The reference answers these from its
    handlers with 400; a missing member or a wrong type is its extractor's 422
    (:class:`InvalidRequestError`)."""

    code = "invalid_field_value"
    title = "Invalid field value"


class InvalidParameterError(SequencerError):
    """A query-string or path parameter is missing or malformed."""

    code = "invalid_parameter"
    http_status = 400
    title = "Invalid parameter"


class PayloadTooLargeError(SequencerError):
    code = "payload_too_large"
    http_status = 413
    title = "Payload too large"


class BodyTooLargeError(PayloadTooLargeError):
    code = "body_too_large"
    title = "Request body too large"


class AuthenticationRequiredError(SequencerError):
    code = "missing_auth"
    http_status = 401
    title = "Authentication required"


class InvalidCredentialsError(SequencerError):
    code = "invalid_api_key"
    http_status = 401
    title = "Invalid credentials"


class ApiKeyExpiredError(SequencerError):
    code = "api_key_expired"
    http_status = 401
    title = "API key expired"


class InvalidTokenError(SequencerError):
    """A bearer token (JWT) that does not authenticate; names the scheme, as every 401 must (RFC 9110)."""

    code = "invalid_jwt"
    http_status = 401
    title = "Invalid token"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        super().__init__(detail, **kwargs)


class TokenExpiredError(InvalidTokenError):
    code = "token_expired"
    title = "Token expired"


class PermissionDeniedError(SequencerError):
    code = "permission_denied"
    http_status = 403
    title = "Permission denied"


class TenantAccessDeniedError(SequencerError):
    code = "tenant_access_denied"
    http_status = 403
    title = "Tenant access denied"


class TenantInactiveError(SequencerError):
    """The credential's tenant was deactivated by an operator (the admin's "Is active")."""

    code = "tenant_inactive"
    http_status = 403
    title = "Tenant deactivated"


class StoreAccessDeniedError(SequencerError):
    code = "store_access_denied"
    http_status = 403
    title = "Store access denied"


class AgentScopeDeniedError(SequencerError):
    code = "agent_scope_denied"
    http_status = 403
    title = "Credential is scoped to another agent"


class NotFoundError(SequencerError):
    code = "not_found"
    http_status = 404
    title = "Not found"


class MethodNotAllowedError(SequencerError):
    code = "method_not_allowed"
    http_status = 405
    title = "Method not allowed"


class ConflictError(SequencerError):
    code = "conflict"
    http_status = 409
    title = "Conflict"


class DeadLetterNotFoundError(NotFoundError):
    """An entry of either dead-letter queue (projections, x402 settlement) the caller may not see."""

    code = "dead_letter_not_found"
    title = "Dead-letter entry not found"


class DeadLetterClosedError(ConflictError):
    """Retry, re-drive or discard of a dead-letter entry already resolved or discarded."""

    code = "dead_letter_closed"
    title = "The dead-letter entry is already resolved or discarded"


class NotImplementedFeatureError(SequencerError):
    """A route of the reference whose feature this service does not build (extension ``feature``)."""

    code = "not_implemented"
    http_status = 501
    title = "Not implemented"
    offered_here = True


class UnsupportedTransferCodingError(SequencerError):
    """A ``Transfer-Encoding`` with a coding besides ``chunked``, which the server does not decode
    (RFC 9112 section 6.1: 501)."""

    code = "unsupported_transfer_coding"
    http_status = 501
    title = "Unsupported transfer coding"
    offered_here = True


class ServiceUnavailableError(SequencerError):
    code = "service_unavailable"
    http_status = 503
    title = "Service unavailable"
