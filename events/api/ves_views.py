"""VES endpoints: signed ingest and reads of stored VES events (``docs/ves.md``).

The ingest view reads the body and hands it to :func:`events.api.ves_ingest.ves_ingest_answer`,
which applies the request-level checks in the reference's order and sequences.
"""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response

from events.api import openapi as shapes
from events.api.event_by_id import visible_event
from events.api.event_range import range_answer
from events.api.ves_ingest import ves_ingest_answer
from events.api.ves_serializers import ves_event_output
from events.api.views import FROM_SEQ, RANGE_LIMIT, TENANT_OF_EVENT
from events.selectors import ves_event_get_for_tenant, ves_event_range_list
from sequencer_project.api.body import read_json_body
from sequencer_project.api.openapi import operation, path_uuid, stream_query
from sequencer_project.api.tenancy import TenantApiMixin


class VesEventIngestApi(TenantApiMixin):
    """``POST /api/v1/ves/events/ingest``: verify and sequence signed VES v1 events of one stream."""

    @operation(
        "ves",
        "ves_events_ingest",
        "Verify and sequence signed VES v1 events of one stream",
        body=shapes.VES_INGEST_REQUEST,
        ok=shapes.VES_INGEST_RESPONSE,
    )
    def post(self, request: Request) -> Response:
        body = read_json_body(request, allow_nul=True)
        return Response(ves_ingest_answer(self.principal, body))


class VesEventListApi(TenantApiMixin):
    """``GET /api/v1/ves/events?tenant_id&store_id&from&limit``: a contiguous range with receipts."""

    @operation(
        "ves",
        "ves_events_list",
        "A contiguous range of a VES stream, with receipts",
        parameters=[*stream_query(), FROM_SEQ, RANGE_LIMIT],
        ok=shapes.VES_EVENT_LIST,
    )
    def get(self, request: Request) -> Response:
        return Response(range_answer(self.principal, request.query_params, ves_event_range_list, ves_event_output))


class VesEventDetailApi(TenantApiMixin):
    """``GET /api/v1/ves/events/{event_id}``: one VES event of the caller's tenant (404 otherwise)."""

    @operation(
        "ves",
        "ves_events_get",
        "One VES event with its receipt",
        parameters=[path_uuid("event_id"), TENANT_OF_EVENT],
        ok=shapes.VES_EVENT,
    )
    def get(self, request: Request, event_id: str) -> Response:
        event = visible_event(
            self.principal, event_id, request.query_params, get=ves_event_get_for_tenant, what="VES event"
        )
        return Response(ves_event_output(event))
