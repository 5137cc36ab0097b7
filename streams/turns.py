"""Turns to write a stream, shared by the web processes of one server (ADR 0038).

One stream that every web process writes at once defeats the optimistic append: each process
plans its group from the same head, one statement moves the counter, and the others write
nothing and go to the locked path (four round trips with the counter row locked). Once a
process has found a stream contended, it writes that stream in its turn: it takes the stream's
turn, reads the head the last holder left (``streams.head_hints``), plans and seals against it,
writes in one autocommit statement, records the new head and lets the turn go.

A turn is a record lock on one byte of an unlinked file that the server's master opens before it
forks (``docker/gunicorn.conf.py``): the byte is the stream's stripe, the kernel wakes one
waiting process when the holder lets go, and drops the lock of a process that dies. The threads
of one process take a stripe one at a time before they ask the kernel. A turn is held for one
planned statement (bounded by the database's statement timeout, and by gunicorn's worker
timeout). Nothing relies on it for correctness: the append's compare-and-set still decides, so a
writer without a turn (another server, a process that has not found the stream contended yet)
only costs an attempt.

On Linux the locks are open-file-description locks, each process on a description of its own
(the file reopened through ``/proc/self/fd``). Classic POSIX record locks (``lockf``) belong to
the whole process, so the kernel's deadlock check saw one process's thread holding stripe X while
another of its threads waited for stripe Y, held by a process whose thread waited for X, as a
cycle, and answered ``EDEADLK`` although the holder of X waited for nothing: under load on a few
hot streams, a valid append answered 500. The kernel checks no cycles for description locks, and
none exists (a thread holds one turn at a time). Elsewhere the locks are ``lockf``'s; either way a
turn the kernel refuses is simply not taken: the append goes on without it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import struct
import tempfile
import threading
import uuid
from collections.abc import Iterator

from sequencer_project.process_instance import ProcessInstance
from streams.head_hints import fingerprint

DEFAULT_STRIPES = 4096

logger = logging.getLogger(__name__)

# struct flock: l_type, l_whence, l_start, l_len, l_pid (0 for description locks), padded.
_FLOCK = struct.Struct("@hhqqi4x")
_DESCRIPTION_LOCKS = hasattr(fcntl, "F_OFD_SETLKW") and os.path.isdir("/proc/self/fd")


class StreamTurns:
    """Exclusive turns per stream stripe across the processes forked after it was made."""

    def __init__(self, stripes: int = DEFAULT_STRIPES) -> None:
        if stripes < 1:
            raise ValueError("stripes must be positive")
        self.stripes = stripes
        self._file = tempfile.TemporaryFile()  # noqa: SIM115  (lives as long as the process)
        self._in_process = [threading.Lock() for _ in range(stripes)]
        self._opening = threading.Lock()
        self._own: tuple[int, int] | None = None  # (pid, descriptor) of this process's description

    @contextlib.contextmanager
    def turn(self, tenant_id: uuid.UUID, store_id: uuid.UUID) -> Iterator[None]:
        """Hold the stream's turn (waits for the process or thread that holds it)."""
        stripe = fingerprint(tenant_id, store_id) % self.stripes
        with self._in_process[stripe]:
            held = self._lock(stripe)
            try:
                yield
            finally:
                if held:
                    self._unlock(stripe)

    def _lock(self, stripe: int) -> bool:
        """Take the stripe's byte; ``False`` when the kernel refused (the turn is then not taken)."""
        if _DESCRIPTION_LOCKS:
            try:
                lock = _FLOCK.pack(fcntl.F_WRLCK, os.SEEK_SET, stripe, 1, 0)
                fcntl.fcntl(self._descriptor(), fcntl.F_OFD_SETLKW, lock)
            except OSError as exc:  # a kernel or sandbox without description locks (EINVAL)
                logger.warning("stream turn %d not taken (%s); going on without it", stripe, exc)
                return False
            return True
        try:
            fcntl.lockf(self._file, fcntl.LOCK_EX, 1, stripe)
        except OSError as exc:
            if exc.errno != errno.EDEADLK:
                raise
            logger.debug("stream turn %d refused by the kernel's deadlock check; going on without it", stripe)
            return False
        return True

    def _unlock(self, stripe: int) -> None:
        if _DESCRIPTION_LOCKS:
            fcntl.fcntl(self._descriptor(), fcntl.F_OFD_SETLK, _FLOCK.pack(fcntl.F_UNLCK, os.SEEK_SET, stripe, 1, 0))
        else:
            fcntl.lockf(self._file, fcntl.LOCK_UN, 1, stripe)

    def _descriptor(self) -> int:
        """This process's own open file description of the shared file: inherited descriptors
        share one description, whose locks would be every process's at once."""
        own = self._own
        pid = os.getpid()
        if own is None or own[0] != pid:
            with self._opening:
                own = self._own
                if own is None or own[0] != pid:
                    fd = os.open(f"/proc/self/fd/{self._file.fileno()}", os.O_RDWR | os.O_CLOEXEC)
                    self._own = own = (pid, fd)
        return own[1]


SHARED: ProcessInstance[StreamTurns] = ProcessInstance(StreamTurns)
