"""Content negotiation that never refuses: the API answers JSON whatever ``Accept`` says.

API views have one renderer (JSON); errors are ``application/problem+json`` whatever the client
asked for. The reference ignores ``Accept``, and so does this: a view with one renderer uses it
without looking at the request (DRF's default negotiation would parse ``Accept`` on every
request, ~4 % of an ingest request's CPU under gunicorn, and answer 406 to ``text/html`` or even
``application/problem+json``). DRF's ``?format=`` override is off (``URL_FORMAT_OVERRIDE`` is
``None`` in settings): ``format`` is a query parameter like any other the API does not read.

Views with several renderers (the OpenAPI schema, YAML or JSON) still choose by ``Accept``, and
by ``?format=`` (``json``, ``yaml``; docs/api.md) for browsers and ``curl`` users; when nothing
matches they answer with their first renderer instead of 406 or 404.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

SCHEMA_FORMAT_PARAMETER = "format"


class SingleRendererNegotiation(DefaultContentNegotiation):
    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> Any:
        renderers = list(renderers)
        first = renderers[0]
        if len(renderers) == 1:  # every API view: JSON, whatever Accept says
            return first, first.media_type
        wanted = format_suffix or request.query_params.get(SCHEMA_FORMAT_PARAMETER)
        if wanted:
            by_format = [renderer for renderer in renderers if renderer.format == wanted]
            if by_format:
                return by_format[0], by_format[0].media_type
        try:
            return super().select_renderer(request, renderers)
        except NotAcceptable:
            return first, first.media_type
