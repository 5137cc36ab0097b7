"""How fast this machine runs plain Python right now, for the reports.

The project's 2-core machine has run at a quarter of its usual speed for a whole boot
(docs/performance.md, "Fewer Python calls per batched event, on a slow boot"); a report that
names the speed it ran at tells such a run from a slower service. The probe is a fixed loop of
integer additions, timed with the wall clock: it measures the CPU the process gets, including
what other processes and the hypervisor leave it.
"""

from __future__ import annotations

import time

ADDITIONS = 10_000_000
# This loop on the project's machine at its usual speed, idle (2026-12-05 20:56 UTC, eight runs;
# docs/performance.md). Inside a function: the same loop at a module's top level, on globals,
# takes about twice as long (0.66-0.83 s on that boot), which the earlier figures in the docs are.
USUAL_SECONDS = (0.32, 0.46)


def additions_seconds(additions: int = ADDITIONS) -> float:
    """Wall-clock seconds of ``additions`` integer additions in a Python loop."""
    started = time.perf_counter()
    total = 0
    for number in range(additions):
        total += number
    return time.perf_counter() - started


def speed_sentence(before: float, after: float) -> str:
    """The report's sentence for the probe timed before and after the run."""
    low, high = USUAL_SECONDS
    return (
        f"A Python loop of {ADDITIONS:,} additions took {before:.2f} s before the run and {after:.2f} s after "
        f"it ({low:.2f} to {high:.2f} s on this project's machine at its usual speed; slower means every "
        "figure below is too)."
    )
