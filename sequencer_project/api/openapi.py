"""OpenAPI 3 schema of the whole API (drf-spectacular; ``docs/api.md``, ADR 0009).

The views build their bodies by hand (no DRF serializers on the hot path), so each operation
declares its request and response shapes with :func:`operation` (drf-spectacular's
``extend_schema``) and the small JSON-Schema builders below; the shapes live next to the views
in ``<app>/api/openapi.py``. What every operation shares is added here, once:

* ``ProblemAutoSchema`` documents the ``application/problem+json`` error responses, with the
  stable codes each status can carry (read from the :class:`SequencerError` hierarchy, so the
  list cannot drift from the code);
* ``CredentialAuthenticationScheme`` describes the credentials ``CredentialAuthentication``
  accepts (``ApiKey``/``Bearer`` ``Authorization`` header, raw ``ss_`` key, ``X-API-Key``);
* ``probe_paths`` adds the plain Django probes ``/health`` and ``/ready`` (and their ``z``
  aliases), which are not DRF views.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view

from sequencer_project.api.errors import SequencerError
from sequencer_project.api.problems import PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_BASE

Schema = dict[str, Any]
_Annotated = TypeVar("_Annotated", bound=Callable[..., Any])  # the view method or class annotated

# --- JSON-Schema builders -------------------------------------------------------------------

UUID: Schema = {"type": "string", "format": "uuid"}
STRING: Schema = {"type": "string"}
INTEGER: Schema = {"type": "integer"}
BOOLEAN: Schema = {"type": "boolean"}
DATETIME: Schema = {"type": "string", "format": "date-time"}
HEX: Schema = {"type": "string", "pattern": "^[0-9a-f]*$", "description": "lowercase hex"}
HEX_0X: Schema = {"type": "string", "pattern": "^0x[0-9a-f]*$", "description": "0x-prefixed lowercase hex"}
#: Every integer query or path parameter is read into a bigint (``fields.BIGINT_MAX``).
_PARAMETER_MAX = 2**63 - 1


def hex_in(*byte_lengths: int, description: str) -> Schema:
    """A request member of one of ``byte_lengths`` bytes of hex as the API reads it: an optional
    ``0x`` or ``0X``, then digits of either case (``fields.hex_bytes``)."""
    digits = "|".join(f"[0-9a-fA-F]{{{2 * length}}}" for length in byte_lengths)
    return {"type": "string", "pattern": f"^(0[xX])?({digits})$", "description": description}


ANY: Schema = {"description": "any JSON value"}
FREE_OBJECT: Schema = {"type": "object", "additionalProperties": True}


def nullable(schema: Schema) -> Schema:
    """``schema`` or ``null`` (OpenAPI 3.0 ``nullable``)."""
    return {**schema, "nullable": True}


def array(items: Schema, **extra: Any) -> Schema:
    return {"type": "array", "items": items, **extra}


def obj(properties: dict[str, Schema], *, optional: tuple[str, ...] = (), **extra: Any) -> Schema:
    """An object whose properties are all required except ``optional``."""
    schema: Schema = {"type": "object", "properties": properties, **extra}
    required = [name for name in properties if name not in optional]
    if required:
        schema["required"] = required
    return schema


def json_body(schema: Schema) -> dict[str, Schema]:
    """A request body sent as ``application/json`` (the only media type the API parses)."""
    return {"application/json": schema}


def operation(
    tag: str,
    operation_id: str,
    summary: str,
    *,
    body: Schema | None = None,
    ok: Schema | OpenApiResponse | None = None,
    **options: Any,
) -> Callable[[_Annotated], _Annotated]:
    """The annotation of one view method: the operation's ``tag``, id and summary, its JSON
    request ``body`` and its ``ok`` (200) response; ``options`` go to ``extend_schema`` as they are
    (``parameters``, other ``responses``, ...). Problem responses are added for every operation
    by :class:`ProblemAutoSchema`."""
    if body is not None:
        options["request"] = json_body(body)
    if ok is not None:
        options["responses"] = {200: ok, **options.get("responses", {})}
    return extend_schema(operation_id=operation_id, summary=summary, tags=[tag], **options)


def view_operation(
    method: str, tag: str, operation_id: str, summary: str, **options: Any
) -> Callable[[_Annotated], _Annotated]:
    """The annotation of a view class whose ``method`` serves one operation (:func:`operation`)."""
    return extend_schema_view(**{method: operation(tag, operation_id, summary, **options)})


def path_uuid(name: str, description: str = "") -> OpenApiParameter:
    return OpenApiParameter(name, UUID, OpenApiParameter.PATH, description=description)


def _bounded(schema: Schema) -> Schema:
    """A parameter's schema with the bound every integer parameter has (400 above it)."""
    if schema.get("type") == "integer" and "maximum" not in schema:
        return {**schema, "maximum": _PARAMETER_MAX}
    return {**schema}


