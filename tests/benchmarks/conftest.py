"""The ``calibrated`` fixture and the streams the benchmarks read from (ADR 0007).

Every benchmark goes through ``calibrated(target, rounds=N)``: pytest-benchmark's ``pedantic``
mode with one call per round, whose untimed ``setup`` hook times the calibration workload every
few rounds. The calibration samples are therefore spread over the benchmark's own run, and a load
change during the run slows both. ``extra_info`` carries ``calibration_min``; the gate
(``scripts/check_regression.py``) divides the benchmark's minimum by it.

``BENCH_QUICK=1`` (set by ``make bench-check``) halves every round count. Under xdist
(``make test``) pytest-benchmark is disabled and each target runs once, as a smoke test.
"""

from __future__ import annotations

import itertools
import os
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import orjson
import pytest
from pytest_benchmark.fixture import BenchmarkFixture
from rest_framework.test import APIClient

from tests.benchmarks import slowdown
from tests.benchmarks.calibration import CalibrationSampler, matched_repeat
from tests.benchmarks.clock import BackendCpu, backend_pid
from tests.conftest import legacy_event

T = TypeVar("T")

QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
CALIBRATION_SAMPLES = 30  # per benchmark, spread evenly over its rounds


class Calibrated(Protocol):
    def __call__(
        self,
        target: Callable[[], T],
        *,
        rounds: int,
        warmup_rounds: int = ...,
        database: bool = ...,
        cpu_clock: bool = ...,
    ) -> T: ...


def scaled(rounds: int) -> int:
    """Round count for this run: half in quick mode, never fewer than 10."""
    return max(10, rounds // 2) if QUICK else rounds


@pytest.fixture
def calibrated(benchmark: BenchmarkFixture) -> Calibrated:
    def run(
        target: Callable[[], T],
        *,
        rounds: int,
        warmup_rounds: int = 3,
        database: bool = False,
        cpu_clock: bool = True,
    ) -> T:
        """Time ``target`` ``rounds`` times (halved in quick mode), interleaved with the calibration.

        ``database``: the target talks to PostgreSQL; the CPU of the backend serving it is recorded
        (``backend_cpu_min``, not gated). ``cpu_clock=False``: wall time (``perf_counter``), for micro-benchmarks of a
        few µs, where reading the CPU clock would cost as much as the operation and the minimum
        of many rounds is steady anyway. ``BENCH_SLOWDOWN`` (``slowdown.py``) injects CPU work.
        """
        rounds = scaled(rounds)
        clock: Callable[[], float] = time.perf_counter
        if cpu_clock and not benchmark.disabled:  # the xdist smoke run times nothing
            clock = time.thread_time
            benchmark._timer = clock  # pytest-benchmark reads its timer from here for every round
        backend = BackendCpu(backend_pid()) if database and not benchmark.disabled else None
        backend_rounds: list[float] = []
        injected = slowdown.requested().get(benchmark.name.removeprefix("test_"), 0.0)
        if injected:
            target = slowdown.slowed(target, clock, injected)
            benchmark.extra_info["injected_slowdown"] = injected
        # Three calls of the target size the calibration chunks (and warm its caches up).
        repeat = 1 if benchmark.disabled else matched_repeat(clock, target)
        sampler = CalibrationSampler(clock=clock, repeat=repeat)
        every = max(1, rounds // CALIBRATION_SAMPLES)
        counter = itertools.count()
        backend_mark = [backend() if backend else 0.0]

        def setup() -> None:
            if backend is not None:  # the backend's CPU since the previous round started: that round's
                now = backend()
                backend_rounds.append(now - backend_mark[0])
                backend_mark[0] = now
            if next(counter) % every == 0:
                sampler.sample()

        pedantic: Callable[..., T] = benchmark.pedantic  # untyped in pytest-benchmark; returns target's result
        try:
            result = pedantic(target, setup=setup, rounds=rounds, warmup_rounds=warmup_rounds)
            sampler.sample()
            if backend is not None:  # the right backend was read only if the connection stayed
                assert backend_pid() == backend.pid
        finally:
            if backend is not None:
                backend.close()
        clock_name = "wall" if clock is time.perf_counter else "cpu: this thread"
        benchmark.extra_info.update(sampler.summary(), quick=QUICK, clock=clock_name)
        if backend_rounds[1:]:  # not gated (ADR 0007): PostgreSQL's CPU per round, for the record
            benchmark.extra_info["backend_cpu_min"] = min(backend_rounds[1:])
            benchmark.extra_info["backend_cpu_median"] = statistics.median(backend_rounds[1:])
        return result

    return run


@pytest.fixture
def data_scale(benchmark: BenchmarkFixture) -> int:
    """Divisor for the size of the data a benchmark sets up: 10 when pytest-benchmark is disabled
    (the xdist suite runs each body once as a smoke test and need not seed 1,000 events), else 1."""
    return 10 if benchmark.disabled else 1


def payload_of_size(size: int) -> dict[str, Any]:
    """An order payload whose canonical JSON is ``size`` bytes (± 1)."""
    payload: dict[str, Any] = {"total": 4200, "currency": "USD", "note": ""}
    payload["note"] = "x" * max(0, size - len(orjson.dumps(payload)))
    return payload


def ingest_body(tenant_id: uuid.UUID, store_id: uuid.UUID, payload: dict[str, Any], count: int) -> bytes:
    """One legacy ingest request of ``count`` fresh events, serialised."""
    return orjson.dumps({"events": [legacy_event(tenant_id, store_id, payload=payload) for _ in range(count)]})


def post_json(client: APIClient, path: str, body: bytes) -> Any:
    return client.post(path, data=body, content_type="application/json")


def bodies(factory: Callable[[], bytes], count: int) -> itertools.chain[bytes]:
    """``count`` request bodies built before the clock starts, then fresh ones if a run wants more."""
    ready = [factory() for _ in range(count)]
    return itertools.chain(ready, (factory() for _ in itertools.count()))


def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict[str, Any]) -> None:
    """Record the load average next to the figures (the machine is shared)."""
    machine_info["load_average"] = os.getloadavg()
    machine_info["bench_quick"] = QUICK
