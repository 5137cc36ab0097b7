"""``BENCH_SLOWDOWN``: make chosen benchmarks burn extra CPU, to show the gate catches a regression.

``BENCH_SLOWDOWN="ingest_small:20,merkle_tree_build[1000]:15"`` adds, to every call of each named
benchmark's target, a busy loop of that percentage of the target's own time (its fastest of three
probe calls). The loop burns CPU rather than sleeping because the gate times CPU (ADR 0007). The
run records ``injected_slowdown`` in the benchmark's ``extra_info``. Never set in CI.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def requested() -> dict[str, float]:
    """The slowdowns asked for, by benchmark name, as fractions."""
    spec = os.environ.get("BENCH_SLOWDOWN", "")
    found: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, percent = item.rpartition(":")
        found[name] = float(percent) / 100
    return found


def burn(seconds: float) -> None:
    """Spin until this thread has used ``seconds`` more CPU."""
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def slowed(target: Callable[[], T], clock: Callable[[], float], fraction: float) -> Callable[[], T]:
    """``target`` preceded by a CPU burn of ``fraction`` of its fastest of three calls."""
    best = float("inf")
    for _ in range(3):
        start = clock()
        target()
        best = min(best, clock() - start)
    extra = best * fraction

    def run() -> T:
        burn(extra)
        return target()

    return run
