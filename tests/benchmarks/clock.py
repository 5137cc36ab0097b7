"""The CPU clock of the benchmarks that run longer than a fraction of a millisecond (ADR 0007).

On the shared 2-core machine, wall time mostly measures the neighbours: under a load average
of 6-7 the minimum of 150 ingest rounds moved by ±30 % from run to run, and one 10,000-leaf
tree build by +186 %, because a busy machine rarely leaves a quiet slice as long as the
benchmark. CPU time is not inflated by waiting for a core, so these benchmarks time the CPU the
operation costs: this thread's (``CLOCK_THREAD_CPUTIME_ID``) plus, for benchmarks that talk to
PostgreSQL, the CPU of the backend serving Django's connection, read from
``/proc/<backend pid>/schedstat`` (first field, nanoseconds; exact while the backend waits for
our next statement, and PostgreSQL runs on this host in development and CI).

What this clock does not see: time spent waiting on the disk (``fsync`` at commit), on locks, on
the network or in ``sleep``. A regression made only of waiting shows in the wall-clock median
pytest-benchmark reports, not in the gate (see docs/performance.md).
"""

from __future__ import annotations

import os
import time

from django.db import connection


def backend_pid() -> int:
    """PID of the PostgreSQL backend of Django's default connection (connecting if needed)."""
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    assert isinstance(pid, int)
    return pid


class CpuClock:
    """Seconds of CPU used by this thread, plus by one PostgreSQL backend when ``pid`` is given."""

    def __init__(self, pid: int | None = None) -> None:
        self.pid = pid
        self._fd = None
        if pid is not None:
            with open(f"/proc/{pid}/comm", encoding="ascii") as comm:  # PostgreSQL not on this host: fail
                assert comm.read().strip() == "postgres", f"process {pid} is not a local PostgreSQL backend"
            self._fd = os.open(f"/proc/{pid}/schedstat", os.O_RDONLY)

    def __call__(self) -> float:
        seconds = time.thread_time()
        if self._fd is not None:
            seconds += int(os.pread(self._fd, 128, 0).split()[0]) / 1e9
        return seconds

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