def path_param(name: str, schema: Schema, description: str = "") -> OpenApiParameter:
    return OpenApiParameter(name, _bounded(schema), OpenApiParameter.PATH, description=description)


def query(name: str, schema: Schema, description: str = "", *, required: bool = False) -> OpenApiParameter:
    return OpenApiParameter(name, _bounded(schema), OpenApiParameter.QUERY, description=description, required=required)


def stream_query(*, required: bool = True) -> list[OpenApiParameter]:
    """``tenant_id`` and ``store_id`` naming one stream."""
    return [
        query("tenant_id", UUID, "Tenant of the stream.", required=required),
        query("store_id", UUID, "Store of the stream.", required=required),
    ]


# The ``tenant_id`` a read names (``TenantApiMixin.queried_tenant``).
QUERIED_TENANT = query("tenant_id", UUID, "Defaults to the credential's tenant; required for the bootstrap admin.")

SUCCESS_TRUE: Schema = {"type": "boolean", "enum": [True]}

# --- problem+json ---------------------------------------------------------------------------

PROBLEM_COMPONENT = "Problem"
PROBLEM_SCHEMA: Schema = obj(
    {
        "type": {"type": "string", "description": f"{PROBLEM_TYPE_BASE}<code>"},
        "title": STRING,
        "status": INTEGER,
        "detail": STRING,
        "code": {"type": "string", "description": "stable error code (docs/errors.md)"},
        "instance": {"type": "string", "description": "the request id, also in X-Request-ID"},
        "errors": {
            "type": "object",
            "additionalProperties": array(STRING),
            "description": "field errors by JSON path",
        },
    },
    optional=("instance", "errors"),
    additionalProperties=True,
    description="RFC 9457 problem details; extension members (parameter, field, limit, ...) may follow.",
)

# Statuses documented on every operation; bodies add the ones only a body can cause.
_COMMON_STATUSES = (400, 404, 429, 500, 503)
_AUTH_STATUSES = (401, 403)
_BODY_STATUSES = (408, 409, 413, 415, 422)  # 408: a body that stops arriving (WEB_REQUEST_READ_TIMEOUT_SECONDS)
# Codes raised outside the SequencerError hierarchy's class attributes.
_EXTRA_CODES: dict[int, tuple[str, ...]] = {401: ("token_expired",)}


def _all_error_classes() -> list[type[SequencerError]]:
    seen: list[type[SequencerError]] = []
    pending: list[type[SequencerError]] = [SequencerError]
    while pending:
        cls = pending.pop()
        if cls not in seen:
            seen.append(cls)
            pending.extend(cls.__subclasses__())
    return seen


def codes_by_status() -> dict[int, list[str]]:
    """Every stable code of the error hierarchy, grouped by HTTP status."""
    out: dict[int, set[str]] = {}
    for cls in _all_error_classes():
        out.setdefault(cls.http_status, set()).add(cls.code)
    for status, codes in _EXTRA_CODES.items():
        out.setdefault(status, set()).update(codes)
    return {status: sorted(codes) for status, codes in sorted(out.items())}


_INTEGER_HEADER: Schema = {"schema": {"type": "integer", "minimum": 0}}
#: What a 429 ``rate_limited`` carries (``sequencer_project/api/throttling.py``; docs/operations.md).
RATE_LIMIT_HEADERS: Schema = {
    "Retry-After": {**_INTEGER_HEADER, "description": "Seconds to the next window."},
    "RateLimit-Limit": {**_INTEGER_HEADER, "description": "The limit that refused the request (per window)."},
    "RateLimit-Remaining": {**_INTEGER_HEADER, "description": "0."},
    "RateLimit-Reset": {**_INTEGER_HEADER, "description": "Seconds to the next window."},
}


def problem_response(status: int) -> Schema:
    codes = codes_by_status().get(status, [])
    listed = ", ".join(f"`{code}`" for code in codes)
    response: Schema = {
        "description": f"Problem ({PROBLEM_CONTENT_TYPE}); codes: {listed}." if listed else "Problem.",
        "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": f"#/components/schemas/{PROBLEM_COMPONENT}"}}},
    }
    if status == 429:
        response["headers"] = {name: {"$ref": f"#/components/headers/{name}"} for name in RATE_LIMIT_HEADERS}
    return response


