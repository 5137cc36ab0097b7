"""The ingest retry loop shared by the legacy and VES paths (no database: ``run_once`` is a stub)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

import pytest
from django.db import DatabaseError

from events.services.ingest_retry import MAX_ATTEMPTS, EventIdRaceError, ingest_with_retries

TENANT, STORE = uuid.UUID(int=1), uuid.UUID(int=2)
LOG = logging.getLogger("tests.ingest_retry")


class _Sqlstate(Exception):
    def __init__(self, sqlstate: str) -> None:
        self.sqlstate = sqlstate


def _aborted(sqlstate: str) -> DatabaseError:
    error = DatabaseError("aborted")
    error.__cause__ = _Sqlstate(sqlstate)
    return error


def _failing(failures: list[BaseException]) -> tuple[Callable[[], str], list[int]]:
    """``run_once`` raising ``failures`` in turn, then returning ``"done"``; and its call count."""
    calls: list[int] = []

    def run_once() -> str:
        calls.append(1)
        if failures:
            raise failures.pop(0)
        return "done"

    return run_once, calls


def _run(run_once: Callable[[], str], label: str = "") -> str:
    return ingest_with_retries(run_once, tenant_id=TENANT, store_id=STORE, label=label, log=LOG)


def test_a_race_or_a_retryable_abort_runs_the_transaction_again(caplog: pytest.LogCaptureFixture) -> None:
    run_once, calls = _failing([EventIdRaceError(), _aborted("40P01")])
    with caplog.at_level(logging.INFO, logger=LOG.name):
        assert _run(run_once, "VES ") == "done"
    assert len(calls) == 3
    assert caplog.messages == [
        f"VES event id race on {TENANT}/{STORE}, attempt 1; retrying",
        "retrying VES ingest after sqlstate 40P01, attempt 2",
    ]


def test_any_other_error_is_raised_at_once() -> None:
    run_once, calls = _failing([_aborted("23505")])
    with pytest.raises(DatabaseError, match="aborted"):
        _run(run_once)
    assert len(calls) == 1


def test_a_retryable_abort_on_the_last_attempt_is_raised() -> None:
    run_once, calls = _failing([_aborted("40001") for _ in range(MAX_ATTEMPTS)])
    with pytest.raises(DatabaseError, match="aborted"):
        _run(run_once)
    assert len(calls) == MAX_ATTEMPTS


def test_races_on_every_attempt_give_up_with_the_label() -> None:
    run_once, calls = _failing([EventIdRaceError() for _ in range(MAX_ATTEMPTS)])
    with pytest.raises(DatabaseError, match=r"^ingest could not complete after retries$"):
        _run(run_once)
    assert len(calls) == MAX_ATTEMPTS
