"""gzip for large responses only: small bodies cost more CPU to compress than they save."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.middleware.gzip import GZipMiddleware


class LargeResponseGZipMiddleware(GZipMiddleware):
    """Django's GZipMiddleware (BREACH-safe, ``Vary: Accept-Encoding``) above ``GZIP_MIN_BYTES``."""

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if not response.streaming and len(response.content) < settings.GZIP_MIN_BYTES:  # type: ignore[attr-defined]
            return response
        return super().process_response(request, response)
