"""Which failures are retried, and how: a dropped connection is a transport failure like a
timeout, a call that is not safe to repeat is never re-sent once its request may have reached the
server, and ``Retry-After`` is read without trusting it (docs/sdk.md, "Errors"). Dropped
connections come from a real local HTTP server that closes them without answering."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler

import httpx
import pytest

from tests.ves.http_server import serving
from ves.client import (
    AsyncSequencerClient,
    ConflictError,
    RateLimitedError,
    SequencerClient,
    ServerError,
    TransportError,
)
from ves.retry_after import retry_after_seconds

TENANT, STORE, AGENT = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
HEAD_ANSWER = b'{"head_sequence": 7}'


@pytest.fixture
def dropping_server() -> Iterator[tuple[str, list[str]]]:
    """A server that closes the first two connections without an answer (``Server disconnected
    without sending a response``), then answers every request with head 7; the paths it saw."""
    seen: list[str] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            with lock:
                seen.append(f"{self.command} {self.path}")
                dropped = len(seen) <= 2
            if dropped:
                self.close_connection = True
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(HEAD_ANSWER)))
            self.end_headers()
            self.wfile.write(HEAD_ANSWER)

        do_GET = do_POST = do_DELETE = _answer

        def log_message(self, *args: object) -> None:
            pass

    with serving(Handler) as url:
        yield url, seen


def test_a_dropped_connection_is_retried_for_a_read(dropping_server: tuple[str, list[str]]) -> None:
    url, seen = dropping_server
    with SequencerClient(url, backoff=0) as client:
        assert client.head(TENANT, STORE) == 7
    assert len(seen) == 3


def test_a_connection_dropped_every_time_ends_as_a_transport_error_naming_the_url(
    dropping_server: tuple[str, list[str]],
) -> None:
    url, _ = dropping_server
    with SequencerClient(url, retries=1, backoff=0) as client, pytest.raises(TransportError) as error:
        client.head(TENANT, STORE)
    assert f"GET {url}/api/v1/head" in str(error.value)
    assert "after 2 attempts" in str(error.value)
    assert isinstance(error.value.__cause__, httpx.RemoteProtocolError)


def test_the_async_client_retries_a_dropped_connection(dropping_server: tuple[str, list[str]]) -> None:
    url, seen = dropping_server

    async def head() -> int:
        async with AsyncSequencerClient(url, backoff=0) as client:
            return await client.head(TENANT, STORE)

    assert asyncio.run(head()) == 7
    assert len(seen) == 3


NOT_SAFE_TO_REPEAT: dict[str, Callable[[SequencerClient], object]] = {
    "create_api_key": lambda client: client.create_api_key(AGENT),
    "register_agent": lambda client: client.register_agent("shop"),
    "register_signing_key": lambda client: client.register_signing_key(TENANT, AGENT, 1, bytes(32)),
    "revoke_api_key": lambda client: client.revoke_api_key(AGENT, "abcd"),
}


@pytest.mark.parametrize("call", NOT_SAFE_TO_REPEAT.values(), ids=NOT_SAFE_TO_REPEAT.keys())
def test_a_call_not_safe_to_repeat_is_not_resent_after_a_dropped_connection(
    call: Callable[[SequencerClient], object], dropping_server: tuple[str, list[str]]
) -> None:
    url, seen = dropping_server
    with SequencerClient(url, backoff=0) as client, pytest.raises(TransportError, match="outcome is unknown"):
        call(client)
    assert len(seen) == 1


def _failing(failure: type[httpx.TransportError], seen: list[httpx.Request]) -> httpx.MockTransport:
    """A transport whose first request fails with ``failure``; later ones answer a new API key."""

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            raise failure("failed", request=request)
        return httpx.Response(201, json={"apiKey": "ss_new"})

    return httpx.MockTransport(handler)


@pytest.mark.parametrize(
    "failure", [httpx.ReadTimeout, httpx.WriteError, httpx.ReadError], ids=lambda failure: failure.__name__
)
def test_minting_a_key_is_not_resent_after_a_failure_once_sent(failure: type[httpx.TransportError]) -> None:
    seen: list[httpx.Request] = []
    client = SequencerClient("http://sequencer.test", transport=_failing(failure, seen), backoff=0)

    with pytest.raises(TransportError, match="outcome is unknown"):
        client.create_api_key(AGENT)
    assert len(seen) == 1


@pytest.mark.parametrize("failure", [httpx.ConnectError, httpx.ConnectTimeout], ids=lambda failure: failure.__name__)
def test_minting_a_key_is_retried_when_the_connection_was_never_made(failure: type[httpx.TransportError]) -> None:
    seen: list[httpx.Request] = []
    client = SequencerClient("http://sequencer.test", transport=_failing(failure, seen), backoff=0)

    assert client.create_api_key(AGENT) == {"apiKey": "ss_new"}
    assert len(seen) == 2


def test_registering_a_signing_key_after_a_timeout_does_not_turn_into_a_conflict() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            raise httpx.ReadTimeout("the key was stored, the answer was late", request=request)
        return httpx.Response(409, json={"code": "agent_key_exists"})

    client = SequencerClient("http://sequencer.test", transport=httpx.MockTransport(handler), backoff=0)
    with pytest.raises(TransportError, match="outcome is unknown") as error:
        client.register_signing_key(TENANT, AGENT, 1, bytes(32))
    assert not isinstance(error.value, ConflictError)
    assert len(seen) == 1


@pytest.mark.parametrize("header", ["-5", "nan", "inf", "-inf", "soon", ""], ids=repr)
def test_an_unusable_retry_after_falls_back_to_the_backoff(header: str) -> None:
    seen: list[httpx.Request] = []
    busy = httpx.Response(503, headers={"Retry-After": header}, json={"code": "stream_busy"})
    answers = [busy, httpx.Response(200, json={"head_sequence": 7})]

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0)

    client = SequencerClient("http://sequencer.test", transport=httpx.MockTransport(handler), backoff=0)
    assert client.head(TENANT, STORE) == 7
    assert len(seen) == 2


def test_a_retry_after_date_in_the_past_is_retried_at_once() -> None:
    busy = httpx.Response(503, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, json={"code": "busy"})
    answers = [busy, httpx.Response(200, json={"head_sequence": 7})]
    client = SequencerClient("http://sequencer.test", transport=httpx.MockTransport(lambda _: answers.pop(0)))

    assert client.head(TENANT, STORE) == 7


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("17", 17.0),
        ("0.5", 0.5),
        (" 3 ", 3.0),
        ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),
        ("-1", None),
        ("nan", None),
        ("inf", None),
        ("", None),
        (None, None),
        ("Someday, 99 Foo 2015", None),
    ],
    ids=repr,
)
def test_retry_after_is_delay_seconds_or_an_http_date(header: str | None, seconds: float | None) -> None:
    now = datetime(2015, 10, 21, 7, 28, tzinfo=UTC)
    assert retry_after_seconds(header, now=now) == seconds


@pytest.mark.parametrize(("header", "seconds"), [("-5", 1.0), ("nan", 1.0), ("inf", 1.0), ("12", 12.0)], ids=repr)
def test_a_rate_limit_exposes_a_usable_retry_after(header: str, seconds: float) -> None:
    limited = httpx.Response(429, headers={"Retry-After": header}, json={"code": "rate_limited"})
    client = SequencerClient("http://sequencer.test", transport=httpx.MockTransport(lambda _: limited))

    with pytest.raises(RateLimitedError) as error:
        client.head(TENANT, STORE)
    assert error.value.retry_after == seconds


def test_a_503_is_not_retried_for_a_call_that_is_not_safe_to_repeat() -> None:
    # A write answered 503 may have committed: a second attempt could mint a second key.
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(503, headers={"Retry-After": "0"}, json={"code": "database_unavailable"})

    client = SequencerClient("http://sequencer.test", transport=httpx.MockTransport(handler), backoff=0)
    with pytest.raises(ServerError):
        client.create_api_key(AGENT, read_only=True)
    assert len(seen) == 1
