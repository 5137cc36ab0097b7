"""``GET /api/v1/events?tenant_id&store_id&from&limit``: a contiguous range of a legacy stream.

:func:`range_answer` is the operation of both range reads, legacy and VES; their DRF views
(``events.api.views.EventListApi``, ``events.api.ves_views.VesEventListApi``) call it, and
:class:`EventRangeEndpoint` serves the legacy one straight from WSGI (gunicorn and granian,
ADR 0021, ADR 0042).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

from events.api.serializers import event_output
from events.selectors import event_range_list
from sequencer_project.api.fields import query_int_in
from sequencer_project.api.principal import Permission, Principal
from sequencer_project.api.tenancy import queried_stream_in
from sequencer_project.api.wsgi_endpoint import WsgiEndpoint, query_params

PATH = "/api/v1/events"
MAX_RANGE_LIMIT = 1000
EventT = TypeVar("EventT")


class RangeSelector(Protocol[EventT]):
    """A selector of a contiguous range of one stream (``events.selectors``)."""

    def __call__(self, *, tenant_id: uuid.UUID, store_id: uuid.UUID, from_seq: int, limit: int) -> list[EventT]: ...


def range_answer(
    principal: Principal,
    query: Mapping[str, str],
    selector: RangeSelector[EventT],
    output: Callable[[EventT], dict[str, Any]],
) -> dict[str, Any]:
    """``{events, count}``: from ``from`` (0 reads as 1) at most ``limit`` events (capped at
    ``MAX_RANGE_LIMIT``) of the stream the query names; ``read`` on it is required."""
    tenant_id, store_id = queried_stream_in(query, principal, Permission.READ)
    from_seq = max(query_int_in(query, "from", default=1, minimum=0), 1)
    limit = query_int_in(query, "limit", default=100, minimum=1, maximum=MAX_RANGE_LIMIT)
    events = selector(tenant_id=tenant_id, store_id=store_id, from_seq=from_seq, limit=limit)
    return {"events": [output(e) for e in events], "count": len(events)}


def event_range_answer(principal: Principal, query: Mapping[str, str]) -> dict[str, Any]:
    """The legacy stream's range."""
    return range_answer(principal, query, event_range_list, event_output)


class EventRangeEndpoint(WsgiEndpoint):
    route = PATH
    reads_query = True

    def answer(self, principal: Principal, environ: dict[str, Any]) -> dict[str, Any]:
        return event_range_answer(principal, query_params(environ))
