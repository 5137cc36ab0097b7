"""The request path split into segments before percent-decoding (``sequencer_project/api/path_segments.py``):
from the server's request target when it passes one, else from ``PATH_INFO``, each segment decoded
on its own, and text that is not UTF-8 or holds NUL refused as a path parameter."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import quote, unquote_to_bytes, urlsplit

import pytest
from django.core.handlers.wsgi import WSGIRequest
from hypothesis import given, settings
from hypothesis import strategies as st

from sequencer_project.api.errors import InvalidParameterError
from sequencer_project.api.path_segments import path_segment_text, request_segments, segment_text, sent_segments

PREFIX = "/api/v1/entities/"


def _environ(target: str | None, *, key: str = "RAW_URI", script_name: str = "") -> dict[str, Any]:
    """What gunicorn passes for ``target``: ``PATH_INFO`` decoded to one character per byte."""
    path = urlsplit(target).path if target else ""
    environ = {"PATH_INFO": unquote_to_bytes(path).decode("latin-1")[len(script_name) :], "SCRIPT_NAME": script_name}
    if target is not None:
        environ[key] = target
    return environ


def _texts(segments: list[str] | None) -> list[str] | None:
    return None if segments is None else [segment_text(segment) for segment in segments]


@pytest.mark.parametrize(
    ("target", "texts"),
    [
        ("/api/v1/entities/order/ORD-1?tenant_id=x", ["order", "ORD-1"]),
        ("/api/v1/entities/order/ORD%2F1?tenant_id=x", ["order", "ORD/1"]),
        ("/api/v1/entities/order/ORD%2f1/state", ["order", "ORD/1", "state"]),
        ("/api/v1/entities/shop%2Forder/A", ["shop/order", "A"]),
        ("/api/v1/entities/order/50%25", ["order", "50%"]),
        ("/api/v1/entities/order/a%252Fb", ["order", "a%2Fb"]),  # a literal "%2F", escaped once
        ("/api/v1/entities/order/%C3%B6-1", ["order", "ö-1"]),
        ("/api/v1/entities/order/%zz%", ["order", "%zz%"]),  # not escapes: as sent, as the reference reads them
        ("/api/v1/entities/order/%2F", ["order", "/"]),
        ("/api/v1/entities/order/", ["order", ""]),
        ("/api/v1/%65ntities/order/A%2FB", ["order", "A/B"]),  # the prefix spelled with an escape
        ("http://example.test/api/v1/entities/order/A%2FB?x=1", ["order", "A/B"]),  # the absolute form
        ("/api/v1/entities/order/A#B%2F", ["order", "A"]),  # a fragment is not the path
        ("/api/v1/events/A%2FB", None),
        ("/api/v1/entities%2Forder/A", None),  # an escaped slash is not the prefix's
    ],
)
def test_segments_split_before_decoding(target: str, texts: list[str] | None) -> None:
    assert _texts(sent_segments(_environ(target), PREFIX)) == texts


def test_uwsgi_and_mod_wsgi_pass_the_target_as_request_uri() -> None:
    environ = _environ("/api/v1/entities/order/ORD%2F1", key="REQUEST_URI")

    assert _texts(sent_segments(environ, PREFIX)) == ["order", "ORD/1"]


def test_without_a_target_the_segments_are_path_infos() -> None:
    """granian: ``PATH_INFO`` only, where ``%2F`` already split its segment (docs/api.md)."""
    environ = _environ(None) | {"PATH_INFO": "/api/v1/entities/order/ORD/1"}

    assert _texts(sent_segments(environ, PREFIX)) == ["order", "ORD", "1"]
    assert _texts(sent_segments({"PATH_INFO": "/api/v1/entities/order/50%"}, PREFIX)) == ["order", "50%"]


def test_a_target_that_does_not_spell_the_routed_path_is_not_read() -> None:
    """Something rewrote ``PATH_INFO`` after the server read the target: the routed path counts."""
    environ = {"RAW_URI": "/api/v1/entities/order/ORD%2F1", "PATH_INFO": "/api/v1/entities/order/X"}

    assert _texts(sent_segments(environ, PREFIX)) == ["order", "X"]


def test_a_mount_below_script_name_is_read_below_it() -> None:
    environ = _environ("/mount/api/v1/entities/order/ORD%2F1", script_name="/mount")

    assert _texts(sent_segments(environ, PREFIX)) == ["order", "ORD/1"]


def test_bytes_that_are_not_utf8_are_kept_for_the_operation_to_refuse() -> None:
    (text,) = _texts(sent_segments(_environ("/api/v1/entities/%FF"), PREFIX)) or []

    assert text == "\udcff"
    with pytest.raises(InvalidParameterError) as refused:
        path_segment_text(text, "entity_type", 128)
    assert refused.value.extensions == {"parameter": "entity_type"}
    assert "UTF-8" in refused.value.detail


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        ("ORD/1", False),
        ("ö-1", False),
        ("", True),
        ("x" * 129, True),
        ("a\x00b", True),
        ("\udcc3", True),  # a truncated UTF-8 sequence
        ("\udced\udca0\udc80", True),  # an encoded surrogate is not UTF-8 either
    ],
)
def test_a_path_parameter_is_utf8_without_nul(text: str, refused: bool) -> None:
    if refused:
        with pytest.raises(InvalidParameterError):
            path_segment_text(text, "entity_type", 128)
    else:
        assert path_segment_text(text, "entity_type", 128) == text


@pytest.mark.parametrize("sends_target", [True, False])
@pytest.mark.parametrize(
    "target",
    [
        "/api/v1/entities/order/ORD%2F1?a=1",
        "/api/v1/entities/order/%C3%B6%2F1",
        "/api/v1/entities/order/%FF",
        "/api/v1/entities/order/50%25",
        "/api/v1/entities/order/" + "ö".encode().decode("latin-1"),  # UTF-8 sent unescaped
    ],
)
def test_a_django_request_reads_as_its_environ(target: str, sends_target: bool) -> None:
    """Django replaces ``META["PATH_INFO"]`` with its own reading (``request.path_info``); the
    segments of the request are those of the environ the server passed."""
    environ = _environ(target if sends_target else None) | {"PATH_INFO": _environ(target)["PATH_INFO"]}
    expected = _texts(sent_segments(dict(environ), PREFIX))

    request = WSGIRequest({**environ, "REQUEST_METHOD": "GET", "wsgi.input": io.BytesIO()})

    assert _texts(request_segments(request, PREFIX)) == expected


_SEGMENT = st.text(st.characters(codec="utf-8"), min_size=1, max_size=12)


@settings(max_examples=300, deadline=None)
@given(segments=st.lists(_SEGMENT, min_size=1, max_size=4), safe=st.sampled_from(["", "~", ":@!$&'()*+,;="]))
def test_escaping_each_segment_round_trips_through_a_target(segments: list[str], safe: str) -> None:
    """Whatever a segment holds (``/``, ``%``, ``?``, NUL, any script), a client that escapes it
    gets it back, one segment each, as the reference's clients do with axum."""
    target = PREFIX + "/".join(quote(segment, safe=safe) for segment in segments) + "?q=1"

    assert _texts(sent_segments(_environ(target), PREFIX)) == segments


@settings(max_examples=200, deadline=None)
@given(segments=st.lists(_SEGMENT.filter(lambda s: "/" not in s), min_size=1, max_size=4))
def test_without_a_target_segments_without_slashes_round_trip(segments: list[str]) -> None:
    path = PREFIX + "/".join(segment.encode().decode("latin-1") for segment in segments)

    assert _texts(sent_segments({"PATH_INFO": path}, PREFIX)) == segments
