"""One object per server that the web processes share because the master made it before forking.

``streams.head_hints`` and ``streams.turns`` hold memory or a file that only processes forked
after it was made can share. gunicorn's master makes them in ``on_starting``
(``docker/gunicorn.conf.py``), granian's main process before it starts its command line
(``sequencer_project/granian_main.py``); a process that inherited none (tests, Celery) makes its
own on first use, which shares nothing and changes no answer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class ForkShared(Generic[T]):
    """The process's instance of ``make()``: made before the fork, or on first use."""

    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        self._instance: T | None = None
        self._making = threading.Lock()  # first use by two threads at once makes one instance

    def share_before_fork(self) -> T:
        """Make the instance now, so that the processes this one forks share it (server master)."""
        self._instance = self._make()
        return self._instance

    def get(self) -> T:
        """The instance this process shares with its siblings, or its own when it inherited none."""
        instance = self._instance
        if instance is None:
            with self._making:
                if self._instance is None:
                    self._instance = self._make()
                instance = self._instance
        return instance
