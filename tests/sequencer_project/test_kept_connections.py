"""A server thread keeps its pooled connection between API requests, the WSGI endpoints' and the
API handler's, and gives it back whenever keeping it could hurt
(``sequencer_project/db/kept_connections.py``, ADR 0024, ADR 0042).

Real pool, real PostgreSQL, real threads: the connection a request used is observed from the
thread that served it; what "handed back" means is shown by who can get a connection next.
"""

from __future__ import annotations

import gc
import threading
import time
import wsgiref.util
from typing import Any

import psycopg
import pytest
from django.db import close_old_connections, connection

from events.api import head, views
from sequencer_project import wsgi as served
from sequencer_project.api_handler import route_by_path
from sequencer_project.db.kept_connections import pool_has_room
from tests.conftest import Persona
from tests.sequencer_project.pool_helpers import default_pool, hold_until, make_someone_wait, obtainable

pytestmark = pytest.mark.django_db(transaction=True)

drf_only = route_by_path(api=served.api, site=served.site)  # every API operation through its DRF view


def _head(persona: Persona, app: Any = None) -> int:
    query = f"tenant_id={persona.tenant_id}&store_id={persona.store_id}"
    status = _serve(app or served.application, "/api/v1/head", query, HTTP_AUTHORIZATION=f"ApiKey {persona.key}")
    return int(status.split()[0])


def _serve(app: Any, path: str, query: str = "", **extra: str) -> str:
    """One GET as the server makes it, Django's request signals connected (``tests.wsgi.call``
    disconnects their connection closing, as Django's test client does); the status line."""
    environ: dict[str, Any] = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query, **extra}
    wsgiref.util.setup_testing_defaults(environ)
    started: list[str] = []
    response = app(environ, lambda status, headers, exc_info=None: started.append(status))
    b"".join(response)
    if hasattr(response, "close"):
        response.close()
    return started[0]


def _in_thread(work: Any) -> Any:
    """Run ``work()`` in a new thread that ends afterwards; its result (or its exception)."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive()
    gc.collect()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def test_a_thread_keeps_its_connection_from_one_request_to_the_next(owner: Persona) -> None:
    def serve() -> None:
        assert _head(owner) == 200
        first = connection.connection
        assert first is not None
        assert not first.closed

        assert _head(owner) == 200

        assert connection.connection is first
        close_old_connections()  # what Django's handler does before any other request of the thread
        assert connection.connection is None

    _in_thread(serve)


def test_the_api_handlers_requests_keep_it_too_and_the_sites_hand_it_back(owner: Persona) -> None:
    def serve() -> None:
        assert _head(owner, drf_only) == 200  # the DRF view, through the API handler
        first = connection.connection
        assert first is not None

        assert _head(owner, drf_only) == 200
        assert _head(owner) == 200  # the WSGI endpoint

        assert connection.connection is first
        assert _serve(served.application, "/admin/login/") == "200 OK"  # the site: Django's handler
        assert connection.connection is None

    _in_thread(serve)


def test_a_failed_request_through_the_api_handler_hands_its_connection_back(
    owner: Persona, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        connection.ensure_connection()
        raise RuntimeError("boom")

    monkeypatch.setattr(views, "head_answer", broken)

    def serve() -> None:
        assert _head(owner, drf_only) == 500
        assert connection.connection is None
        assert _head(owner) == 200  # the endpoint keeps its own reference
        assert connection.connection is not None

    _in_thread(serve)


def test_nothing_is_kept_when_keeping_is_switched_off(owner: Persona, settings: Any) -> None:
    settings.DB_POOL_KEEP_SECONDS = 0

    assert _head(owner) == 200

    assert connection.connection is None


def test_a_failed_request_hands_its_connection_back(owner: Persona, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        connection.ensure_connection()
        raise RuntimeError("boom")

    monkeypatch.setattr(head, "head_answer", broken)

    assert _head(owner) == 500

    assert connection.connection is None


def test_threads_that_end_give_their_connections_back(owner: Persona) -> None:
    """More threads than the pool holds, one after another, each ending after one request: were a
    dead thread's connection lost, the pool would run dry and a request would time out (503)."""
    pool_size = default_pool().max_size

    statuses = [_in_thread(lambda: _head(owner)) for _ in range(pool_size + 3)]

    assert statuses == [200] * (pool_size + 3)


def test_a_kept_connection_goes_back_when_someone_waits_for_one(owner: Persona) -> None:
    pool = default_pool()
    close_old_connections()
    assert obtainable(pool) >= 2  # so that the server thread may keep its connection
    served_once, go_again, done = threading.Event(), threading.Event(), threading.Event()
    statuses: list[int] = []
    kept: list[bool] = []

    def server_thread() -> None:  # keeps its connection, then serves again while someone waits
        statuses.append(_head(owner))
        kept.append(connection.connection is not None)
        served_once.set()
        go_again.wait(30)
        statuses.append(_head(owner))
        done.set()
        close_old_connections()

    thread = threading.Thread(target=server_thread)
    thread.start()
    held: list[Any] = []
    got: list[Any] = []
    waiter = threading.Thread(target=lambda: got.append(pool.getconn(timeout=20)))
    try:
        assert served_once.wait(30)
        assert kept == [True]
        make_someone_wait(pool, waiter, held)  # every other connection held: the waiter waits
        go_again.set()
        waiter.join(30)
        assert done.wait(30)
        assert statuses == [200, 200]
        assert len(got) == 1  # the kept connection went back at the end of the second request
    finally:
        go_again.set()
        thread.join(30)
        if waiter.ident is not None:  # started
            waiter.join(30)
        for conn in held + got:
            pool.putconn(conn)


