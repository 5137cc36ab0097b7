"""The one JSON body reader: orjson, then the generic limits of :mod:`sequencer_project.api.json_limits`.

Malformed bodies are ``malformed_json``; bodies nested deeper than ``MAX_JSON_DEPTH`` are
``json_too_deep``; U+0000 in any string or key is ``invalid_field`` naming its JSON path. Every
view reads its body through :func:`loads` (``read_json_body``, or DRF's ``request.data`` via
:class:`OrjsonParser`), so these limits hold before any view logic runs.
"""

from typing import IO, Any

import orjson
from rest_framework.parsers import BaseParser

from sequencer_project.api.errors import InvalidFieldError, JsonTooDeepError, MalformedJsonError
from sequencer_project.api.json_limits import MAX_JSON_DEPTH, raw_nul_path
from ves.json_depth import too_deep


def loads(body: bytes, *, allow_nul: bool = False) -> Any:
    """Parse a JSON document; any syntax, encoding or range error is a client error.

    ``allow_nul`` is for the two ingest endpoints only: their envelope fields refuse NUL one by
    one, and an event payload holding NUL is rejected per event (ADR 0016), not the request.
    """
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedJsonError(f"The body is not valid JSON: {exc}") from exc
    if too_deep(body, value, MAX_JSON_DEPTH):
        raise JsonTooDeepError(
            f"The body nests objects and arrays more than {MAX_JSON_DEPTH} levels deep.", limit=MAX_JSON_DEPTH
        )
    if not allow_nul:
        path = raw_nul_path(body, value)
        if path is not None:
            raise InvalidFieldError(
                f"{path or 'The body'} holds a NUL character (U+0000), which cannot be stored.", field=path
            )
    return value


class OrjsonParser(BaseParser):
    media_type = "application/json"

    def parse(self, stream: IO[bytes], media_type: str | None = None, parser_context: Any = None) -> Any:
        return loads(stream.read())
