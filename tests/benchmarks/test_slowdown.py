"""``BENCH_SLOWDOWN``, the switch that proves the gate catches a regression (not a benchmark)."""

from __future__ import annotations

import time

import pytest

from tests.benchmarks import slowdown


def test_the_spec_names_benchmarks_and_percentages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCH_SLOWDOWN", "ingest_small:20, merkle_tree_build[1000]:15,")

    assert slowdown.requested() == {"ingest_small": 0.2, "merkle_tree_build[1000]": 0.15}


def test_nothing_is_slowed_without_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BENCH_SLOWDOWN", raising=False)

    assert slowdown.requested() == {}


def test_a_slowed_target_is_probed_three_times_then_returns_the_same_result() -> None:
    calls: list[int] = []

    def target() -> int:
        calls.append(1)
        return sum(range(20_000))

    slowed = slowdown.slowed(target, time.thread_time, 1.0)

    assert slowed() == sum(range(20_000))
    assert len(calls) == 4  # three probes, one call


def test_burn_spends_the_cpu_it_is_asked_for() -> None:
    before = time.thread_time()
    slowdown.burn(0.005)
    # The loop spins until the CPU clock has advanced that far, so this holds by construction.
    assert time.thread_time() - before >= 0.005
