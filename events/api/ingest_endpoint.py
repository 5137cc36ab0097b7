"""``POST /api/v1/events/ingest`` served straight from WSGI (ADR 0021).

The same answer as the DRF view (``events.api.views.EventIngestApi``): both call
:func:`events.api.legacy_ingest.legacy_ingest_answer` on the body bytes read by the one body reader.
``tests/events/api/test_ingest_endpoint.py`` holds the two equal request by request.
"""

from __future__ import annotations

from typing import Any

from events.api.legacy_ingest import legacy_ingest_answer
from sequencer_project.api.body import read_json_bytes
from sequencer_project.api.principal import Principal
from sequencer_project.api.wsgi_endpoint import WsgiEndpoint, read_body

PATH = "/api/v1/events/ingest"


class LegacyIngestEndpoint(WsgiEndpoint):
    route = PATH
    method = "POST"
    allow = "POST, OPTIONS"
    ingest_label = "legacy"

    def answer(self, principal: Principal, environ: dict[str, Any]) -> dict[str, Any]:
        content_type = environ.get("CONTENT_TYPE", "")
        body = read_json_bytes(content_type, environ.get("CONTENT_LENGTH"), read_body(environ))
        return legacy_ingest_answer(principal, body)
