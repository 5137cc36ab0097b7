"""AppendBatcher loses no event silently and keeps a stream's order: a bad event is refused by
``add``, any failure of a flush (the timer's too) is re-raised with its events, and a stream's
batches are sent one at a time in the order they were added (docs/sdk.md, "Batching")."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime

import httpx
import pytest

from ves.client import AppendBatcher, InvalidArgumentError, SequencerClient

TENANT, STORE = str(uuid.uuid4()), str(uuid.uuid4())
WAIT = 10.0  # seconds a test waits for another thread before failing, not a timing assertion


def _event(n: int) -> dict[str, object]:
    return {"tenant_id": TENANT, "store_id": STORE, "entity_type": "order", "entity_id": str(n), "payload": {}}


def _entity_ids(request: httpx.Request) -> list[str]:
    return [event["entity_id"] for event in json.loads(request.content)["events"]]


def _accepting(appended: list[list[str]]) -> SequencerClient:
    def handler(request: httpx.Request) -> httpx.Response:
        appended.append(_entity_ids(request))
        return httpx.Response(200, json={"events_accepted": len(appended[-1]), "events_rejected": 0})

    return SequencerClient("http://sequencer.test", transport=httpx.MockTransport(handler))


def test_an_event_that_is_not_json_is_refused_by_add_and_the_others_are_sent() -> None:
    appended: list[list[str]] = []
    with AppendBatcher(_accepting(appended), max_events=10, max_delay=60) as batcher:
        batcher.add(_event(1))
        with pytest.raises(InvalidArgumentError, match=r"event\.payload\.at is not JSON"):
            batcher.add({**_event(2), "payload": {"at": datetime.now(UTC)}})
        batcher.add(_event(3))
    assert appended == [["1", "3"]]


def test_an_event_without_its_stream_is_refused_by_add() -> None:
    batcher = AppendBatcher(_accepting([]), max_events=10, max_delay=60)
    with pytest.raises(InvalidArgumentError, match=r"event\.store_id must be a UUID"):
        batcher.add({"tenant_id": TENANT, "payload": {}})


def test_any_failure_of_a_timer_flush_is_re_raised_with_its_events() -> None:
    called = threading.Event()

    def handler(request: httpx.Request) -> httpx.Response:
        called.set()
        raise RuntimeError("the transport broke")

    client = SequencerClient("http://sequencer.test", transport=httpx.MockTransport(handler))
    batcher = AppendBatcher(client, max_events=10, max_delay=0.01)
    batcher.add(_event(1))
    assert called.wait(WAIT), "the timer never flushed"

    with pytest.raises(RuntimeError, match="the transport broke") as error:
        batcher.flush()  # waits for the timer's flush, then raises what it kept
    assert [event["entity_id"] for event in error.value.events] == ["1"]  # type: ignore[attr-defined]
    batcher.close()  # raised once, not again


def test_a_full_buffer_is_sent_after_the_timer_flush_under_way() -> None:
    first_started, second_started = threading.Event(), threading.Event()
    processed: list[list[str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        ids = _entity_ids(request)
        if not first_started.is_set():
            first_started.set()
            second_started.wait(1.0)  # another send arriving now would overtake this one
        else:
            second_started.set()
        processed.append(ids)
        return httpx.Response(200, json={"events_accepted": len(ids), "events_rejected": 0})

    client = SequencerClient("http://sequencer.test", transport=httpx.MockTransport(handler))
    with AppendBatcher(client, max_events=2, max_delay=0.01) as batcher:
        batcher.add(_event(1))
        assert first_started.wait(WAIT), "the timer never flushed"
        batcher.add(_event(2))
        batcher.add(_event(3))  # full: flushed from this thread while the timer's send is under way
    assert processed == [["1"], ["2", "3"]]
