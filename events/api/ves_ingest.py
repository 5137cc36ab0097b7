"""What ``POST /api/v1/ves/events/ingest`` answers for a parsed body and an authenticated caller.

The request-level checks run in the reference's order (REFERENCE.md §2.3.2): shape (422), empty
(400), mixed stream (400), agent-scoped credential (403), source agents (400), write permission
(403), batch size (413), field lengths (400), payload presence (400) and size (413). Per-event
outcomes come back inside a 200. The VES counterpart of
:func:`events.api.legacy_ingest.legacy_ingest_answer`.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from audit.services import api_actor
from events.api.ves_serializers import ves_ingest_output
from events.services.ves_ingest import ves_event_ingest
from events.ves_envelopes import check_source_agents, check_ves_limits, parse_ves_request, prepare_ves_event
from sequencer_project.api.principal import Permission, Principal
from sequencer_project.api.request_id import current_request_id


def ves_ingest_answer(principal: Principal, body: object) -> dict[str, Any]:
    """Validate the parsed JSON ``body``, authorise the agent and the stream, sequence; the response body."""
    parsed = parse_ves_request(body)
    principal.check_agent(parsed.agent_id)
    check_source_agents(parsed)
    principal.check_stream(parsed.tenant_id, parsed.store_id, Permission.WRITE)
    payloads = check_ves_limits(
        parsed, max_events=settings.MAX_EVENTS_PER_BATCH, max_payload_bytes=settings.MAX_EVENT_PAYLOAD_SIZE
    )
    prepared = [prepare_ves_event(e, p) for e, p in zip(parsed.events, payloads, strict=True)]
    result = ves_event_ingest(
        tenant_id=parsed.tenant_id,
        store_id=parsed.store_id,
        agent_id=parsed.agent_id,
        events=prepared,
        actor=api_actor(principal),
        request_id=current_request_id() or "",
    )
    return ves_ingest_output(result)
