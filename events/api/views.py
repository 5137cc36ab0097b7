"""Legacy ingest and read endpoints (``docs/ingest.md``, ``docs/queries.md``).

Each view parses, calls one service or selector, and serializes. The ingest view reads the
raw body itself (size check before reading, orjson, hand-written validation): no DRF parser
or serializer runs per event.
"""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response

from events.api import openapi as shapes
from events.api.entity_history import MAX_ENTITY_LIMIT, entity_history_answer
from events.api.event_by_id import event_answer
from events.api.event_range import MAX_RANGE_LIMIT, event_range_answer
from events.api.head import head_answer
from events.api.legacy_ingest import legacy_ingest_answer
from sequencer_project.api.body import request_json_bytes
from sequencer_project.api.openapi import operation, path_param, path_uuid, query, stream_query
from sequencer_project.api.tenancy import TenantApiMixin

FROM_SEQ = query("from", {"type": "integer", "minimum": 0}, "First sequence number (inclusive); default 1.")
RANGE_LIMIT = query(
    "limit", {"type": "integer", "minimum": 1}, f"At most {MAX_RANGE_LIMIT} (larger values are capped)."
)
TENANT_OF_EVENT = query("tenant_id", {"type": "string", "format": "uuid"}, "Required for the bootstrap admin.")
ENTITY_PATH = [
    path_param("entity_type", shapes.entity_text("entity_type")),
    path_param("entity_id", shapes.entity_text("entity_id")),
]


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


class EventListApi(TenantApiMixin):
    """``GET /api/v1/events?tenant_id&store_id&from&limit``: a contiguous range (``from`` inclusive)."""

    @operation(
        "events",
        "events_list",
        "A contiguous range of a legacy stream",
        parameters=[*stream_query(), FROM_SEQ, RANGE_LIMIT],
        ok=shapes.EVENT_LIST,
    )
    def get(self, request: Request) -> Response:
        return Response(event_range_answer(self.principal, request.query_params))


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
        return Response(entity_history_answer(self.principal, entity_type, entity_id, request.query_params))
