"""Client logic that needs no server: retry policy and error typing (httpx.MockTransport)."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from ves.client import (
    AsyncSequencerClient,
    ConflictError,
    NotFoundError,
    RateLimitedError,
    SequencerClient,
    ServerError,
    TransportError,
)

STREAM = (uuid.uuid4(), uuid.uuid4())


def _client(responses: list[httpx.Response], seen: list[httpx.Request]) -> SequencerClient:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return responses.pop(0)

    return SequencerClient("http://sequencer.test", "ss_k", transport=httpx.MockTransport(handler), backoff=0)


def test_a_busy_stream_is_retried_after_retry_after() -> None:
    seen: list[httpx.Request] = []
    busy = httpx.Response(503, headers={"Retry-After": "0"}, json={"code": "stream_busy"})
    client = _client([busy, httpx.Response(200, json={"head_sequence": 7})], seen)

    assert client.head(*STREAM) == 7
    assert len(seen) == 2
    assert seen[0].headers["Authorization"] == "ApiKey ss_k"


def test_a_persistent_503_becomes_a_server_error_with_its_code() -> None:
    seen: list[httpx.Request] = []
    busy = [httpx.Response(503, headers={"Retry-After": "0"}, json={"code": "stream_busy"}) for _ in range(4)]

    with pytest.raises(ServerError) as error:
        _client(busy, seen).head(*STREAM)

    assert (error.value.code, len(seen)) == ("stream_busy", 4)


def test_a_429_is_not_retried_and_exposes_retry_after() -> None:
    seen: list[httpx.Request] = []
    limited = httpx.Response(429, headers={"Retry-After": "17"}, json={"code": "rate_limited", "detail": "slow down"})

    with pytest.raises(RateLimitedError) as error:
        _client([limited], seen).head(*STREAM)

    assert (error.value.retry_after, error.value.detail, len(seen)) == (17.0, "slow down", 1)


def test_a_non_json_error_body_still_gets_a_code() -> None:
    with pytest.raises(NotFoundError) as error:
        _client([httpx.Response(404, text="nope")], []).agent(uuid.uuid4())

    assert (error.value.code, error.value.detail) == ("http_404", "nope")


def test_append_fixes_ids_and_times_before_sending() -> None:
    seen: list[httpx.Request] = []
    client = _client([httpx.Response(200, json={"events_accepted": 1, "events_rejected": 0})], seen)

    client.append([{"tenant_id": str(STREAM[0]), "store_id": str(STREAM[1]), "payload": {}}])

    sent = httpx.Response(200, content=seen[0].content).json()["events"][0]
    assert uuid.UUID(sent["event_id"])
    assert sent["created_at"].endswith("Z")


def _timing_out(failures: int, seen: list[httpx.Request]) -> httpx.MockTransport:
    """A transport whose first ``failures`` requests time out; later ones answer head 7 (and, to an
    append, that nothing was accepted or rejected)."""

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) <= failures:
            raise httpx.ConnectTimeout("no answer", request=request)
        return httpx.Response(200, json={"head_sequence": 7, "events_accepted": 0, "events_rejected": 0})

    return httpx.MockTransport(handler)


def test_an_append_that_timed_out_is_resent_with_the_same_bytes() -> None:
    seen: list[httpx.Request] = []
    client = SequencerClient("http://sequencer.test", transport=_timing_out(2, seen), backoff=0)

    client.append([{"tenant_id": str(STREAM[0]), "store_id": str(STREAM[1]), "payload": {}}])

    assert len(seen) == 3
    assert seen[0].content == seen[1].content == seen[2].content


def test_a_server_that_never_answers_is_a_transport_error_after_every_retry() -> None:
    seen: list[httpx.Request] = []
    client = SequencerClient("http://sequencer.test", transport=_timing_out(99, seen), retries=2, backoff=0)

    with pytest.raises(TransportError, match="after 3 attempts"):
        client.head(*STREAM)
    assert len(seen) == 3


def test_the_async_client_retries_like_the_sync_one() -> None:
    seen: list[httpx.Request] = []
    answers = iter([httpx.Response(503, headers={"Retry-After": "0"}, json={"code": "stream_busy"})])

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            raise httpx.ReadTimeout("no answer", request=request)
        return next(answers, httpx.Response(200, json={"head_sequence": 7}))

    async def head() -> int:
        async with AsyncSequencerClient(
            "http://sequencer.test", transport=httpx.MockTransport(handler), backoff=0
        ) as client:
            return await client.head(*STREAM)

    assert asyncio.run(head()) == 7
    assert len(seen) == 3


def _not_committed() -> httpx.Response:
    return httpx.Response(409, json={"code": "event_not_committed", "status": 409})


def test_wait_for_bundle_asks_again_while_the_event_is_not_sealed() -> None:
    seen: list[httpx.Request] = []
    event_id = uuid.uuid4()
    client = _client([_not_committed(), _not_committed(), httpx.Response(200, json={"event": 1})], seen)

    assert client.wait_for_bundle(event_id, timeout=5, poll_interval=0.01) == {"event": 1}
    assert [r.url.path for r in seen] == [f"/api/v1/ves/events/{event_id}/bundle"] * 3


def test_wait_for_bundle_raises_another_conflict_at_once_and_times_out_on_a_stuck_worker() -> None:
    seen: list[httpx.Request] = []
    gap = httpx.Response(409, json={"code": "sequence_gap", "status": 409})
    with pytest.raises(ConflictError) as refused:
        _client([gap], seen).wait_for_bundle(uuid.uuid4(), timeout=5, poll_interval=0.01)
    assert refused.value.code == "sequence_gap"
    assert len(seen) == 1

    seen.clear()
    with pytest.raises(TimeoutError):
        _client([_not_committed() for _ in range(100)], seen).wait_for_bundle(
            uuid.uuid4(), timeout=0.05, poll_interval=0.01
        )
    assert 2 <= len(seen) < 100


def test_the_async_client_waits_for_a_bundle_too() -> None:
    responses = [_not_committed(), httpx.Response(200, json={"event": 2})]

    async def run() -> object:
        transport = httpx.MockTransport(lambda request: responses.pop(0))
        async with AsyncSequencerClient("http://sequencer.test", "ss_k", transport=transport, backoff=0) as client:
            return await client.wait_for_bundle(uuid.uuid4(), ves=False, timeout=5, poll_interval=0.01)

    assert asyncio.run(run()) == {"event": 2}
    assert responses == []


def test_waiting_for_a_bundle_leaves_the_retry_budget_to_503s_and_failures() -> None:
    """Polls are not attempts: after many 409s a 503 is still retried only ``retries`` times."""
    seen: list[httpx.Request] = []
    busy = [httpx.Response(503, headers={"Retry-After": "0"}, json={"code": "stream_busy"}) for _ in range(40)]
    client = _client([*(_not_committed() for _ in range(6)), *busy], seen)

    with pytest.raises(ServerError):
        client.wait_for_bundle(uuid.uuid4(), timeout=5, poll_interval=0.001)
    assert len(seen) == 6 + client.retries + 1
