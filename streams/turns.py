"""Turns to write a stream, shared by the web processes of one server (ADR 0038).

One stream that every web process writes at once defeats the optimistic append: each process
plans its group from the same head, one statement moves the counter, and the others write
nothing and go to the locked path (four round trips with the counter row locked). Once a
process has found a stream contended, it writes that stream in its turn: it takes the stream's
turn, reads the head the last holder left (``streams.head_hints``), plans and seals against it,
writes in one autocommit statement, records the new head and lets the turn go.

A turn is a POSIX record lock on one byte of an unlinked file that the server's master opens
before it forks (``docker/gunicorn.conf.py``): the byte is the stream's stripe, the kernel wakes
one waiting process when the holder lets go, and drops the lock of a process that dies.
Record locks belong to the process, so the threads of one process take a stripe one at a time
before they ask the kernel. A turn is held for one planned statement (bounded by the database's
statement timeout, and by gunicorn's worker timeout). Nothing relies on it for correctness: the
append's compare-and-set still decides, so a writer without a turn (another server, a process
that has not found the stream contended yet) only costs an attempt.
"""

from __future__ import annotations

import contextlib
import fcntl
import tempfile
import threading
import uuid
from collections.abc import Iterator

from sequencer_project.process_instance import ProcessInstance
from streams.head_hints import fingerprint

DEFAULT_STRIPES = 4096


class StreamTurns:
    """Exclusive turns per stream stripe across the processes forked after it was made."""

    def __init__(self, stripes: int = DEFAULT_STRIPES) -> None:
        if stripes < 1:
            raise ValueError("stripes must be positive")
        self.stripes = stripes
        self._file = tempfile.TemporaryFile()  # noqa: SIM115  (lives as long as the process)
        self._in_process = [threading.Lock() for _ in range(stripes)]

    @contextlib.contextmanager
    def turn(self, tenant_id: uuid.UUID, store_id: uuid.UUID) -> Iterator[None]:
        """Hold the stream's turn (waits for the process or thread that holds it)."""
        stripe = fingerprint(tenant_id, store_id) % self.stripes
        with self._in_process[stripe]:
            fcntl.lockf(self._file, fcntl.LOCK_EX, 1, stripe)
            try:
                yield
            finally:
                fcntl.lockf(self._file, fcntl.LOCK_UN, 1, stripe)


SHARED: ProcessInstance[StreamTurns] = ProcessInstance(StreamTurns)
