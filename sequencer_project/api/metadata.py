"""What ``OPTIONS`` on an API path answers: the methods in the ``Allow`` header and an empty
JSON object (``docs/api.md``).

DRF's default metadata class answered with the view's name and docstring (internal reStructuredText
about how the view is built) and its parsers and renderers; none of it is the API's contract, which
is the OpenAPI schema at ``/api/schema/``.
"""

from __future__ import annotations

from typing import Any

from rest_framework.metadata import BaseMetadata
from rest_framework.request import Request


class AllowOnlyMetadata(BaseMetadata):
    def determine_metadata(self, request: Request, view: Any) -> dict[str, Any]:
        return {}
