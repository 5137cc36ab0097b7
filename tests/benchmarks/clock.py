"""The CPU clock of the benchmarks that run longer than a fraction of a millisecond (ADR 0007).

On the shared 2-core machine, wall time mostly measures the neighbours: under a load average
of 6-7 the minimum of 150 ingest rounds moved by ±30 % from run to run, and one 10,000-leaf
tree build by +186 %, because a busy machine rarely leaves a quiet slice as long as the
benchmark. CPU time is not inflated by waiting for a core, so these benchmarks time the CPU this
thread spends on the operation (``CLOCK_THREAD_CPUTIME_ID``): our Python, Django, DRF and psycopg.

The CPU of the PostgreSQL backend serving the benchmark (``/proc/<pid>/schedstat``, first field)
is recorded beside it but not gated: with four other test suites hammering the shared server
(load average 20) it rose by 18 % on three attempts in a row for ``ingest_large`` (WAL and
buffer contention costs the backend CPU), which would have blocked a landing for nothing.

What the gated clock does not see: PostgreSQL's own work, and time spent waiting on the disk
(``fsync``), on locks, on the network or in ``sleep`` (see docs/performance.md).
"""

from __future__ import annotations

import os

from django.db import connection


def backend_pid() -> int:
    """PID of the PostgreSQL backend of Django's default connection (connecting if needed)."""
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    assert isinstance(pid, int)
    return pid


class BackendCpu:
    """CPU seconds used so far by one local PostgreSQL backend (read while it waits for us)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        with open(f"/proc/{pid}/comm", encoding="ascii") as comm:  # PostgreSQL not on this host: fail
            assert comm.read().strip() == "postgres", f"process {pid} is not a local PostgreSQL backend"
        self._fd: int | None = os.open(f"/proc/{pid}/schedstat", os.O_RDONLY)

    def __call__(self) -> float:
        assert self._fd is not None
        return int(os.pread(self._fd, 128, 0).split()[0]) / 1e9

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
