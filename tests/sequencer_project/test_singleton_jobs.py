"""Periodic singleton jobs: two concurrent callers (separate connections), one runs."""

from __future__ import annotations

import contextlib
import threading
import time

import pytest
from django.db import Error as DatabaseFailure
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


def _terminate_own_backend() -> None:
    """Ends this thread's database session from another connection, as a server restart would."""
    import psycopg
    from django.conf import settings

    pid = connection.connection.info.backend_pid
    db = settings.DATABASES["default"]
    with psycopg.connect(
        host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"], autocommit=True
    ) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])


def _failed_runs(name: str) -> float:
    from sequencer_project import metrics

    return float(metrics.SINGLETON_RUNS.labels(job=name, outcome="failed")._value.get())


def test_a_job_whose_lock_cannot_be_taken_counts_as_failed() -> None:
    name = "tests.singleton.database-away"
    connection.ensure_connection()
    _terminate_own_backend()
    before = _failed_runs(name)

    with pytest.raises(DatabaseFailure):
        try_run_singleton(name, lambda: 1)

    assert _failed_runs(name) == before + 1
    connection.close()
    assert try_run_singleton(name, lambda: 2) == (True, 2)  # the next run takes a fresh session


def test_a_session_lost_under_the_job_keeps_the_jobs_own_error_and_frees_the_lock() -> None:
    name = "tests.singleton.session-lost"

    def dies_with_its_session() -> None:
        _terminate_own_backend()
        raise ValueError("the job's own failure")

    with pytest.raises(ValueError, match="the job's own failure"):
        try_run_singleton(name, dies_with_its_session)

    assert try_run_singleton(name, lambda: 3) == (True, 3)  # no session holds the lock any more


def test_a_failed_unlock_on_a_live_session_ends_the_session_and_so_frees_the_lock() -> None:
    """The job leaves its connection in a failed transaction, so the unlock cannot run on a session
    that is still alive and still holds the lock. Handing the connection back to the pool would keep
    both; the session is ended instead, and another session takes the lock at once."""
    import psycopg
    from django.conf import settings
    from django.db import transaction

    from sequencer_project.db.locks import LockNamespace, job_lock_key

    name = "tests.singleton.unlock-refused"

    def leaves_a_failed_transaction() -> int:
        # The transaction is then aborted: every statement is refused until it rolls back.
        with connection.cursor() as cursor, contextlib.suppress(DatabaseFailure):
            cursor.execute("SELECT 1 / 0")
        return 4

    with transaction.atomic():
        assert try_run_singleton(name, leaves_a_failed_transaction) == (True, 4)

    db = settings.DATABASES["default"]
    with psycopg.connect(
        host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"], autocommit=True
    ) as other:
        taken = other.execute(
            "SELECT pg_try_advisory_lock(%s, %s)", [int(LockNamespace.PERIODIC_JOB), job_lock_key(name)]
        ).fetchone()
    assert taken == (True,)
