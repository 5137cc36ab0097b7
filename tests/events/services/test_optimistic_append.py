"""The optimistic append against the real database: whatever the head guess, it answers and
stores exactly what the locked path would.

The property runs random request sequences (replays, reused event and command ids,
``base_version``) on two empty streams of two tenants: once with the optimistic append on and a
head guess that is sometimes right, sometimes stale or ahead (as when another process wrote the
stream), once with it off (every request locks and classifies). Receipts, rejections and stored
rows must be equal, and the stream gap-free. Payloads are sealed at rest (tests/settings.py).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.services import ingest
from events.services.ingest import _run_group
from streams import head_hints
from tests.events.helpers import head_of, stored_sequences
from tests.events.services.test_event_ingest_group_commit import _answer, _job, _stored, event_spec
from tests.sequencer_project.prepared_helpers import deallocate_prepared, prepared_names

pytestmark = pytest.mark.django_db(transaction=True)

guess_shift = st.sampled_from([0, 0, 0, -1, -2, 1, 3, None])  # None: this process never saw the head


def _spec() -> dict[str, Any]:
    """A new event of entity ``order-1`` (no command id, no base_version)."""
    return {"event_id": uuid.uuid4(), "variant": "a", "entity_id": "order-1", "command_id": None, "base_version": None}


def shift_guess(key: tuple[uuid.UUID, uuid.UUID], shift: int | None) -> None:
    """Move this process's guess of a stream's head, as another process's writes would; None
    forgets it (a stream this process never wrote)."""
    hints = head_hints.SHARED.get()
    if shift is None:
        hints.forget(*key)
    elif (guess := hints.guess(*key)) is not None:
        hints.remember(*key, max(guess + shift, 0))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    requests=st.lists(st.lists(event_spec, min_size=1, max_size=3), min_size=1, max_size=6),
    shifts=st.lists(guess_shift, min_size=6, max_size=6),
)
def test_the_optimistic_append_answers_and_stores_what_the_locked_path_would(
    requests: list[list[dict[str, Any]]], shifts: list[int | None]
) -> None:
    optimistic_tenant, locked_tenant, store_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

    optimistic = []
    for specs, shift in zip(requests, shifts, strict=False):
        shift_guess((optimistic_tenant, store_id), shift)
        optimistic.append(_run_group([_job(optimistic_tenant, store_id, specs)])[0])
    with override_settings(INGEST_OPTIMISTIC_APPEND=False):
        locked = [_run_group([_job(locked_tenant, store_id, specs)])[0] for specs in requests]

    assert [_answer(r) for r in optimistic] == [_answer(r) for r in locked]  # type: ignore[arg-type]
    final_head = head_of(locked_tenant, store_id)
    assert head_of(optimistic_tenant, store_id) == final_head
    assert _stored(optimistic_tenant) == _stored(locked_tenant)
    assert stored_sequences(optimistic_tenant, store_id) == list(range(1, final_head + 1))


def test_a_written_stream_is_appended_in_one_statement_and_a_replay_still_gets_its_receipt(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tenant_id, store_id = uuid.uuid4(), uuid.uuid4()
    spec = {"event_id": uuid.uuid4(), "variant": "a", "entity_id": "order-1", "command_id": None, "base_version": None}
    first = _run_group([_job(tenant_id, store_id, [spec])])[0]  # locked: the stream is new
    assert head_hints.SHARED.get().guess(tenant_id, store_id) == 1

    calls = _counted_appends(monkeypatch)
    second = _run_group([_job(tenant_id, store_id, [{**spec, "event_id": uuid.uuid4()}])])[0]
    replay = _run_group([_job(tenant_id, store_id, [spec])])[0]

    assert _answer(first)[1][0][1:] == (1, False)  # type: ignore[arg-type]
    assert _answer(second)[1][0][1:] == (2, False)  # type: ignore[arg-type]
    assert _answer(replay)[1] == [(spec["event_id"], 1, True)]  # type: ignore[arg-type]
    assert len(calls) == 2  # second: appended alone; replay: tried alone, refused, then locked
    assert stored_sequences(tenant_id, store_id) == [1, 2]


def test_a_stream_another_process_keeps_moving_is_written_in_its_turn_for_a_while(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Both optimistic attempts find the head moved (another web process writing the same hot
    stream): the request is decided by the locked path, and until ``CONTENDED_SECONDS`` have
    passed the stream's groups are written in the stream's turn (``streams.turns``): one
    statement from the head the last writer left, no locked transaction."""
    tenant_id, store_id = uuid.uuid4(), uuid.uuid4()
    key = (tenant_id, store_id)

    _run_group([_job(tenant_id, store_id, [_spec()])])  # locked: the stream is new; head 1
    appends: list[Any] = []
    locked_groups: list[int] = []
    original, original_locked = ingest._execute_alone, ingest._run_jobs

    def other_process_writes_first(sql: Any, params: dict[str, Any]) -> Any:
        appends.append(sql)
        with override_settings(INGEST_OPTIMISTIC_APPEND=False):  # the other process's write
            _run_group([_job(tenant_id, store_id, [_spec()])])
        return original(sql, params)

    monkeypatch.setattr(ingest, "_execute_alone", other_process_writes_first)
    contended = _run_group([_job(tenant_id, store_id, [_spec()])])[0]
    # Tried from head 1, then from the head it saw, then in its turn: moved every time (heads 2-4
    # are the other's), so the locked path decided.
    assert len(appends) == 3
    assert _answer(contended)[1][0][1] == 5  # type: ignore[arg-type]

    def counted(sql: Any, params: dict[str, Any]) -> Any:
        appends.append(sql)
        return original(sql, params)

    def counted_locked(jobs: Any) -> Any:
        locked_groups.append(len(jobs))
        return original_locked(jobs)

    monkeypatch.setattr(ingest, "_execute_alone", counted)
    monkeypatch.setattr(ingest, "_run_jobs", counted_locked)
    in_turn = _run_group([_job(tenant_id, store_id, [_spec()])])[0]
    assert len(appends) == 4  # one statement, in the stream's turn
    assert locked_groups == []
    assert _answer(in_turn)[1][0][1] == 6  # type: ignore[arg-type]

    monkeypatch.setitem(ingest._contended_until, key, 0.0)  # the contention has expired
    optimistic = _run_group([_job(tenant_id, store_id, [_spec()])])[0]
    assert len(appends) == 5  # one optimistic statement, no turn
    assert _answer(optimistic)[1][0][1] == 7  # type: ignore[arg-type]
    assert key not in ingest._contended_until
    assert locked_groups == []
    assert stored_sequences(tenant_id, store_id) == [1, 2, 3, 4, 5, 6, 7]


