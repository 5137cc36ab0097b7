"""gunicorn as deployed refuses a header value holding a control character before the
application sees it: its own HTML 400, as ``docs/errors.md`` ("Answered by the server") lists.

Found by an outside audit: ``X-Request-Id: a\\x01b`` got gunicorn's HTML page while the table
named only malformed framing. A tab and bytes 0x80-0xFF pass (RFC 9110 section 5.5 field-vchar
and obs-text).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sequencer_project.ops_helpers import serving_gunicorn
from tests.sequencer_project.test_wire_answers import _exchange as exchange  # byte for byte over a socket

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _answer_head(port: int, header_value: bytes) -> tuple[int, dict[str, str], bytes]:
    request = (
        b"GET /health HTTP/1.1\r\nHost: localhost\r\nX-Request-Id: " + header_value + b"\r\nConnection: close\r\n\r\n"
    )
    return exchange(port, request)


def test_a_control_character_in_a_header_value_gets_gunicorns_html_400(tmp_path: Path) -> None:
    with serving_gunicorn(tmp_path) as (port, _log):
        refused = {value: _answer_head(port, value) for value in (b"a\x01b", b"a\x00b", b"a\x1fb", b"a\x7fb")}
        passed = {value: _answer_head(port, value) for value in (b"a\tb", b"a\xffb")}

    for value, (status, headers, body) in refused.items():
        assert status == 400, value
        assert headers["content-type"] == "text/html", value
        assert headers["connection"] == "close", value
        assert "x-request-id" not in headers, value  # before the application: no request id, no code
        assert b"Invalid HTTP Header" in body, value
    for value, (status, headers, _body) in passed.items():
        assert status == 200, value
        assert headers["x-request-id"], value
