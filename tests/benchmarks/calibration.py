"""The calibration workload every benchmark times between its own rounds (ADR 0007).

A fixed piece of CPU work shaped like the ingest hot path: serialise and parse a 1 KB event
with orjson, hash it with SHA-256, and walk the parsed dict in pure Python. It is timed with the
benchmark's own clock (CPU or wall, ``tests/benchmarks/clock.py``) every few rounds, so it tracks
how fast this machine runs our kind of code at that moment: clock speed, cache pressure from the
neighbours, a slower VM. ``scripts/check_regression.py`` compares each benchmark's minimum
divided by the calibration minimum measured *during that benchmark*.

It deliberately has no ``SELECT 1``: with round trips the calibration minimum ranged
356-762 µs between runs (221-247 µs without), noise without information.
"""

from __future__ import annotations

import hashlib
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

_EVENT = {
    "event_id": "6f1c7e0e-8d5e-4c36-9d0b-2a1f3f6b9c11",
    "tenant_id": "00000000-0000-0000-0000-000000000001",
    "store_id": "00000000-0000-0000-0000-000000000001",
    "entity_type": "order",
    "entity_id": "order-1",
    "event_type": "order.created",
    "payload": {"total": 42, "currency": "USD", "lines": [{"sku": f"SKU-{i:04d}", "qty": i} for i in range(24)]},
    "created_at": "2026-01-01T00:00:00Z",
}
# ≈ 0.2 ms per call on the idle development VM: long enough for the timer, short enough to fit a quiet slice.
_REPEAT = 40


def calibration_workload() -> int:
    """Run the fixed workload once; returns a checksum so nothing can be optimised away."""
    checksum = 0
    for _ in range(_REPEAT):
        blob = orjson.dumps(_EVENT)
        parsed = orjson.loads(blob)
        checksum ^= hashlib.sha256(blob).digest()[0]
        for line in parsed["payload"]["lines"]:
            checksum += len(line["sku"]) + line["qty"]
    return checksum


@dataclass
class CalibrationSampler:
    """Times the workload on demand and keeps the samples of one benchmark (seconds per workload).

    ``repeat`` workloads are timed as one chunk, so that a chunk lasts about as long as one round
    of the benchmark: on a busy machine a 3 ms round is preempted more often than a 0.2 ms one,
    and each preemption costs CPU (cold caches) that a shorter calibration would not feel.
    """

    clock: Callable[[], float] = time.perf_counter
    repeat: int = 1
    samples: list[float] = field(default_factory=list)

    def sample(self, times: int = 2) -> None:
        """Time a chunk ``times`` times back to back; keep the fastest, per workload."""
        best = float("inf")
        for _ in range(times):
            start = self.clock()
            for _ in range(self.repeat):
                calibration_workload()
            best = min(best, self.clock() - start)
        self.samples.append(best / self.repeat)

    def summary(self) -> dict[str, float | int | str]:
        """What goes into the benchmark's ``extra_info``."""
        return {
            "calibration_min": min(self.samples),
            "calibration_median": statistics.median(self.samples),
            "calibration_samples": len(self.samples),
            "calibration_repeat": self.repeat,
        }


def matched_repeat(clock: Callable[[], float], target: Callable[[], object], probes: int = 3) -> int:
    """How many workloads last about as long as one call of ``target`` (which is called ``probes`` times)."""

    def fastest(function: Callable[[], object]) -> float:
        best = float("inf")
        for _ in range(probes):
            start = clock()
            function()
            best = min(best, clock() - start)
        return best

    return max(1, round(fastest(target) / fastest(calibration_workload)))
