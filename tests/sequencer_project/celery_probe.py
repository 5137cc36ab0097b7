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
