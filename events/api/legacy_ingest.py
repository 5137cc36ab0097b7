"""What ``POST /api/v1/events/ingest`` answers for a parsed body and an authenticated caller.

One function for both ways the endpoint is served: the DRF view (``events.api.views``, the
test client and the site handler) and the WSGI endpoint gunicorn serves it through
(``events.api.ingest_endpoint``).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings

from audit.services import api_actor
from events.api.serializers import ingest_output
from events.legacy_decoder import read_legacy_body
from events.services.ingest import event_ingest_legacy
from sequencer_project.api.principal import Permission, Principal
from sequencer_project.api.request_id import current_request_id


def legacy_ingest_answer(principal: Principal, body: bytes) -> dict[str, Any]:
    """Validate the JSON ``body``, authorise the stream and the agents, sequence; the response body.

    A well-formed body is decoded straight into events (:mod:`events.legacy_decoder`); any
    other is parsed and answered by the general parser. A body with no events answers an empty
    batch (the reference does); anything else names exactly one stream, on which the caller
    needs ``write``.
    """
    parsed = read_legacy_body(
        body,
        max_events=settings.MAX_EVENTS_PER_BATCH,
        max_payload_bytes=settings.MAX_EVENT_PAYLOAD_SIZE,
        default_agent=principal.agent_id,
    )
    principal.check_agent(parsed.agent_id)
    if principal.agent_id is not None:
        for event in parsed.events:
            principal.check_agent(event.source_agent)
    if parsed.tenant_id is None or parsed.store_id is None:
        return {
            "batch_id": uuid.uuid4(),
            "events_accepted": 0,
            "events_rejected": 0,
            "assigned_sequence_start": None,
            "assigned_sequence_end": None,
            "head_sequence": 0,
            "receipts": [],
        }
    principal.check_stream(parsed.tenant_id, parsed.store_id, Permission.WRITE)
    result = event_ingest_legacy(
        tenant_id=parsed.tenant_id,
        store_id=parsed.store_id,
        events=parsed.events,
        actor=api_actor(principal),
        request_id=current_request_id() or "",
    )
    return ingest_output(result)
