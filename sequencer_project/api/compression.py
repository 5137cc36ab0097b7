"""gzip for large responses only (small bodies cost more CPU to compress than they save), when
the client's ``Accept-Encoding`` accepts it.

:func:`accepts_gzip` reads ``Accept-Encoding`` as RFC 9110 section 12.5.3 writes it, for the
middleware and the WSGI endpoints alike: codings in any case, each with an optional weight, where
``q=0`` refuses one (``gzip;q=0``) and ``*`` stands for every coding the header does not name.
Django's GZipMiddleware searches the header for the word ``gzip`` instead, so ``gzip;q=0`` got
gzip and ``GZIP`` did not.
"""

from __future__ import annotations

import functools
import re
from typing import cast

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.middleware.gzip import GZipMiddleware

# RFC 9110 section 12.4.2: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
_QVALUE = re.compile(r"0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?")
_GZIP_NAMES = frozenset({"gzip", "x-gzip"})  # x-gzip: the same coding (RFC 9110 section 8.4.1.3)


@functools.lru_cache(maxsize=256)
def accepts_gzip(accept_encoding: str) -> bool:
    """Whether a response may be sent gzip-coded to a client that sent this ``Accept-Encoding``.

    gzip named with a weight above 0 is accepted, named only with weight 0 refused; not named,
    ``*`` decides the same way; neither named, refused. A member whose weight is malformed is
    left out. Cached: clients send few distinct values, and the cache is bounded.
    """
    gzip_weight: float | None = None
    any_weight: float | None = None
    for member in accept_encoding.split(","):
        coding, _, parameters = member.partition(";")
        coding = coding.strip(" \t").lower()
        if not coding:
            continue
        weight = _weight(parameters)
        if weight is None:
            continue
        if coding in _GZIP_NAMES:
            gzip_weight = max(weight, gzip_weight or 0.0)
        elif coding == "*":
            any_weight = max(weight, any_weight or 0.0)
    decided = gzip_weight if gzip_weight is not None else any_weight
    return bool(decided)


def _weight(parameters: str) -> float | None:
    """A member's weight: 1 without ``q``, ``None`` when ``q`` is not a qvalue."""
    weight = 1.0
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip(" \t").lower() != "q":
            continue
        value = value.strip(" \t")
        if not _QVALUE.fullmatch(value):
            return None
        weight = float(value)
    return weight


class _AcceptEncodingOnly:
    """All Django's GZipMiddleware reads of a request: an ``Accept-Encoding`` it searches for the
    word ``gzip``."""

    def __init__(self, accept_encoding: str) -> None:
        self.META = {"HTTP_ACCEPT_ENCODING": accept_encoding}


_GZIP_ACCEPTED = cast(HttpRequest, _AcceptEncodingOnly("gzip"))
_GZIP_REFUSED = cast(HttpRequest, _AcceptEncodingOnly(""))


class LargeResponseGZipMiddleware(GZipMiddleware):
    """Django's GZipMiddleware (BREACH-safe, ``Vary: Accept-Encoding``) above ``GZIP_MIN_BYTES``,
    deciding by :func:`accepts_gzip`."""

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if not response.streaming and len(response.content) < settings.GZIP_MIN_BYTES:  # type: ignore[attr-defined]
            return response
        # Django's own process_response (Vary, streaming bodies, weak ETags, shorter-only) reads
        # nothing of the request but Accept-Encoding, which it searches for the word: it is
        # handed one that says the decision.
        accepted = accepts_gzip(request.META.get("HTTP_ACCEPT_ENCODING", ""))
        return super().process_response(_GZIP_ACCEPTED if accepted else _GZIP_REFUSED, response)