def test_a_contended_stream_whose_remembered_head_is_stale_is_decided_by_the_locked_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In its turn a stream can still have moved (another server, a process that has not found it
    contended): the statement writes nothing, the locked path decides, and the head it saw is
    remembered for the next turn."""
    tenant_id, store_id = uuid.uuid4(), uuid.uuid4()
    key = (tenant_id, store_id)
    for _ in range(3):
        _run_group([_job(tenant_id, store_id, [_spec()])])
    head_hints.SHARED.get().remember(tenant_id, store_id, 1)  # as if written elsewhere since
    monkeypatch.setitem(ingest._contended_until, key, time.monotonic() + 60)

    decided = _run_group([_job(tenant_id, store_id, [_spec()])])[0]

    assert _answer(decided)[1][0][1] == 4  # type: ignore[arg-type]
    assert head_hints.SHARED.get().guess(tenant_id, store_id) == 4
    in_turn = _run_group([_job(tenant_id, store_id, [_spec()])])[0]
    assert _answer(in_turn)[1][0][1] == 5  # type: ignore[arg-type]
    assert stored_sequences(tenant_id, store_id) == [1, 2, 3, 4, 5]


def _counted_appends(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The statements the optimistic append runs from now on (each still runs)."""
    calls: list[Any] = []
    original = ingest._execute_alone

    def counting(statement: Any, params: dict[str, Any]) -> Any:
        calls.append(statement)
        return original(statement, params)

    monkeypatch.setattr(ingest, "_execute_alone", counting)
    return calls


def _appends_prepared() -> int:
    return len(prepared_names(connection, "sequencer_append%"))


@pytest.mark.parametrize("server_side_binding", [True, False])
def test_the_append_is_a_named_prepared_statement_only_with_server_side_binding(
    monkeypatch: pytest.MonkeyPatch, server_side_binding: bool
) -> None:
    """``DB_SERVER_SIDE_BINDING=false`` (a pooler in transaction mode that cannot keep prepared
    statements): the append goes as the unnamed statement and leaves nothing prepared on the
    session; with it on, the append is prepared once per session. The answers are the same."""
    monkeypatch.setitem(connection.settings_dict["OPTIONS"], "server_side_binding", server_side_binding)
    deallocate_prepared(connection, "sequencer_append%")  # nothing of ours prepared on this session any more
    tenant_id, store_id = uuid.uuid4(), uuid.uuid4()
    _run_group([_job(tenant_id, store_id, [_spec()])])  # locked: the stream is new
    appended = _counted_appends(monkeypatch)
    second = _run_group([_job(tenant_id, store_id, [_spec()])])[0]
    third = _run_group([_job(tenant_id, store_id, [_spec()])])[0]

    assert len(appended) == 2  # both optimistic, one statement each
    assert _answer(second)[1][0][1:] == (2, False)  # type: ignore[arg-type]
    assert _answer(third)[1][0][1:] == (3, False)  # type: ignore[arg-type]
    assert _appends_prepared() == (1 if server_side_binding else 0)
    assert stored_sequences(tenant_id, store_id) == [1, 2, 3]
