"""``GET /api/v1/head?tenant_id&store_id``: the legacy stream's head, 0 when empty.

:func:`head_answer` is the operation; the DRF view (``events.api.views.HeadApi``, the test client
and the site handler) and :class:`HeadEndpoint` (gunicorn and granian, ADR 0021) both call it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from events.selectors import stream_head_get
from sequencer_project.api.principal import Permission, Principal
from sequencer_project.api.tenancy import queried_stream_in
from sequencer_project.api.wsgi_endpoint import WsgiEndpoint, query_params

PATH = "/api/v1/head"


def head_answer(principal: Principal, query: Mapping[str, str]) -> dict[str, Any]:
    """The head of the stream the query names; ``read`` on it is required."""
    tenant_id, store_id = queried_stream_in(query, principal, Permission.READ)
    return {"head_sequence": stream_head_get(tenant_id=tenant_id, store_id=store_id)}


class HeadEndpoint(WsgiEndpoint):
    route = PATH
    reads_query = True

    def answer(self, principal: Principal, environ: dict[str, Any]) -> dict[str, Any]:
        return head_answer(principal, query_params(environ))
