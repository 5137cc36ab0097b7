"""The hook a waiting follower of a group commit asks (``events/services/ingest.py``): it keeps the
request's pooled connection while the pool could serve another thread without it, and hands it
back once someone waits for one or the pool has nothing else to give.

Real pool, real PostgreSQL, real threads; the follower's side runs in its own thread (a
connection belongs to the thread that opened it).
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import close_old_connections, connection, transaction

from events.services.ingest import _connection_releaser
from tests.sequencer_project.pool_helpers import default_pool, hold_until, make_someone_wait, obtainable

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_connection_is_kept_until_someone_waits_and_then_handed_back() -> None:
    pool = default_pool()
    close_old_connections()
    assert obtainable(pool) >= 2
    asked_once, someone_waits, done = threading.Event(), threading.Event(), threading.Event()
    answers: list[bool] = []
    held_after: list[bool] = []

    def follower() -> None:
        try:
            connection.ensure_connection()
            release = _connection_releaser()
            answers.append(release())  # nobody waits: keep it
            held_after.append(connection.connection is not None)
            asked_once.set()
            assert someone_waits.wait(30)
            answers.append(release())  # the same hook asked again, now someone waits
            held_after.append(connection.connection is not None)
        finally:
            done.set()
            close_old_connections()

    held: list[Any] = []
    got: list[Any] = []
    thread = threading.Thread(target=follower)
    waiter = threading.Thread(target=lambda: got.append(pool.getconn(timeout=20)))
    thread.start()
    try:
        assert asked_once.wait(30)
        make_someone_wait(pool, waiter, held)  # every other connection held: the waiter waits
        someone_waits.set()
        waiter.join(30)
        assert done.wait(30)
        assert answers == [False, True]
        assert held_after == [True, False]
        assert len(got) == 1  # the waiter got the connection the follower handed back
    finally:
        someone_waits.set()
        thread.join(30)
        if waiter.ident is not None:
            waiter.join(30)
        for conn in held + got:
            pool.putconn(conn)


def test_the_connection_goes_back_at_once_when_the_pool_has_nothing_else_to_give() -> None:
    """Nobody waits yet, but every other connection is out: the leader of the follower's group
    would wait for this one, so it is handed back without waiting for the next ask."""
    pool = default_pool()
    close_old_connections()
    follower_holds, pool_full, done = threading.Event(), threading.Event(), threading.Event()
    answers: list[bool] = []
    held_after: list[bool] = []

    def follower() -> None:
        try:
            connection.ensure_connection()
            follower_holds.set()
            assert pool_full.wait(30)
            answers.append(_connection_releaser()())
            held_after.append(connection.connection is not None)
        finally:
            done.set()
            close_old_connections()

    held: list[Any] = []
    thread = threading.Thread(target=follower)
    thread.start()
    try:
        assert follower_holds.wait(30)
        hold_until(pool, 0, held)  # no idle connection and no room to open one; nobody waits
        assert not pool.get_stats().get("requests_waiting")
        pool_full.set()
        assert done.wait(30)
        assert answers == [True]
        assert held_after == [False]
        assert obtainable(pool) == 1  # the follower's connection, back in the pool
    finally:
        pool_full.set()
        thread.join(30)
        for conn in held:
            pool.putconn(conn)


def test_nothing_is_handed_back_inside_a_transaction_or_without_a_connection() -> None:
    outcome: dict[str, Any] = {}

    def follower() -> None:
        try:
            close_old_connections()
            connection.close()
            outcome["without"] = _connection_releaser()()
            with transaction.atomic():
                outcome["inside"] = _connection_releaser()()
                outcome["kept_inside"] = connection.connection is not None
        finally:
            close_old_connections()

    thread = threading.Thread(target=follower)
    thread.start()
    thread.join(30)

    assert outcome == {"without": True, "inside": True, "kept_inside": True}
