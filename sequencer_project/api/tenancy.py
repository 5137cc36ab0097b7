"""``TenantApiMixin``: the one way a view learns who is calling and which stream it may touch.

Every tenant-scoped view inherits it. The principal is resolved once by authentication;
subclasses cannot override the scoping hooks (checked at class creation), so no view can
quietly skip the tenant and store checks.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any, ClassVar

from rest_framework.request import Request
from rest_framework.views import APIView

from sequencer_project.api import errors
from sequencer_project.api.fields import BIGINT_MAX, parse_uuid_text
from sequencer_project.api.principal import Permission, Principal

_ASCII_INT = re.compile(r"-?[0-9]{1,19}")
_GUARDED_HOOKS = ("principal", "stream_for", "queried_stream", "queried_tenant", "visible")


class TenantApiMixin(APIView):
    """Base for tenant-scoped API views."""

    request: Request
    guarded_hooks: ClassVar[tuple[str, ...]] = _GUARDED_HOOKS

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        overridden = [name for name in _GUARDED_HOOKS if name in cls.__dict__]
        if overridden:
            raise TypeError(f"{cls.__name__} may not override tenant scoping hooks: {', '.join(overridden)}")

    @property
    def principal(self) -> Principal:
        user = self.request.user
        if not isinstance(user, Principal):  # IsPrincipal already refused anonymous calls
            raise errors.AuthenticationRequiredError()
        return user

    def stream_for(
        self, tenant_id: uuid.UUID, store_id: uuid.UUID, permission: Permission
    ) -> tuple[uuid.UUID, uuid.UUID]:
        """Authorise ``permission`` on the stream the client named; 403 outside the scope."""
        self.principal.check_stream(tenant_id, store_id, permission)
        return tenant_id, store_id

    def queried_stream(self, permission: Permission) -> tuple[uuid.UUID, uuid.UUID]:
        """The stream named by the ``tenant_id`` and ``store_id`` query parameters, authorised."""
        return queried_stream_in(self.request.query_params, self.principal, permission)

    def queried_tenant(self) -> uuid.UUID:
        """The tenant a read names (:func:`query_tenant_in`); not yet authorised."""
        return query_tenant_in(self.request.query_params, self.principal)

    def visible(self, tenant_id: uuid.UUID, store_id: uuid.UUID | None) -> bool:
        """Whether a fetched resource may be shown; callers answer 404 when it may not."""
        return self.principal.can_see(tenant_id, store_id)


def query_uuid(request: Request, name: str) -> uuid.UUID:
    """A required UUID query parameter (400 ``invalid_parameter`` when missing or malformed)."""
    return query_uuid_in(request.query_params, name)


def query_uuid_in(params: Mapping[str, str], name: str) -> uuid.UUID:
    """:func:`query_uuid` over parsed query parameters (a ``QueryDict``: its last value counts)."""
    raw = params.get(name)
    if raw is None or raw == "":
        raise errors.InvalidParameterError(f"Query parameter '{name}' is required.", parameter=name)
    return parse_uuid(raw, name)


def queried_stream_in(
    params: Mapping[str, str], principal: Principal, permission: Permission
) -> tuple[uuid.UUID, uuid.UUID]:
    """The stream the ``tenant_id`` and ``store_id`` query parameters name, authorised for
    ``permission`` (400 ``invalid_parameter`` when either is missing or malformed, 403 outside the
    credential's scope)."""
    tenant_id, store_id = query_uuid_in(params, "tenant_id"), query_uuid_in(params, "store_id")
    principal.check_stream(tenant_id, store_id, permission)
    return tenant_id, store_id


def query_tenant_in(params: Mapping[str, str], principal: Principal) -> uuid.UUID:
    """The ``tenant_id`` query parameter, defaulting to the credential's tenant.

    The bootstrap admin has no tenant, so it must name one (400 ``invalid_parameter``
    otherwise). The caller still authorises the tenant.
    """
    if principal.tenant_id is None or params.get("tenant_id"):
        return query_uuid_in(params, "tenant_id")
    return principal.tenant_id


def query_uuid_optional(request: Request, name: str) -> uuid.UUID | None:
    raw = request.query_params.get(name)
    return None if raw is None or raw == "" else parse_uuid(raw, name)


def parse_uuid(raw: str, name: str) -> uuid.UUID:
    """A UUID path or query parameter (400 ``invalid_parameter``); ASCII only, see ``parse_uuid_text``."""
    parsed = parse_uuid_text(raw)
    if parsed is None:
        raise errors.InvalidParameterError(f"'{name}' must be a UUID.", parameter=name)
    return parsed


def ascii_int(raw: str) -> int | None:
    """The integer ``raw`` spells in ASCII digits (optional ``-``, at most 19 digits), else ``None``.

    ``int()`` alone is too lenient for request text: it reads ``'٣'`` as 3 and accepts blanks,
    ``+`` and ``_``; ``'²'.isdigit()`` is true but ``int('²')`` fails.
    """
    return int(raw) if _ASCII_INT.fullmatch(raw) else None


def path_int(raw: str, name: str, *, minimum: int = 0, maximum: int = BIGINT_MAX) -> int:
    """An integer path parameter in ``minimum..maximum`` (ASCII digits), else 400 ``invalid_parameter``."""
    value = ascii_int(raw)
    if value is None or not minimum <= value <= maximum:
        raise errors.InvalidParameterError(
            f"'{name}' must be an integer in {minimum}..{maximum} (ASCII digits).", parameter=name
        )
    return value


def path_text(value: str, name: str, limit: int) -> str:
    """A text path parameter: 1 to ``limit`` characters without NUL, else 400 ``invalid_parameter``."""
    if not 1 <= len(value) <= limit or "\x00" in value:
        raise errors.InvalidParameterError(f"'{name}' must be 1 to {limit} characters.", parameter=name)
    return value


def query_text(request: Request, name: str) -> str | None:
    """An optional text filter; NUL characters (which PostgreSQL text cannot hold) are a 400."""
    raw = request.query_params.get(name)
    if not raw:
        return None
    if "\x00" in raw:
        raise errors.InvalidParameterError(f"'{name}' must not contain NUL characters.", parameter=name)
    return raw


def query_int(request: Request, name: str, *, default: int, minimum: int, maximum: int | None = None) -> int:
    """An integer query parameter; a ``default`` below ``minimum`` makes it required.

    Values above ``maximum`` are clamped; without a maximum, values beyond the bigint range
    are refused (400 ``invalid_parameter``) rather than failing in PostgreSQL.
    """
    return query_int_in(request.query_params, name, default=default, minimum=minimum, maximum=maximum)


def query_int_in(
    params: Mapping[str, str], name: str, *, default: int, minimum: int, maximum: int | None = None
) -> int:
    """:func:`query_int` over parsed query parameters."""
    raw = params.get(name)
    if raw is None or raw == "":
        if default < minimum:
            raise errors.InvalidParameterError(f"Query parameter '{name}' is required.", parameter=name)
        return default
    value = ascii_int(raw)
    if value is None:
        raise errors.InvalidParameterError(f"'{name}' must be an integer.", parameter=name)
    if value < minimum:
        raise errors.InvalidParameterError(f"'{name}' must be at least {minimum}.", parameter=name)
    if maximum is not None and value > maximum:
        value = maximum
    if value > BIGINT_MAX:  # would fail in PostgreSQL as "bigint out of range" (a 500)
        raise errors.InvalidParameterError(f"'{name}' must be at most {BIGINT_MAX}.", parameter=name)
    return value
