"""Tasks for the Celery worker tests only (loaded with ``celery worker -I``)."""

from __future__ import annotations

import os
import time

import redis

from sequencer_project.celery import app


@app.task(name="tests.probe_slow")
def probe_slow(token: str, seconds: float) -> None:
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    client.incr(f"probe:started:{token}")
    time.sleep(seconds)
    client.incr(f"probe:done:{token}")


@app.task(name="tests.probe_backend")
def probe_backend(token: str) -> None:
    """Record which PostgreSQL backend served this task (through Django's connection)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    redis.Redis.from_url(os.environ["REDIS_URL"]).rpush(f"probe:backends:{token}", pid)


@app.task(name="tests.probe_gc")
def probe_gc(token: str) -> None:
    """Record the collector's youngest threshold and the frozen object count of this process."""
    import gc

    redis.Redis.from_url(os.environ["REDIS_URL"]).rpush(
        f"probe:gc:{token}", f"{gc.get_threshold()[0]} {gc.get_freeze_count()}"
    )


@app.task(name="tests.probe_pool_exhausted")
def probe_pool_exhausted(token: str) -> None:
    """Hold every connection of this process's pool in other threads (each waiting as long as
    the pool needs to open it), then ask for one more through Django's connection: the checkout
    gives up after ``DB_POOL_TIMEOUT_SECONDS`` (psycopg_pool's ``requests_errors``). Records
    ``timed out`` (or what happened instead)."""
    import threading

    from django.db import OperationalError, connection

    pool = connection.pool  # type: ignore[attr-defined]  # the PostgreSQL backend's
    held = threading.Barrier(pool.max_size + 1)
    release = threading.Event()

    def hold() -> None:
        raw = pool.getconn(timeout=30)
        held.wait(timeout=30)
        release.wait(timeout=30)
        pool.putconn(raw)

    threads = [threading.Thread(target=hold) for _ in range(pool.max_size)]
    for thread in threads:
        thread.start()
    held.wait(timeout=30)
    try:
        connection.ensure_connection()
    except OperationalError:
        outcome = "timed out"
    else:
        outcome = "got a connection"
    finally:
        release.set()
        for thread in threads:
            thread.join(timeout=30)
    redis.Redis.from_url(os.environ["REDIS_URL"]).rpush(f"probe:pool:{token}", outcome)
