"""Legacy ingest and read endpoints (``docs/ingest.md``, ``docs/queries.md``).

Each view parses, calls one service or selector, and serializes. The ingest view reads the
raw body itself (size check before reading, orjson, hand-written validation): no DRF parser
or serializer runs per event.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from rest_framework.request import Request
from rest_framework.response import Response

from events.api import openapi as shapes
from events.api.event_by_id import event_answer
from events.api.head import head_answer
from events.api.legacy_ingest import legacy_ingest_answer
from events.api.serializers import event_output
from events.envelopes import FIELD_LIMITS
from events.selectors import entity_history_page, event_range_list
from sequencer_project.api.body import request_json_bytes
from sequencer_project.api.openapi import operation, path_param, path_uuid, query, stream_query
from sequencer_project.api.principal import Permission
from sequencer_project.api.tenancy import (
    TenantApiMixin,
    path_text,
    query_int,
)

MAX_RANGE_LIMIT = 1000
MAX_ENTITY_LIMIT = 100
EventT = TypeVar("EventT")

FROM_SEQ = query("from", {"type": "integer", "minimum": 0}, "First sequence number (inclusive); default 1.")
RANGE_LIMIT = query(
    "limit", {"type": "integer", "minimum": 1}, f"At most {MAX_RANGE_LIMIT} (larger values are capped)."
)
TENANT_OF_EVENT = query("tenant_id", {"type": "string", "format": "uuid"}, "Required for the bootstrap admin.")
ENTITY_PATH = [
    path_param("entity_type", shapes.entity_text("entity_type")),
    path_param("entity_id", shapes.entity_text("entity_id")),
]


def entity_path(entity_type: str, entity_id: str) -> None:
    """Check the ``ENTITY_PATH`` parameters: 400 when one could name no entity of an envelope."""
    path_text(entity_type, "entity_type", FIELD_LIMITS["entity_type"])
    path_text(entity_id, "entity_id", FIELD_LIMITS["entity_id"])


class RangeSelector(Protocol[EventT]):
    """A selector of a contiguous range of one stream (``events.selectors``)."""

    def __call__(self, *, tenant_id: uuid.UUID, store_id: uuid.UUID, from_seq: int, limit: int) -> list[EventT]: ...


class StreamRangeApi(TenantApiMixin):
    """Base of the legacy and VES range reads (``?tenant_id&store_id&from&limit``)."""

    def range_answer(
        self, request: Request, selector: RangeSelector[EventT], output: Callable[[EventT], dict[str, Any]]
    ) -> Response:
        """``{events, count}``: the range from ``from`` (``FROM_SEQ``; 0 reads as 1) of at most
        ``limit`` (``RANGE_LIMIT``) events, read on the queried stream."""
        tenant_id, store_id = self.queried_stream(Permission.READ)
        from_seq = max(query_int(request, "from", default=1, minimum=0), 1)
        limit = query_int(request, "limit", default=100, minimum=1, maximum=MAX_RANGE_LIMIT)
        events = selector(tenant_id=tenant_id, store_id=store_id, from_seq=from_seq, limit=limit)
        return Response({"events": [output(e) for e in events], "count": len(events)})


class EventIngestApi(TenantApiMixin):
    """``POST /api/v1/events/ingest``: sequence a batch of legacy events of one stream."""

    @operation(
        "events",
        "events_ingest",
        "Append a batch of legacy events to one stream",
        body=shapes.LEGACY_INGEST_REQUEST,
        ok=shapes.LEGACY_INGEST_RESPONSE,
    )
    def post(self, request: Request) -> Response:
        return Response(legacy_ingest_answer(self.principal, request_json_bytes(request)))


class HeadApi(TenantApiMixin):
    """``GET /api/v1/head?tenant_id&store_id``: the legacy stream's head (0 when empty)."""

    @operation("events", "head_get", "The legacy stream's head", parameters=stream_query(), ok=shapes.HEAD)
    def get(self, request: Request) -> Response:
        return Response(head_answer(self.principal, request.query_params))


class EventListApi(StreamRangeApi):
    """``GET /api/v1/events?tenant_id&store_id&from&limit``: a contiguous range (``from`` inclusive)."""

    @operation(
        "events",
        "events_list",
        "A contiguous range of a legacy stream",
        parameters=[*stream_query(), FROM_SEQ, RANGE_LIMIT],
        ok=shapes.EVENT_LIST,
    )
    def get(self, request: Request) -> Response:
        return self.range_answer(request, event_range_list, event_output)


class EventDetailApi(TenantApiMixin):
    """``GET /api/v1/events/{event_id}``: one legacy event of the caller's tenant (404 otherwise)."""

    @operation(
        "events",
        "events_get",
        "One legacy event",
        parameters=[path_uuid("event_id"), TENANT_OF_EVENT],
        ok=shapes.SEQUENCED_EVENT,
    )
    def get(self, request: Request, event_id: str) -> Response:
        return Response(event_answer(self.principal, event_id, request.query_params))


class EntityHistoryApi(TenantApiMixin):
    """``GET /api/v1/entities/{type}/{id}?tenant_id&store_id&from&limit`` (``from`` is an offset)."""

    @operation(
        "events",
        "entity_history",
        "An entity's events, offset-paged",
        parameters=[
            *ENTITY_PATH,
            *stream_query(),
            query("from", {"type": "integer", "minimum": 0}, "Offset into the entity's history."),
            query("limit", {"type": "integer", "minimum": 0}, f"At most {MAX_ENTITY_LIMIT}; 0 means the maximum."),
        ],
        ok=shapes.ENTITY_HISTORY,
    )
    def get(self, request: Request, entity_type: str, entity_id: str) -> Response:
        entity_path(entity_type, entity_id)
        tenant_id, store_id = self.queried_stream(Permission.READ)
        offset = query_int(request, "from", default=0, minimum=0)
        limit = (
            query_int(request, "limit", default=MAX_ENTITY_LIMIT, minimum=0, maximum=MAX_ENTITY_LIMIT)
            or MAX_ENTITY_LIMIT
        )
        page = entity_history_page(
            tenant_id=tenant_id,
            store_id=store_id,
            entity_type=entity_type,
            entity_id=entity_id,
            offset=offset,
            limit=limit,
        )
        return Response(
            {
                "entity_type": entity_type,
                "entity_id": entity_id,
                "events": [event_output(e) for e in page.events],
                "count": len(page.events),
                "total": page.total,
                "has_more": offset + len(page.events) < page.total,
            }
        )
