"""Periodic singleton jobs: two concurrent callers (separate connections), one runs."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from sequencer_project.db.singleton import singleton_job, try_run_singleton

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_concurrent_callers_run_the_job_once() -> None:
    started = threading.Event()
    release = threading.Event()
    runs: list[str] = []
    outcomes: dict[str, bool] = {}

    @singleton_job("tests.singleton.concurrent")
    def job(who: str) -> str:
        runs.append(who)
        started.set()
        release.wait(10)
        return who

    def caller(who: str) -> None:
        try:
            outcomes[who] = job(who) == who
        finally:
            connection.close()  # each thread has its own connection

    first = threading.Thread(target=caller, args=("first",))
    first.start()
    assert started.wait(10)
    second = threading.Thread(target=caller, args=("second",))
    second.start()
    second.join(10)  # returns at once: the lock is held by the first caller
    release.set()
    first.join(10)

    assert runs == ["first"]
    assert outcomes == {"first": True, "second": False}


def test_the_lock_is_released_after_success_and_after_failure() -> None:
    def explode() -> None:
        raise RuntimeError("job failed")

    with pytest.raises(RuntimeError):
        try_run_singleton("tests.singleton.release", explode)

    assert try_run_singleton("tests.singleton.release", lambda: 7) == (True, 7)
    assert try_run_singleton("tests.singleton.release", lambda: 8) == (True, 8)


def test_a_dead_leaders_lock_is_freed_with_its_connection() -> None:
    import psycopg

    from sequencer_project.db.locks import LockNamespace, job_lock_key

    params = connection.get_connection_params()
    leader = psycopg.connect(
        host=params.get("host"), port=params.get("port"), user=params.get("user"), dbname=params["dbname"]
    )
    leader.autocommit = True
    leader.execute("SELECT pg_advisory_lock(%s, %s)", [int(LockNamespace.PERIODIC_JOB), job_lock_key("tests.dead")])
    try:
        assert try_run_singleton("tests.dead", lambda: 1) == (False, None)
    finally:
        leader.close()  # the leader "dies"
    deadline = time.monotonic() + 5
    while try_run_singleton("tests.dead", lambda: 1) != (True, 1):
        assert time.monotonic() < deadline
        time.sleep(0.05)
