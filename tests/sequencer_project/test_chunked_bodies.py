"""Request bodies without a declared length (``Transfer-Encoding: chunked``) are read on every
view, as on the WSGI ingest endpoint, within ``MAX_BODY_SIZE_BYTES`` (reading at most one byte
past it). Django's ``request.body`` is empty without ``CONTENT_LENGTH``: views once saw no body."""

from __future__ import annotations

import contextlib
import io
import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from gunicorn.http.errors import InvalidChunkSize

from tests import wsgi
from tests.conftest import Persona
from tests.sequencer_project.ops_helpers import serving_gunicorn

ADMIN = {"Authorization": "ApiKey test-bootstrap-admin"}


class _CountingInput:
    """A server's decoded body stream (gunicorn's ``wsgi.input``): counts the bytes read."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)
        self.read_bytes = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self._data.read(size)
        self.read_bytes += len(chunk)
        return chunk

    def readline(self, size: int = -1) -> bytes:
        line = self._data.readline(size)
        self.read_bytes += len(line)
        return line


def _as_chunked(stream: _CountingInput) -> Callable[[dict[str, Any], Callable[..., Any]], Any]:
    """``sequencer_project.wsgi`` given the request as gunicorn passes a chunked one: no
    ``CONTENT_LENGTH``, the decoded body on ``wsgi.input``, which ends at the body's end."""
    from sequencer_project.wsgi import application

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        environ.pop("CONTENT_LENGTH", None)
        environ.update({"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input_terminated": True, "wsgi.input": stream})
        return application(environ, start_response)

    return app


def _validate_body(tenant_id: uuid.UUID, payload: object) -> bytes:
    return orjson.dumps({"tenantId": str(tenant_id), "eventType": "order.created", "payload": payload})


@pytest.mark.django_db
def test_a_chunked_body_reaches_the_view(owner: Persona) -> None:
    stream = _CountingInput(_validate_body(owner.tenant_id, {"total": 1}))

    response = wsgi.call(
        "POST", "/api/v1/schemas/validate", app=_as_chunked(stream), HTTP_AUTHORIZATION=f"ApiKey {owner.key}"
    )

    assert response.status_code == 200, response.content
    assert orjson.loads(response.content) == {"valid": True, "schemaId": None, "schemaVersion": None, "errors": []}


@pytest.mark.django_db
def test_a_chunked_body_that_is_not_json_is_malformed_not_empty(owner: Persona) -> None:
    stream = _CountingInput(b'{"tenantId": ')

    response = wsgi.call(
        "POST", "/api/v1/schemas/validate", app=_as_chunked(stream), HTTP_AUTHORIZATION=f"ApiKey {owner.key}"
    )

    assert response.status_code == 400
    assert orjson.loads(response.content)["code"] == "malformed_json"
    assert "zero-length" not in orjson.loads(response.content)["detail"]


@pytest.mark.django_db
def test_an_oversize_chunked_body_is_413_read_one_byte_past_the_limit(owner: Persona, settings: Any) -> None:
    settings.MAX_BODY_SIZE_BYTES = 1_000
    stream = _CountingInput(_validate_body(owner.tenant_id, {"note": "x" * 5_000}))

    response = wsgi.call(
        "POST", "/api/v1/schemas/validate", app=_as_chunked(stream), HTTP_AUTHORIZATION=f"ApiKey {owner.key}"
    )

    assert response.status_code == 413
    assert orjson.loads(response.content)["code"] == "body_too_large"
    assert orjson.loads(response.content)["limit"] == 1_000
    assert stream.read_bytes == 1_001


class _BrokenChunks(_CountingInput):
    """gunicorn's ``wsgi.input`` on a chunk it cannot decode: it raises from ``read``."""

    def read(self, size: int = -1) -> bytes:
        raise InvalidChunkSize(b"zz")


@pytest.mark.django_db
def test_a_chunk_the_server_cannot_decode_is_the_clients_400_not_a_500(owner: Persona) -> None:
    response = wsgi.call(
        "POST",
        "/api/v1/schemas/validate",
        app=_as_chunked(_BrokenChunks(b"")),
        HTTP_AUTHORIZATION=f"ApiKey {owner.key}",
    )

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert orjson.loads(response.content)["code"] == "bad_request"


def _raw_exchange(port: int, request: bytes) -> bytes:
    """Send ``request`` as it is; the answer, read until its last chunk, the server closing or 10 s."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        with contextlib.suppress(TimeoutError):
            while chunk := sock.recv(65536):
                answer += chunk
                if answer.endswith(b"\r\n0\r\n\r\n"):  # the last chunk of a chunked answer
                    break
    return answer


def _chunks(body: bytes, size: int = 100) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_gunicorn_serves_chunked_bodies_to_views_within_the_limit(tmp_path: Path) -> None:
    tenant = uuid.uuid4()
    small = _validate_body(tenant, {"total": 1})
    large = _validate_body(tenant, {"note": "x" * 10_000})
    with serving_gunicorn(tmp_path, WEB_WORKERS="1", WEB_THREADS="2", MAX_BODY_SIZE_BYTES="4096") as (port, _):
        url = f"http://127.0.0.1:{port}/api/v1/schemas/validate"
        headers = {**ADMIN, "Content-Type": "application/json"}
        accepted = httpx.post(url, content=_chunks(small), headers=headers, timeout=30)
        refused = httpx.post(url, content=_chunks(large), headers=headers, timeout=30)
        broken = _raw_exchange(
            port,
            b"POST /api/v1/schemas/validate HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Authorization: ApiKey test-bootstrap-admin\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\nzz\r\n",
        )
        gzipped = _raw_exchange(  # gunicorn undoes the chunking only: the gzip coding is left to us
            port,
            b"POST /api/v1/events/ingest HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Authorization: ApiKey test-bootstrap-admin\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: gzip, chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
        )
        broken_ingest = _raw_exchange(  # the WSGI ingest endpoint reads its body on its own path
            port,
            b"POST /api/v1/events/ingest HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Authorization: ApiKey test-bootstrap-admin\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\nzz\r\n",
        )

    assert accepted.request.headers["Transfer-Encoding"] == "chunked"
    assert "Content-Length" not in accepted.request.headers
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["valid"] is True
    assert refused.status_code == 413, refused.text
    assert refused.json()["code"] == "body_too_large"
    assert broken.startswith(b"HTTP/1.1 400 "), broken[:200]
    assert b"Content-Type: application/problem+json" in broken
    assert b'"code":"bad_request"' in broken
    assert broken_ingest.startswith(b"HTTP/1.1 400 "), broken_ingest[:200]
    assert gzipped.startswith(b"HTTP/1.1 501 "), gzipped[:200]
    assert b"Content-Type: application/problem+json" in gzipped
    assert b'"code":"unsupported_transfer_coding"' in gzipped
    assert b'"code":"bad_request"' in broken_ingest