def extra_problem(status: int) -> dict[tuple[int, str], OpenApiResponse]:
    """An ``extend_schema(responses=...)`` entry for a problem status not documented by default
    (its description, with the codes, is filled in at generation time)."""
    return {
        (status, PROBLEM_CONTENT_TYPE): OpenApiResponse(
            response={"$ref": f"#/components/schemas/{PROBLEM_COMPONENT}"}, description="Problem."
        )
    }


class ProblemAutoSchema(AutoSchema):
    """drf-spectacular's schema plus the problem+json responses every operation can return."""

    def _get_response_bodies(self, direction: Any = "response") -> Schema:
        responses: Schema = super()._get_response_bodies(direction)
        statuses = list(_COMMON_STATUSES)
        if self.view.authentication_classes:
            statuses += _AUTH_STATUSES
        if self.method in ("POST", "PUT", "PATCH"):
            statuses += _BODY_STATUSES
        for status in sorted(statuses):
            responses.setdefault(str(status), problem_response(status))
        for code, response in responses.items():
            if int(code) < 400:
                continue
            # Every error status can come as a problem, even one declared with another body
            # (``/health/detailed`` answers 503 with its JSON report).
            problem = problem_response(int(code))
            response.setdefault("content", {}).setdefault(
                PROBLEM_CONTENT_TYPE, problem["content"][PROBLEM_CONTENT_TYPE]
            )
            if len(response["content"]) == 1:
                response["description"] = problem["description"]
        return responses

    def _get_request_body(self, direction: Any = "request") -> Schema | None:
        body: Schema | None = super()._get_request_body(direction)  # type: ignore[no-untyped-call]
        if body is not None:
            body["required"] = True  # every body this API reads is mandatory
        return body


class CredentialAuthenticationScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """The credentials ``CredentialAuthentication`` accepts; any one of them suffices."""

    target_class = "sequencer_project.api.authentication.CredentialAuthentication"
    name = ["ApiKeyAuth", "BearerAuth", "XApiKeyAuth"]

    def get_security_requirement(self, auto_schema: AutoSchema) -> list[dict[str, list[Any]]]:
        return [{name: []} for name in self.name]

    def get_security_definition(self, auto_schema: AutoSchema) -> list[Schema]:
        return [
            {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": "`Authorization: ApiKey ss_…` (or the bare `ss_…` key as the whole header value).",
            },
            {
                "type": "http",
                "scheme": "bearer",
                "description": "`Authorization: Bearer <ss_… API key or HS256 JWT>` (docs/auth.md).",
            },
            {"type": "apiKey", "in": "header", "name": "X-API-Key", "description": "`X-API-Key: ss_…`."},
        ]


# --- the plain Django probes ----------------------------------------------------------------

_HEALTH_BODY = obj(
    {"status": {"type": "string", "enum": ["healthy"]}, "service": STRING, "version": STRING, "timestamp": DATETIME}
)
_READY_BODY = obj(
    {
        "status": {"type": "string", "enum": ["ready"]},
        "database": obj({"connected": BOOLEAN, "response_time_ms": INTEGER}),
        "pool": nullable(
            obj(
                {
                    "status": {"type": "string", "enum": ["healthy", "moderate", "stressed", "critical"]},
                    "utilization": {"type": "string", "description": 'share of the pool in use, e.g. "12.5%"'},
                    "active": INTEGER,
                    "idle": INTEGER,
                },
                description="this process's connection pool; null without one",
            )
        ),
    }
)


def _probe(operation_id: str, summary: str, body: Schema, *, ready: bool) -> Schema:
    responses: Schema = {"200": {"description": summary, "content": {"application/json": {"schema": body}}}}
    if ready:
        responses["503"] = problem_response(503)
    return {
        "get": {
            "operationId": operation_id,
            "summary": summary,
            "tags": ["probes"],
            "security": [],
            "responses": responses,
        }
    }


def probe_paths(result: Schema, generator: Any, request: Any, public: bool) -> Schema:
    """Postprocessing hook: the Problem component, the rate-limit headers and the liveness/readiness probes."""
    result.setdefault("components", {}).setdefault("schemas", {})[PROBLEM_COMPONENT] = PROBLEM_SCHEMA
    result["components"].setdefault("headers", {}).update(RATE_LIMIT_HEADERS)
    paths = result.setdefault("paths", {})
    paths["/health"] = _probe("health", "Liveness: no I/O.", _HEALTH_BODY, ready=False)
    paths["/healthz"] = _probe("healthz", "Liveness (alias of /health).", _HEALTH_BODY, ready=False)
    paths["/ready"] = _probe("ready", "Readiness: one database round trip; 503 when it fails.", _READY_BODY, ready=True)
    paths["/readyz"] = _probe("readyz", "Readiness (alias of /ready).", _READY_BODY, ready=True)
    result["paths"] = dict(sorted(paths.items()))
    return result
