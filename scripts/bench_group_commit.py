"""CPU the group-commit combiner costs per job when many threads submit at once.

Threads (a server process's, ``--threads``) submit one-event jobs to one ``GroupCommitter`` over
``--streams`` keys; each group's run sleeps ``--run-us`` (the statement's round trip, which
releases the GIL as a database wait does). Prints the process's CPU per job and the jobs per
group. Nothing but the combiner runs: no Django, no PostgreSQL. For two builds, run it from each
checkout and compare (``docs/performance.md``, "The combiner's own locks").

    .venv/bin/python scripts/bench_group_commit.py [--threads 16] [--streams 2] [--jobs 3000]
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from events.services.group_commit import GroupCommitter


@dataclass(frozen=True, slots=True)
class _Job:
    size: int = 1


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--streams", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=3000, help="per thread")
    parser.add_argument("--run-us", type=float, default=200.0, help="each group's run (a sleep)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    groups = 0

    def run_group(jobs: Sequence[_Job]) -> list[str]:
        nonlocal groups
        groups += 1
        time.sleep(args.run_us / 1e6)
        return ["done"] * len(jobs)

    for _ in range(args.rounds):
        committer: GroupCommitter[_Job, str] = GroupCommitter(max_events=64)
        groups = 0

        def submit(index: int, committer: GroupCommitter[_Job, str] = committer) -> None:
            for _ in range(args.jobs):
                committer.submit(index % args.streams, _Job(), run_group)

        threads = [threading.Thread(target=submit, args=(i,)) for i in range(args.threads)]
        cpu, wall = time.process_time(), time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        jobs = args.threads * args.jobs
        print(f"{cpu / jobs * 1e6:6.1f} µs of CPU per job, {jobs / groups:5.2f} jobs per group, {wall:5.2f} s")


if __name__ == "__main__":
    main()
