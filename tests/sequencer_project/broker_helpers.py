"""Taking a test's own task messages off the real Redis broker (the settings' ``REDIS_URL``)."""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from typing import Any

from sequencer_project.celery import app


def take_task_messages(
    queue_name: str, task: str, *, wanted: Callable[[list[Any]], bool], count: int, timeout: float = 10.0
) -> list[tuple[str, ...]]:
    """Take up to ``count`` messages of ``task`` whose arguments ``wanted`` accepts off ``queue_name``.

    Returns their arguments in queue order. Other messages (another xdist process's test) go
    back to the queue untouched.
    """
    taken: list[tuple[str, ...]] = []
    deadline = time.monotonic() + timeout
    with app.connection_for_read() as connection:
        messages = connection.SimpleQueue(queue_name)  # type: ignore[attr-defined]
        try:
            while len(taken) < count and time.monotonic() < deadline:
                try:
                    message = messages.get(timeout=0.2)
                except queue.Empty:
                    continue
                args = message.payload[0] if isinstance(message.payload, list) else []
                if message.headers.get("task") == task and args and wanted(args):
                    taken.append(tuple(str(arg) for arg in args))
                    message.ack()
                else:
                    message.requeue()
        finally:
            messages.close()
    return taken
