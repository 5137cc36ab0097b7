"""The request path split into segments *before* percent-decoding, so ``%2F`` inside a segment
stays part of it (docs/api.md, "Path parameters holding a slash").

WSGI hands an application ``PATH_INFO`` already percent-decoded (PEP 3333): ``/entities/order/ORD%2F1``
arrives as ``/entities/order/ORD/1``, three segments, and an entity id holding ``/`` could never be
addressed. The reference (axum's ``Path``) splits first and decodes each segment, so its clients
send such ids escaped. The path as the client sent it comes from the server's request target:
``RAW_URI`` (gunicorn) or ``REQUEST_URI`` (uWSGI, mod_wsgi, waitress). granian passes neither, so
under granian the segments are ``PATH_INFO``'s and an id holding ``/`` stays unaddressable.

A segment here is text as the server passes it (each character one byte, PEP 3333) and still
percent-encoded: :func:`segment_text` decodes it. Bytes that are not UTF-8 come out as the
surrogate escapes of ``bytes.decode(..., "surrogateescape")``, so routing never fails on them and
:func:`path_segment_text`, which the operation calls once the caller is authenticated, refuses them
with the same 400 ``invalid_parameter`` as a NUL or an over-long value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, unquote_to_bytes, urlsplit

from django.http import HttpRequest
from django.utils.encoding import repercent_broken_unicode

from sequencer_project.api.errors import InvalidParameterError
from sequencer_project.api.fields import path_text

# The request target as sent, by the servers that pass it: gunicorn's, then the others' name.
RAW_TARGET_KEYS = ("RAW_URI", "REQUEST_URI")


def sent_segments(environ: Mapping[str, Any], prefix: str) -> list[str] | None:
    """The segments of the request path after ``prefix`` (a path below ``SCRIPT_NAME``, from
    ``/`` to a final ``/``), still percent-encoded; ``None`` when the path does not start there.

    ``environ`` is as the server passes it (PEP 3333). From the request target when the server
    passes it and it escapes something in the path, else from ``PATH_INFO`` as Django reads it
    (bytes that are not UTF-8 kept as ``%XX`` text; its ``%`` escaped again, so
    :func:`segment_text` reads both alike). A prefix the client spelled with escapes
    (``/api/v1/%65ntities/``) is the prefix.
    """
    path_info: str = environ.get("PATH_INFO", "")
    if not path_info.isascii():
        path_info = _as_django_reads(path_info.encode("latin-1"))
    return _segments(environ, environ.get("SCRIPT_NAME", ""), path_info, prefix)


def request_segments(request: HttpRequest, prefix: str) -> list[str] | None:
    """:func:`sent_segments` of a Django request, whose ``META`` holds Django's reading of the
    path (``request.path_info``) in place of the server's ``PATH_INFO``."""
    script_name, path_info = request.META.get("SCRIPT_NAME", ""), request.path_info
    return _segments(request.META, _as_wsgi_text(script_name), _as_wsgi_text(path_info), prefix)


def segment_text(segment: str) -> str:
    """A segment of :func:`sent_segments` percent-decoded, as UTF-8; bytes that are not UTF-8
    become surrogate escapes (refused by :func:`path_segment_text`). An escape that is not one
    (``%zz``, a lone ``%``) stays as it is, as the reference reads it."""
    if "%" not in segment and segment.isascii():
        return segment  # the usual segment: nothing to decode
    try:
        sent = segment.encode("latin-1")  # PEP 3333: one character per byte
    except UnicodeEncodeError:  # a server that passes text: its UTF-8
        sent = segment.encode("utf-8", "surrogateescape")
    return unquote_to_bytes(sent).decode("utf-8", "surrogateescape")


def path_segment_text(value: str, name: str, limit: int) -> str:
    """A free-text path parameter decoded by :func:`segment_text`: 1 to ``limit`` characters,
    UTF-8, without NUL; else 400 ``invalid_parameter`` naming it."""
    path_text(value, name, limit)
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a surrogate escape: the client's bytes were not UTF-8
            raise InvalidParameterError(f"'{name}' must be UTF-8 once percent-decoded.", parameter=name) from None
    return value


def _segments(environ: Mapping[str, Any], script_name: str, path_info: str, prefix: str) -> list[str] | None:
    """:func:`sent_segments` of a path Django routed as ``script_name`` + ``path_info`` (text of
    bytes, one character each, as PEP 3333 spells them)."""
    path = _sent_path(environ, script_name, path_info)
    if path is None:
        if not path_info.startswith(prefix):
            return None
        rest = path_info[len(prefix) :]
        return (rest.replace("%", "%25") if "%" in rest else rest).split("/")
    rest_sent = _after_prefix(path, prefix)
    return None if rest_sent is None else rest_sent.split("/")


def _sent_path(environ: Mapping[str, Any], script_name: str, path_info: str) -> str | None:
    """The path below ``SCRIPT_NAME`` as the client spelled it, when the server passes the request
    target and the path escapes something or is not ASCII (else ``PATH_INFO`` already tells its
    segments), and
    decoding it gives the path Django routed (else something between the client and here
    rewrote the path, and the routed path is the one to read)."""
    target = environ.get(RAW_TARGET_KEYS[0]) or environ.get(RAW_TARGET_KEYS[1])
    if not isinstance(target, str) or ("%" not in target and target.isascii()):
        return None
    path = target.partition("?")[0].partition("#")[0]
    if "%" not in path and path.isascii():
        return None  # the escapes were in the query
    if not path.startswith("/"):  # the absolute form, http://host/path
        path = urlsplit(path).path
    try:
        decoded = repercent_broken_unicode(unquote_to_bytes(path.encode("latin-1")))
    except UnicodeEncodeError:  # not a server's text of bytes
        return None
    if decoded != (script_name + path_info).encode("latin-1") or not path.startswith(script_name):
        return None
    return path[len(script_name) :]


def _as_django_reads(path: bytes) -> str:
    """``path`` as Django reads it (bytes that are not UTF-8 as ``%XX``), as text of its bytes."""
    return repercent_broken_unicode(path).decode("latin-1")


def _as_wsgi_text(text: str) -> str:
    """Text Django decoded, as the text of its UTF-8 bytes (PEP 3333's spelling)."""
    return text if text.isascii() else text.encode("utf-8").decode("latin-1")


def _after_prefix(path: str, prefix: str) -> str | None:
    """What follows ``prefix`` in the sent ``path``, the prefix's segments compared decoded."""
    if path.startswith(prefix):
        return path[len(prefix) :]
    depth = prefix.count("/")
    parts = path.split("/", depth)
    if len(parts) <= depth or [unquote(part) for part in parts[:depth]] != prefix.split("/")[:depth]:
        return None
    return parts[depth]
