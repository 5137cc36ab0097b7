"""CPU use over a run, from /proc: the machine, the service, PostgreSQL, and the load average.

The machine is shared (other engineers' test suites run on the same two cores), so the
service is the process tree of the gunicorn we measure when we know its pid, PostgreSQL is
split into the backends of our database and all PostgreSQL processes, and the load average
goes next to every figure.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class ProcInfo:
    pid: int
    ppid: int
    comm: str
    cmdline: str
    cpu_seconds: float
    # CPU of its children that exited and were reaped (cutime + cstime): a PostgreSQL backend
    # that lived less than a run is only ever counted here, in the postmaster.
    reaped_children_cpu_seconds: float = 0.0

    @property
    def total_cpu_seconds(self) -> float:
        return self.cpu_seconds + self.reaped_children_cpu_seconds


@dataclass(frozen=True, slots=True)
class Snapshot:
    wall: float
    machine_busy: float
    machine_total: float
    processes: dict[int, ProcInfo]
    load: tuple[float, float, float]


@dataclass(frozen=True, slots=True)
class CpuUse:
    """Average cores used over the interval, per group, and the machine's busy share."""

    seconds: float
    machine_percent: float
    service_cores: float
    postgres_db_cores: float
    postgres_all_cores: float
    load_start: tuple[float, float, float]
    load_end: tuple[float, float, float]


def parse_stat(text: str) -> tuple[str, int, float, float]:
    """``(comm, ppid, utime+stime, cutime+cstime)`` (seconds) from the text of /proc/PID/stat."""
    comm = text[text.index("(") + 1 : text.rindex(")")]
    rest = text[text.rindex(")") + 2 :].split()
    own = (float(rest[11]) + float(rest[12])) / CLOCK_TICKS
    reaped = (float(rest[13]) + float(rest[14])) / CLOCK_TICKS
    return comm, int(rest[1]), own, reaped


def _processes() -> dict[int, ProcInfo]:
    found: dict[int, ProcInfo] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{name}/stat", encoding="ascii", errors="replace") as handle:
                comm, ppid, cpu, reaped = parse_stat(handle.read())
        except (OSError, ValueError, IndexError):
            continue
        found[int(name)] = ProcInfo(int(name), ppid, comm, cmdline, cpu, reaped)
    return found


def snapshot() -> Snapshot:
    with open("/proc/stat", encoding="ascii") as handle:
        fields = [float(x) for x in handle.readline().split()[1:]]
    idle = fields[3] + fields[4]
    total = sum(fields)
    return Snapshot(time.monotonic(), (total - idle) / CLOCK_TICKS, total / CLOCK_TICKS, _processes(), os.getloadavg())


def descendants(processes: dict[int, ProcInfo], root: int) -> set[int]:
    """``root`` and every process below it."""
    children: dict[int, list[int]] = {}
    for info in processes.values():
        children.setdefault(info.ppid, []).append(info.pid)
    out, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid in out:
            continue
        out.add(pid)
        todo.extend(children.get(pid, []))
    return out


def cpu_delta(before: dict[int, ProcInfo], after: dict[int, ProcInfo], pids: Iterable[int]) -> float:
    """CPU seconds ``pids`` used between the snapshots, their reaped children's included.

    A process born in between counts whole; one that exited in between counts through its
    parent's reaped-children CPU (when the parent is in ``pids``) less what it had used before
    the first snapshot; a reused pid (another command name) starts from zero.
    """
    total = 0.0
    for pid in pids:
        now, then = after.get(pid), before.get(pid)
        if now is not None and then is not None and then.comm != now.comm:
            then = None
        total += (now.total_cpu_seconds if now else 0.0) - (then.total_cpu_seconds if then else 0.0)
    return total


def living_cpu_delta(before: dict[int, ProcInfo], after: dict[int, ProcInfo], pids: Iterable[int]) -> float:
    """CPU seconds of those of ``pids`` still running at ``after``, for a set without their
    parent (a database's backends without the postmaster): one that exited in between took its
    CPU to the parent, so :func:`cpu_delta` would subtract what it had used before the first
    snapshot and never add it back. Such a process is left out: a lower bound, never negative."""
    return cpu_delta(before, after, (pid for pid in pids if pid in after))


def is_postgres(info: ProcInfo) -> bool:
    return info.comm.startswith("postgres") or info.cmdline.startswith("postgres:")


def cpu_use(before: Snapshot, after: Snapshot, *, service_root: int | None, postgres_db_pids: Iterable[int]) -> CpuUse:
    """Cores used between two snapshots. Without ``service_root`` every gunicorn counts."""
    elapsed = max(after.wall - before.wall, 1e-9)
    if service_root is not None:
        service = descendants(after.processes, service_root) | descendants(before.processes, service_root)
    else:
        service = {p for p, i in after.processes.items() if "gunicorn" in i.cmdline}
    postgres = {p for p, i in (*before.processes.items(), *after.processes.items()) if is_postgres(i)}
    busy = (after.machine_busy - before.machine_busy) / max(after.machine_total - before.machine_total, 1e-9)
    return CpuUse(
        seconds=elapsed,
        machine_percent=100 * busy,
        service_cores=cpu_delta(before.processes, after.processes, service) / elapsed,
        postgres_db_cores=living_cpu_delta(before.processes, after.processes, postgres_db_pids) / elapsed,
        postgres_all_cores=cpu_delta(before.processes, after.processes, postgres) / elapsed,
        load_start=before.load,
        load_end=after.load,
    )


def tree_cpu(before: Snapshot, after: Snapshot, root: int) -> float:
    """CPU seconds of ``root`` and every process below it between the snapshots."""
    pids = descendants(after.processes, root) | descendants(before.processes, root)
    return cpu_delta(before.processes, after.processes, pids)


def matching_cpu(before: Snapshot, after: Snapshot, match: Callable[[ProcInfo], bool]) -> float:
    """CPU seconds of every process ``match`` accepts in either snapshot."""
    pids = {p for p, i in (*before.processes.items(), *after.processes.items()) if match(i)}
    return cpu_delta(before.processes, after.processes, pids)


def child_trees_cpu(before: Snapshot, after: Snapshot, root: int) -> list[float]:
    """CPU seconds of each child of ``root`` with everything below it (a server's worker
    processes), in pid order; ``root``'s own CPU is in none of them.

    Only children that ran through both snapshots: one that exited in between (a worker recycled
    after its ``max_requests``) left its CPU in ``root``'s reaped-children time, which no child
    can be given, and its replacement ran only part of the interval, so neither is compared. A
    child without a command line is not a worker either: a process that exited and was not
    reaped yet (granian's launcher keeps one such zombie, which read as an idle third worker)."""
    children = sorted(
        pid
        for pid, info in after.processes.items()
        if info.ppid == root
        and info.cmdline
        and (then := before.processes.get(pid)) is not None
        and then.comm == info.comm
    )
    return [tree_cpu(before, after, child) for child in children]


def uneven_split(cores: list[float], *, busy: float = 0.2, share: float = 0.25) -> bool:
    """Whether processes that should share the load did not: at least two, the busiest used at
    least ``busy`` cores and the idlest less than ``share`` of that (connections that stayed on
    one worker, ADR 0037)."""
    return len(cores) > 1 and max(cores) >= busy and min(cores) < share * max(cores)
