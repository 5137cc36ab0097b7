"""``GET /api/v1/entities/{entity_type}/{entity_id}?tenant_id&store_id&from&limit``: an entity's
events, offset-paged.

:func:`entity_history_answer` is the operation; the DRF view (``events.api.views.EntityHistoryApi``)
and :class:`EntityHistoryEndpoint` (gunicorn and granian, ADR 0021, ADR 0042) both call it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from events.api.serializers import event_output
from events.envelopes import FIELD_LIMITS
from events.selectors import entity_history_page
from sequencer_project.api.fields import query_int_in
from sequencer_project.api.path_segments import path_segment_text, segment_text, sent_segments
from sequencer_project.api.principal import Permission, Principal
from sequencer_project.api.tenancy import queried_stream_in
from sequencer_project.api.wsgi_endpoint import WsgiEndpoint, query_params

PREFIX = "/api/v1/entities/"
MAX_ENTITY_LIMIT = 100


def entity_path(entity_type: str, entity_id: str) -> None:
    """Check an entity's path parameters, each decoded from the segment sent (either may hold
    ``/``, sent as ``%2F``): 400 when one could name no entity of an envelope."""
    path_segment_text(entity_type, "entity_type", FIELD_LIMITS["entity_type"])
    path_segment_text(entity_id, "entity_id", FIELD_LIMITS["entity_id"])


def entity_history_answer(
    principal: Principal, entity_type: str, entity_id: str, query: Mapping[str, str]
) -> dict[str, Any]:
    """The page from offset ``from`` of at most ``limit`` events (0 or more than
    ``MAX_ENTITY_LIMIT`` read as the maximum) of the entity in the stream the query names."""
    entity_path(entity_type, entity_id)
    tenant_id, store_id = queried_stream_in(query, principal, Permission.READ)
    offset = query_int_in(query, "from", default=0, minimum=0)
    limit = query_int_in(query, "limit", default=MAX_ENTITY_LIMIT, minimum=0, maximum=MAX_ENTITY_LIMIT)
    page = entity_history_page(
        tenant_id=tenant_id,
        store_id=store_id,
        entity_type=entity_type,
        entity_id=entity_id,
        offset=offset,
        limit=limit or MAX_ENTITY_LIMIT,
    )
    return {
        "entity_type": entity_type,
        "entity_id": entity_id,
        "events": [event_output(e) for e in page.events],
        "count": len(page.events),
        "total": page.total,
        "has_more": offset + len(page.events) < page.total,
    }


class EntityHistoryEndpoint(WsgiEndpoint):
    """Serves ``PREFIX`` + two path segments as the client sent them, so ``%2F`` stays inside its
    segment (:mod:`sequencer_project.api.path_segments`; the view's route does the same);
    anything else under the prefix (an entity's ``/state``) falls back to the API handler."""

    route = PREFIX + ":entity_type/:entity_id"
    reads_query = True

    def takes(self, environ: dict[str, Any]) -> bool:
        segments = sent_segments(environ, PREFIX)
        return segments is not None and len(segments) == 2 and all(segments) and super().takes(environ)

    def answer(self, principal: Principal, environ: dict[str, Any]) -> dict[str, Any]:
        segments = sent_segments(environ, PREFIX)
        assert segments is not None  # two of them: takes() saw them
        entity_type, entity_id = segments
        return entity_history_answer(
            principal, segment_text(entity_type), segment_text(entity_id), query_params(environ)
        )
