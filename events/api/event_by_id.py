"""``GET /api/v1/events/{event_id}``: one legacy event of the caller's tenant (404 otherwise).

:func:`event_answer` is the operation; the DRF view (``events.api.views.EventDetailApi``) and
:class:`EventByIdEndpoint` (gunicorn and granian, ADR 0021) both call it. :func:`visible_event`
is the lookup with its visibility rule, which the VES event view shares.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

from events import errors
from events.api.serializers import event_output
from events.selectors import event_get_for_tenant
from sequencer_project.api.fields import parse_uuid
from sequencer_project.api.principal import Permission, Principal
from sequencer_project.api.tenancy import query_tenant_in
from sequencer_project.api.wsgi_endpoint import WsgiEndpoint, query_params

PREFIX = "/api/v1/events/"


class StoredEvent(Protocol):
    @property
    def tenant_id(self) -> uuid.UUID: ...

    @property
    def store_id(self) -> uuid.UUID: ...


EventT = TypeVar("EventT", bound=StoredEvent)


def visible_event(
    principal: Principal,
    event_id: str,
    query: Mapping[str, str],
    *,
    get: Callable[..., EventT | None],
    what: str = "event",
) -> EventT:
    """The event ``get`` finds (``tenant_id``, ``event_id``: a legacy or a VES selector), when the
    credential may read it; 404 ``event_not_found`` otherwise. The bootstrap admin names the
    tenant (``tenant_id`` query parameter)."""
    principal.require(Permission.READ)
    parsed_id = parse_uuid(event_id, "event_id")
    tenant_id = query_tenant_in(query, principal)
    event = get(tenant_id=tenant_id, event_id=parsed_id) if principal.can_see(tenant_id, None) else None
    if event is None or not principal.can_see(event.tenant_id, event.store_id):
        raise errors.EventNotFoundError(f"No {what} {parsed_id} is visible to this credential.")
    return event


def event_answer(principal: Principal, event_id: str, query: Mapping[str, str]) -> dict[str, Any]:
    """The legacy event, when the credential may see it."""
    return event_output(visible_event(principal, event_id, query, get=event_get_for_tenant))


class EventByIdEndpoint(WsgiEndpoint):
    """Serves ``PREFIX`` + one ASCII path segment; anything else under the prefix falls back."""

    route = PREFIX + ":event_id"
    reads_query = True

    def takes(self, environ: dict[str, Any]) -> bool:
        segment = environ.get("PATH_INFO", "")[len(PREFIX) :]
        return bool(segment) and "/" not in segment and segment.isascii() and super().takes(environ)

    def answer(self, principal: Principal, environ: dict[str, Any]) -> dict[str, Any]:
        return event_answer(principal, environ["PATH_INFO"][len(PREFIX) :], query_params(environ))
