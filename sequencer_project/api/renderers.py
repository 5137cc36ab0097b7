"""orjson rendering and parsing for DRF (the stdlib json module stays off the hot path)."""

from typing import Any

import orjson
from rest_framework.renderers import BaseRenderer

from sequencer_project.api.json_numbers import dumps


class OrjsonRenderer(BaseRenderer):
    media_type = "application/json"
    format = "json"
    charset = None

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if data is None:
            return b""
        return dumps(data, option=orjson.OPT_UTC_Z)