def test_a_connection_drawn_again_starts_a_new_keeping_period(owner: Persona, settings: Any) -> None:
    """The pool may give a thread back the very connection it kept and handed back: that is a new
    checkout, kept again, not one as old as the first checkout and handed back after every
    request (the guard of the first period used to match it: docs/performance.md, "Kept
    connections after their first 30 s")."""
    settings.DB_POOL_KEEP_SECONDS = 0.5
    pool = default_pool()
    close_old_connections()
    assert obtainable(pool) >= 2  # so that the thread may keep its connection
    kept_after: list[bool] = []
    held: list[Any] = []

    def serve() -> None:
        assert _head(owner) == 200
        first = connection.connection
        assert first is not None
        time.sleep(0.6)
        assert _head(owner) == 200  # older than the keeping period: handed back
        kept_after.append(connection.connection is not None)
        for _ in range(pool.get_stats()["pool_available"]):  # every idle connection, first among them
            held.append(pool.getconn(timeout=5))
        assert any(conn is first for conn in held)
        held.remove(first)
        pool.putconn(first)  # first in the queue of idle connections: the next request draws it
        if held:
            pool.putconn(held.pop())  # and one after it, so that keeping leaves the pool one
        for _ in range(3):
            assert _head(owner) == 200
            kept_after.append(connection.connection is first)
        close_old_connections()

    try:
        _in_thread(serve)
    finally:
        for conn in held:
            pool.putconn(conn)

    assert kept_after == [False, True, True, True]


def test_keepers_leave_the_pool_a_connection_for_everyone_else(owner: Persona) -> None:
    """Two connections left to give: the first server thread keeps one, the second hands its
    back although nobody waits yet, and a caller then gets a connection at once while both
    threads sit idle (an idle keeper looks at the pool only when its next request ends)."""
    pool = default_pool()
    close_old_connections()
    held: list[Any] = []
    served: dict[str, threading.Event] = {name: threading.Event() for name in ("first", "second")}
    finish = threading.Event()
    kept: dict[str, bool] = {}

    def server_thread(name: str) -> None:
        assert _head(owner) == 200
        kept[name] = connection.connection is not None
        served[name].set()
        finish.wait(30)

    threads = [threading.Thread(target=server_thread, args=(name,)) for name in served]
    got: list[Any] = []
    try:
        hold_until(pool, 2, held)
        for thread, event in zip(threads, served.values(), strict=True):
            thread.start()
            assert event.wait(30)
        assert kept == {"first": True, "second": False}
        got.append(pool.getconn(timeout=2))
    finally:
        finish.set()
        for thread in threads:
            if thread.ident is not None:  # started
                thread.join(30)
        gc.collect()
        for conn in held + got:
            pool.putconn(conn)


def test_room_in_the_pool_agrees_with_its_statistics() -> None:
    """``pool_has_room`` reads psycopg_pool's private state; its statistics say the same."""
    pool = default_pool()
    close_old_connections()

    def room_by_stats() -> bool:
        stats = pool.get_stats()
        return bool(stats["pool_available"] > 0 or stats["pool_size"] < pool.max_size)

    held: list[Any] = []
    try:
        assert pool_has_room(pool) is room_by_stats() is True
        hold_until(pool, 0, held)
        assert pool_has_room(pool) is room_by_stats() is False
        pool.putconn(held.pop())
        assert pool_has_room(pool) is room_by_stats() is True
    finally:
        for conn in held:
            pool.putconn(conn)


def _terminate(backend_pid: int) -> None:
    """End a backend as a restart of PostgreSQL does (57P01 to its client), from another session."""
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"], port=settings["PORT"], user=settings["USER"], dbname=settings["NAME"], autocommit=True
    ) as other:
        assert other.execute("SELECT pg_terminate_backend(%s)", [backend_pid]).fetchone() == (True,)
        deadline = time.monotonic() + 5
        while other.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [backend_pid]).fetchone():
            assert time.monotonic() < deadline
            time.sleep(0.01)


@pytest.mark.parametrize("app", [served.application, drf_only], ids=["wsgi endpoint", "drf view"])
def test_a_kept_connection_the_server_closed_is_replaced_before_the_next_request_uses_it(
    owner: Persona, app: Any
) -> None:
    # After a restart of PostgreSQL every kept connection is dead: its next request answered 503
    # (and its process's neighbours for a second through the availability breaker)
    def serve() -> tuple[int, bool, bool]:
        assert _head(owner, app) == 200
        kept = connection.connection
        assert kept is not None
        _terminate(kept.info.backend_pid)
        status = _head(owner, app)
        # closed before it went back: the pool discards it rather than give it to another thread
        return status, connection.connection is not kept, kept.closed

    assert _in_thread(serve) == (200, True, True)
