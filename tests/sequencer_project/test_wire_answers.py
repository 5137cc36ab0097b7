"""What gunicorn as deployed (``docker/gunicorn.conf.py``) answers to the requests outside
testers sent, byte for byte over a socket: gunicorn's own ``environ`` (no ``HTTP_HOST`` when no
``Host`` came, ``PATH_INFO`` of ``*``) is what the application's checks read.

Before: an HTTP/1.1 request without ``Host`` was served; a body with ``Content-Encoding: gzip``
was read as plain; ``Accept-Encoding: gzip;q=0`` got gzip; ``//api/v1/head`` and ``OPTIONS *``
were Django's HTML 404 and a foreign ``Host`` Django's HTML 400 (and any ``Host`` was served on
the API); ``/api/schema/?version=a%0Ab`` was a 500.
"""

from __future__ import annotations

import contextlib
import re
import socket
from pathlib import Path

import orjson
import pytest

from tests.sequencer_project.ops_helpers import serving_gunicorn

ADMIN = "Authorization: ApiKey test-bootstrap-admin\r\n"


def _exchange(port: int, request: str | bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``request`` (with ``Connection: close``) as it is; status, headers (lower-case
    names) and the body, de-chunked."""
    raw = request.encode() if isinstance(request, str) else request
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        sock.sendall(raw)
        answer = b""
        with contextlib.suppress(TimeoutError):
            while chunk := sock.recv(65536):
                answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    if headers.get("transfer-encoding") == "chunked":
        pieces, rest = [], body
        while (size := int(rest.split(b"\r\n", 1)[0], 16)) > 0:
            rest = rest.split(b"\r\n", 1)[1]
            pieces.append(rest[:size])
            rest = rest[size + 2 :]
        body = b"".join(pieces)
    return int(status_line.split()[1]), headers, body


def _problem_code(answer: tuple[int, dict[str, str], bytes]) -> tuple[int, str]:
    status, headers, body = answer
    assert headers["content-type"] == "application/problem+json", (status, headers, body[:200])
    return status, orjson.loads(body)["code"]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_testers_requests_over_the_wire(tmp_path: Path) -> None:
    with serving_gunicorn(tmp_path, WEB_WORKERS="1", WEB_THREADS="2", DB_POOL_MAX_SIZE="3") as (port, _):

        def send(request: str | bytes) -> tuple[int, dict[str, str], bytes]:
            return _exchange(port, request)

        no_host = {
            path: send(f"GET {path} HTTP/1.1\r\nConnection: close\r\n\r\n")
            for path in ("/api/v1/head", "/admin/", "/health")
        }
        no_host_1_0 = send("GET /health HTTP/1.0\r\n\r\n")
        body = b'{"events":[]}'
        coded = send(
            f"POST /api/v1/events/ingest HTTP/1.1\r\nHost: 127.0.0.1\r\n{ADMIN}Content-Type: application/json\r\n"
            f"Content-Encoding: gzip\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        gzip_refused = send(
            "GET /api/schema/?format=json HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: deflate, gzip;q=0.0\r\n"
            "Connection: close\r\n\r\n"
        )
        gzip_upper = send(
            "GET /api/schema/?format=json HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: GZIP\r\n"
            "Connection: close\r\n\r\n"
        )
        unknown = {
            target: send(f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            for method, target in (("GET", "//api/v1/head"), ("GET", "/API/V1/HEAD"), ("OPTIONS", "*"))
        }
        foreign = {
            path: send(f"GET {path} HTTP/1.1\r\nHost: evil.example\r\n{ADMIN}Connection: close\r\n\r\n")
            for path in ("/api/v1/head", "/nope", "/health", "/admin/login/")
        }
        local = send(f"GET /api/v1/head HTTP/1.1\r\nHost: localhost:{port}\r\n{ADMIN}Connection: close\r\n\r\n")
        schema = send("GET /api/schema/?version=a%0Ab HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")

    assert {path: _problem_code(answer) for path, answer in no_host.items() if path != "/health"} == {
        "/api/v1/head": (400, "bad_request"),
        "/admin/": (400, "bad_request"),
    }
    assert no_host["/health"][0] == 200  # a load balancer's health check may name no host
    assert no_host_1_0[0] == 200
    assert _problem_code(coded) == (415, "unsupported_media_type")
    assert coded[1]["accept-encoding"] == "identity"
    assert "content-encoding" not in gzip_refused[1]
    assert gzip_upper[1]["content-encoding"] == "gzip"
    assert {target: _problem_code(answer) for target, answer in unknown.items()} == dict.fromkeys(
        unknown, (404, "not_found")
    )
    assert _problem_code(foreign["/api/v1/head"]) == (400, "bad_request")
    assert _problem_code(foreign["/nope"]) == (400, "bad_request")
    assert foreign["/health"][0] == 200  # probes answer whatever host they are sent
    assert foreign["/admin/login/"][0] == 400
    assert foreign["/admin/login/"][1]["content-type"].startswith("text/html")  # the admin keeps its page
    assert local[0] == 400  # past the host check: the query names no stream
    assert orjson.loads(local[2])["code"] == "invalid_parameter"
    assert schema[0] == 200
    assert re.fullmatch(r'inline; filename="StateSet Sequencer API\.yaml"', schema[1]["content-disposition"])
