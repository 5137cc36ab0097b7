"""One object per process, made on first use by whichever thread asks first.

The process's Redis clients (``sequencer_project.redis_client``, the broker client of
``sequencer_project.metrics_export``) are made lazily: a client made before a fork would share
its sockets with the children. The web processes' shared stream heads and turns
(``streams.head_hints``, ``streams.turns``; ADR 0038) are the other way round: memory or a file
that only processes forked after it was made can share, so a server's master makes them before
it forks (:meth:`ProcessInstance.make_now`: gunicorn's ``on_starting`` in
``docker/gunicorn.conf.py``, ``sequencer_project/granian_main.py``); a process that inherited
none (tests, Celery) makes its own on first use, which shares nothing and changes no answer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class ProcessInstance(Generic[T]):
    """This process's ``make()``; ``close`` is called on an instance :meth:`reset` drops."""

    def __init__(self, make: Callable[[], T], *, close: Callable[[T], object] | None = None) -> None:
        self._make = make
        self._close = close
        self._instance: T | None = None
        self._lock = threading.Lock()  # first use by two threads at once makes one instance

    def get(self) -> T:
        instance = self._instance
        if instance is None:
            with self._lock:
                if self._instance is None:
                    self._instance = self._make()
                instance = self._instance
        return instance

    def make_now(self) -> T:
        """Make the instance now (a server master, so that the processes it forks share it)."""
        with self._lock:
            self._instance = self._make()
            return self._instance

    def reset(self) -> None:
        """Drop (and close) the instance; the next :meth:`get` makes another (tests point URLs elsewhere)."""
        with self._lock:
            if self._instance is not None and self._close is not None:
                self._close(self._instance)
            self._instance = None
