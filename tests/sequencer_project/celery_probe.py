"""A task for the Celery shutdown tests only (loaded with ``celery worker -I``)."""

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
