"""orjson request parser; malformed bodies become a ``malformed_json`` problem."""

from typing import IO, Any

import orjson
from rest_framework.parsers import BaseParser

from sequencer_project.api.errors import MalformedJsonError


def loads(body: bytes) -> Any:
    """Parse a JSON document; any syntax, encoding or range error is a client error."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedJsonError(f"The body is not valid JSON: {exc}") from exc


class OrjsonParser(BaseParser):
    media_type = "application/json"

    def parse(self, stream: IO[bytes], media_type: str | None = None, parser_context: Any = None) -> Any:
        return loads(stream.read())
