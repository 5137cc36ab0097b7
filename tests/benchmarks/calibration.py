"""The calibration workload every benchmark run times next to the benchmarks (ADR 0007).

A fixed piece of CPU work shaped like the ingest hot path: serialise and parse a 1 KB event
with orjson, hash it with SHA-256, and walk the parsed dict in pure Python. It touches no
database, so its time follows only how fast this process gets the CPU (clock, load, steal).
``scripts/check_regression.py`` compares each benchmark's time divided by the calibration time
measured *during that benchmark*, so a slower or busier machine scales both.
"""

from __future__ import annotations

import hashlib
import statistics
import time
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
_REPEAT = (
    40  # ≈ 0.2-0.4 ms per call on the development VM: long enough for the timer, short enough to hit a quiet slice
)


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
    """Times the workload on demand and keeps the samples (seconds) of one benchmark."""

    samples: list[float] = field(default_factory=list)

    def sample(self, times: int = 3) -> None:
        """Time the workload ``times`` times back to back and keep the fastest."""
        best = float("inf")
        for _ in range(times):
            start = time.perf_counter()
            calibration_workload()
            best = min(best, time.perf_counter() - start)
        self.samples.append(best)

    def summary(self) -> dict[str, float | int]:
        """What goes into the benchmark's ``extra_info``."""
        return {
            "calibration_min": min(self.samples),
            "calibration_median": statistics.median(self.samples),
            "calibration_samples": len(self.samples),
        }
