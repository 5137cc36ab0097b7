"""Reading a JSON request body: content coding, media type, size limit before reading, then the
one parser.

Used by every view (``read_json_body``) and by the ingest endpoint served straight from WSGI
(``events/api/ingest_endpoint.py``, through ``sequencer_project.api.wsgi_endpoint.read_body``), so
both refuse the same bodies with the same problems. A body sent with a ``Content-Encoding``
(gzip, br, ...) is refused before anything is read: 415 ``unsupported_media_type`` with
``Accept-Encoding: identity`` (RFC 9110 section 15.5.16). The API decodes no content coding; read
as it came, a gzip body was a 400 ``malformed_json`` and a plain one labelled gzip was accepted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from rest_framework.request import Request

from sequencer_project.api.errors import (
    BadRequestError,
    BodyTooLargeError,
    SequencerError,
    UnsupportedContentEncodingError,
    UnsupportedMediaTypeError,
)
from sequencer_project.api.parsers import loads


def check_content_encoding(content_encoding: str | None) -> None:
    """Refuse a body sent with any content coding but ``identity`` (a header naming only
    ``identity``, in any case and spacing, or an empty one, is no coding)."""
    if content_encoding and not _identity_only(content_encoding):
        raise UnsupportedContentEncodingError(
            "The API reads request bodies without a content coding: send the body as it is, "
            "without a Content-Encoding (or with Content-Encoding: identity)."
        )


def _identity_only(content_encoding: str) -> bool:
    return all(coding.strip(" \t").lower() in ("", "identity") for coding in content_encoding.split(","))


def parse_json_body(
    content_type: str, declared_length: str | None, read: Callable[[int], bytes], *, allow_nul: bool = False
) -> object:
    """:func:`read_json_bytes`, then the one parser (:func:`sequencer_project.api.parsers.loads`)."""
    return loads(read_json_bytes(content_type, declared_length, read), allow_nul=allow_nul)


def read_json_bytes(content_type: str, declared_length: str | None, read: Callable[[int], bytes]) -> bytes:
    """Check the media type and ``MAX_BODY_SIZE_BYTES`` (declared and actual), read; the bytes.

    ``read(n)`` returns the body, reading at most ``n`` bytes: a body without a declared length
    (chunked) is read one byte past the limit, never in full. For the ingest endpoints, which
    decode well-formed bodies themselves before falling back to :func:`loads`.
    """
    if not content_type.split(";")[0].strip().lower().endswith("json"):
        raise UnsupportedMediaTypeError("Send the body as application/json.")
    limit = settings.MAX_BODY_SIZE_BYTES
    try:
        declared = int(declared_length or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise BodyTooLargeError(f"The body is {declared} bytes; the limit is {limit}.", limit=limit)
    body = read(limit + 1)
    if len(body) > limit:
        raise BodyTooLargeError(f"The body is {len(body)} bytes; the limit is {limit}.", limit=limit)
    return body


def request_json_bytes(request: Request) -> bytes:
    """:func:`read_json_bytes` of a DRF request, chunked bodies included, once its content
    coding is checked (first, as ``wsgi_endpoint.read_body`` does)."""
    check_content_encoding(request.META.get("HTTP_CONTENT_ENCODING"))
    declared = request.META.get("CONTENT_LENGTH")
    return read_json_bytes(request.content_type or "", declared, _request_reader(request, declared))


def _request_reader(request: Request, declared: str | None) -> Callable[[int], bytes]:
    """``read(limit)`` of a request's body.

    With a declared length Django reads the body whole (the length was checked first). Without
    one (``Transfer-Encoding: chunked``, an HTTP/2 body without ``content-length``) Django's
    ``request.body`` is empty, so the body is read from the server's input instead, at most
    ``limit`` bytes, as the WSGI endpoints do (``sequencer_project.api.wsgi_endpoint.read_body``).
    Only from a server that ends that input at the body's end (``wsgi.input_terminated``:
    gunicorn, granian); from another one a read without a length could wait for the client to
    close the connection. The server decodes the chunks as they are read: a chunk it cannot
    decode (a size that is not hex, a chunk longer than its size, a body cut short) is the
    client's, 400 ``bad_request``, never a 500.
    """
    environ = request.META
    if declared or not environ.get("wsgi.input_terminated"):
        return lambda _limit: request.body
    stream = environ["wsgi.input"]
    return lambda limit: server_input_read(stream, limit)


def server_input_read(stream: Any, size: int) -> bytes:
    """At most ``size`` bytes of a WSGI server's request input. The server decodes a chunked body
    as it is read: a chunk it cannot decode is the client's error, 400 ``bad_request``. A body
    that stops arriving is the server's 408 ``request_timeout`` (``gunicorn_worker``), as raised."""
    try:
        return bytes(stream.read(size))
    except SequencerError:
        raise
    except Exception as exc:  # the server's own errors (gunicorn: InvalidChunkSize, NoMoreData, ...)
        raise BadRequestError("The request body's chunked framing is malformed.") from exc


def read_json_body(request: Request, *, allow_nul: bool = False) -> object:
    """Read and parse a JSON body, refusing oversize bodies before reading them.

    The generic JSON limits (depth, NUL; ``sequencer_project.api.parsers.loads``) apply;
    ``allow_nul`` is for the ingest endpoints only (event payloads holding NUL are rejected
    per event there).
    """
    return loads(request_json_bytes(request), allow_nul=allow_nul)
