"""VES endpoints: signed ingest and reads of stored VES events (``docs/ves.md``).

The ingest view applies the request-level checks in the reference's order (REFERENCE.md
§2.3.2): shape (422), empty (400), mixed stream (400), agent-scoped credential (403),
source agents (400), write permission (403), batch size (413), field lengths (400), payload
presence (400) and size (413). Per-event outcomes come back inside a 200.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.request import Request
from rest_framework.response import Response

from events.api import openapi as shapes
from events.api.event_by_id import visible_event
from events.api.event_range import range_answer
from events.api.ves_serializers import ves_event_output, ves_ingest_output
from events.api.views import FROM_SEQ, RANGE_LIMIT, TENANT_OF_EVENT
from events.selectors import ves_event_get_for_tenant, ves_event_range_list
from events.services.ves_ingest import ves_event_ingest
from events.ves_envelopes import check_source_agents, check_ves_limits, parse_ves_request, prepare_ves_event
from sequencer_project.api.body import read_json_body
from sequencer_project.api.openapi import operation, path_uuid, stream_query
from sequencer_project.api.principal import Permission
from sequencer_project.api.request_id import current_request_id
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
        parsed = parse_ves_request(body)
        principal = self.principal
        principal.check_agent(parsed.agent_id)
        check_source_agents(parsed)
        self.stream_for(parsed.tenant_id, parsed.store_id, Permission.WRITE)
        payloads = check_ves_limits(
            parsed, max_events=settings.MAX_EVENTS_PER_BATCH, max_payload_bytes=settings.MAX_EVENT_PAYLOAD_SIZE
        )
        prepared = [prepare_ves_event(e, p) for e, p in zip(parsed.events, payloads, strict=True)]
        result = ves_event_ingest(
            tenant_id=parsed.tenant_id,
            store_id=parsed.store_id,
            agent_id=parsed.agent_id,
            events=prepared,
            request_id=current_request_id() or "",
        )
        return Response(ves_ingest_output(result))


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
