"""Content negotiation without the work when there is nothing to choose.

API views have one renderer (JSON). DRF's default negotiation still parses ``Accept`` into media
types and matches them on every request (~4 % of an ingest request's CPU under gunicorn). With a
single renderer and an ``Accept`` that takes anything (absent, ``*/*``, ``application/json``) the
answer is known; anything else goes through DRF's negotiation, which answers 406 as before.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

_ANYTHING = frozenset({"", "*/*", "application/json"})


class SingleRendererNegotiation(DefaultContentNegotiation):
    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> Any:
        renderers = list(renderers)
        if (
            len(renderers) == 1
            and format_suffix is None
            and renderers[0].media_type == "application/json"
            and request.META.get("HTTP_ACCEPT", "") in _ANYTHING
            and self.settings.URL_FORMAT_OVERRIDE not in request.query_params
        ):
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)
