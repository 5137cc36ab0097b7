"""A hypothesis state machine of the sequencer against the real database (docs/reliability.md).

Random interleavings of appends (with and without ``base_version`` and ``command_id``), exact
replays and id clashes over two stores of one tenant must agree, after every step, with a few
lines of Python: each stream holds exactly its model's events as ``1..head``, a replay returns
the original number, and every rejection carries the model's reason. Complements the batch
property in ``test_event_ingest.py``.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import connection
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from events.envelopes import parse_legacy_request
from events.services.ingest import IngestResult, event_ingest_legacy
from tests.conftest import legacy_event

ENTITIES = ("a", "b")
COMMANDS = 3


def _ingest(event: dict[str, Any]) -> IngestResult:
    parsed = parse_legacy_request({"events": [event]}, max_events=1000, max_payload_bytes=1 << 20)
    assert parsed.tenant_id is not None
    assert parsed.store_id is not None
    return event_ingest_legacy(tenant_id=parsed.tenant_id, store_id=parsed.store_id, events=parsed.events, actor="test")


class Sequencer(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tenant_id = uuid.uuid4()
        self.stores = [uuid.uuid4(), uuid.uuid4()]
        self.commands = [str(uuid.uuid4()) for _ in range(COMMANDS)]
        self.streams: dict[uuid.UUID, list[dict[str, Any]]] = {store: [] for store in self.stores}
        self.versions: dict[tuple[uuid.UUID, str], int] = {}
        self.used_commands: set[tuple[uuid.UUID, str]] = set()

    def _expect_accepted(self, result: IngestResult, store: uuid.UUID, event: dict[str, Any]) -> None:
        self.streams[store].append(event)
        assert result.accepted == 1, result.rejections
        assert result.receipts[0].sequence_number == len(self.streams[store])
        assert not result.receipts[0].replayed

    def _expect_rejected(self, result: IngestResult, reason: str) -> None:
        assert result.accepted == 0
        assert [r.reason for r in result.rejections] == [reason]

    @rule(
        store=st.integers(0, 1),
        entity=st.sampled_from(ENTITIES),
        base=st.sampled_from(["none", "current", "stale", "ahead"]),
        command=st.none() | st.integers(0, COMMANDS - 1),
    )
    def append(self, store: int, entity: str, base: str, command: int | None) -> None:
        stream = self.stores[store]
        version = self.versions.get((stream, entity), 0)
        extra: dict[str, Any] = {"entity_id": entity}
        if base != "none":
            extra["base_version"] = {"current": version, "stale": version - 1, "ahead": version + 1}[base]
            if extra["base_version"] < 0:
                del extra["base_version"]
                base = "none"
        if command is not None:
            extra["command_id"] = self.commands[command]
        event = legacy_event(self.tenant_id, stream, **extra)

        result = _ingest(event)

        if command is not None and (stream, self.commands[command]) in self.used_commands:
            self._expect_rejected(result, "DuplicateCommandId")
        elif base in ("stale", "ahead"):
            self._expect_rejected(result, "VersionConflict")
        else:
            self._expect_accepted(result, stream, event)
            self.versions[(stream, entity)] = version + 1
            if command is not None:
                self.used_commands.add((stream, self.commands[command]))

    @rule(store=st.integers(0, 1), pick=st.integers(0, 10_000))
    def replay(self, store: int, pick: int) -> None:
        events = self.streams[self.stores[store]]
        if not events:
            return
        index = pick % len(events)

        result = _ingest(events[index])

        assert result.accepted == 0
        assert result.rejections == []
        assert (result.receipts[0].sequence_number, result.receipts[0].replayed) == (index + 1, True)

    @rule(store=st.integers(0, 1), pick=st.integers(0, 10_000))
    def clash(self, store: int, pick: int) -> None:
        events = self.streams[self.stores[store]]
        if not events:
            return
        original = events[pick % len(events)]

        result = _ingest({**original, "payload": {"changed": pick}})

        self._expect_rejected(result, "DuplicateEventId")

    @invariant()
    def streams_hold_exactly_the_model(self) -> None:
        with connection.cursor() as cursor:
            for store, events in self.streams.items():
                cursor.execute(
                    "SELECT event_id::text, sequence_number FROM events"
                    " WHERE tenant_id = %s AND store_id = %s ORDER BY sequence_number",
                    [self.tenant_id, store],
                )
                rows = cursor.fetchall()
                assert [row[0] for row in rows] == [e["event_id"] for e in events]
                assert [row[1] for row in rows] == list(range(1, len(events) + 1))


@pytest.mark.django_db(transaction=True)
def test_random_interleavings_agree_with_the_model() -> None:
    run_state_machine_as_test(
        Sequencer,
        settings=settings(
            max_examples=15, stateful_step_count=25, deadline=None, suppress_health_check=list(HealthCheck)
        ),
    )
