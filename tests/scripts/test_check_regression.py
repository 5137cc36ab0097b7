"""``scripts/check_regression.py``: the benchmark regression gate, on synthetic run and baseline files.

The command-line tests run the script as CI does (its own process, real files, exit status and
printed table); ``--retries 0 --side-by-side 0`` keeps them from starting the benchmark suite. The
retry logic and the side-by-side verdict are tested through ``gate`` and ``side_by_side`` with
scripted measurements; the reference worktree on a scratch git repository.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loadtest.cpu import Snapshot

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "check_regression.py"


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_regression", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["check_regression"] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


gate_script = _load_script()


def run_entry(name: str, min_s: float, calibration_s: float) -> dict[str, Any]:
    """One benchmark as pytest-benchmark writes it with ``--benchmark-json``."""
    return {
        "name": f"test_{name}",
        "fullname": f"tests/benchmarks/test_x.py::test_{name}",
        "stats": {"min": min_s, "median": min_s * 1.2, "rounds": 50},
        "extra_info": {"calibration_min": calibration_s, "calibration_samples": 30},
    }


def write_run(path: Path, times: dict[str, tuple[float, float]]) -> Path:
    entries = [run_entry(name, min_s, cal) for name, (min_s, cal) in times.items()]
    path.write_text(json.dumps({"machine_info": {}, "benchmarks": entries}))
    return path


def write_baseline(path: Path, ratios: dict[str, float]) -> Path:
    benchmarks = {name: {"ratio": ratio} for name, ratio in ratios.items()}
    path.write_text(json.dumps({"format": 1, "benchmarks": benchmarks}))
    return path


def check(*args: str | Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(SCRIPT), "--retries", "0", "--side-by-side", "0", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)  # noqa: S603


@pytest.fixture
def baseline(tmp_path: Path) -> Path:
    # ratios: ingest_small 10.0, merkle_tree_build[100] 0.2
    return write_baseline(tmp_path / "baseline.json", {"ingest_small": 10.0, "merkle_tree_build[100]": 0.2})


def test_it_passes_a_run_within_the_threshold_and_prints_the_table(tmp_path: Path, baseline: Path) -> None:
    run = write_run(tmp_path / "run.json", {"ingest_small": (2.19e-3, 2e-4), "merkle_tree_build[100]": (4e-5, 2e-4)})

    result = check("--threshold", "0.10", "--baseline", baseline, "--run", run)

    assert result.returncode == 0, result.stdout + result.stderr
    rows = {
        line.split()[0]: line.split() for line in result.stdout.splitlines() if line.startswith(("ingest", "merkle"))
    }
    assert rows["ingest_small"][-4:] == ["+9.5%", "+10%", "1", "ok"]  # 10.95 / 10.0
    assert rows["merkle_tree_build[100]"][-4:] == ["+0.0%", "+10%", "1", "ok"]
    assert "0 failed" in result.stdout


def test_it_fails_a_ratio_that_regressed_past_the_threshold(tmp_path: Path, baseline: Path) -> None:
    run = write_run(tmp_path / "run.json", {"ingest_small": (2.3e-3, 2e-4), "merkle_tree_build[100]": (4e-5, 2e-4)})

    result = check("--threshold", "0.10", "--baseline", baseline, "--run", run)

    assert result.returncode == 1
    row = next(line for line in result.stdout.splitlines() if line.startswith("ingest_small"))
    assert row.split()[-4:] == ["+15.0%", "+10%", "1", "REGRESSED"]
    assert "1 failed" in result.stdout


def test_a_benchmark_may_vary_as_much_as_its_own_baseline_runs_did(tmp_path: Path) -> None:
    # ingest_small's baseline runs were 10.0 (median), 9.0 and 12.5: +25 % is its own spread.
    path = tmp_path / "baseline.json"
    write_baseline(path, {"ingest_small": 10.0, "merkle_tree_build[100]": 0.2})
    document = json.loads(path.read_text())
    document["benchmarks"]["ingest_small"]["ratios"] = [9.0, 10.0, 12.5]
    path.write_text(json.dumps(document))
    within = write_run(
        tmp_path / "within.json", {"ingest_small": (2.4e-3, 2e-4), "merkle_tree_build[100]": (4e-5, 2e-4)}
    )
    beyond = write_run(
        tmp_path / "beyond.json", {"ingest_small": (2.6e-3, 2e-4), "merkle_tree_build[100]": (4e-5, 2e-4)}
    )

    allowed = check("--threshold", "0.10", "--baseline", path, "--run", within)
    refused = check("--threshold", "0.10", "--baseline", path, "--run", beyond)

    row = next(line for line in allowed.stdout.splitlines() if line.startswith("ingest_small"))
    assert row.split()[-4:] == ["+20.0%", "+25%", "1", "ok"]
    assert allowed.returncode == 0, allowed.stdout
    assert refused.returncode == 1  # +30 %: past its own spread


def test_a_uniformly_slower_machine_is_not_a_regression(tmp_path: Path, baseline: Path) -> None:
    # Everything, calibration included, three times slower: the ratios do not move.
    run = write_run(tmp_path / "run.json", {"ingest_small": (6e-3, 6e-4), "merkle_tree_build[100]": (1.2e-4, 6e-4)})

    assert check("--baseline", baseline, "--run", run).returncode == 0


def test_a_faster_machine_does_not_hide_a_regression(tmp_path: Path, baseline: Path) -> None:
    # Calibration twice as fast, ingest only 1.6 times as fast: ratio +25 %.
    run = write_run(tmp_path / "run.json", {"ingest_small": (1.25e-3, 1e-4), "merkle_tree_build[100]": (2e-5, 1e-4)})

    assert check("--baseline", baseline, "--run", run).returncode == 1


def test_a_baseline_benchmark_missing_from_the_run_fails(tmp_path: Path, baseline: Path) -> None:
    run = write_run(tmp_path / "run.json", {"ingest_small": (2e-3, 2e-4)})

    result = check("--baseline", baseline, "--run", run)

    assert result.returncode == 1
    assert "MISSING" in result.stdout
    assert "refresh the baseline" in result.stdout


def test_a_new_benchmark_is_reported_but_does_not_fail(tmp_path: Path, baseline: Path) -> None:
    run = write_run(
        tmp_path / "run.json",
        {"ingest_small": (2e-3, 2e-4), "merkle_tree_build[100]": (4e-5, 2e-4), "query_by_id": (1e-3, 2e-4)},
    )

    result = check("--baseline", baseline, "--run", run)

    assert result.returncode == 0
    assert next(line for line in result.stdout.splitlines() if line.startswith("query_by_id")).endswith("new")


def test_a_benchmark_without_calibration_is_listed_and_not_gated(tmp_path: Path, baseline: Path) -> None:
    run = write_run(tmp_path / "run.json", {"ingest_small": (2e-3, 2e-4), "merkle_tree_build[100]": (4e-5, 2e-4)})
    document = json.loads(run.read_text())
    document["benchmarks"].append({"name": "test_commitment_create_10k", "fullname": "t::c", "stats": {"min": 9.0}})
    run.write_text(json.dumps(document))

    result = check("--baseline", baseline, "--run", run)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "not gated (no calibration, plain benchmark fixture): commitment_create_10k" in result.stdout


@pytest.mark.parametrize(
    "content",
    ["not json", '{"benchmarks": [{"name": "test_a", "stats": {"min": 1}}]}', '{"machine_info": {}}'],
    ids=["garbage", "no-calibration", "no-benchmarks"],
)
def test_an_unusable_run_file_exits_2(tmp_path: Path, baseline: Path, content: str) -> None:
    run = tmp_path / "run.json"
    run.write_text(content)

    result = check("--baseline", baseline, "--run", run)

    assert result.returncode == 2
    assert "not a calibrated pytest-benchmark run" in result.stderr


def test_an_unusable_baseline_exits_2(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run.json", {"ingest_small": (2e-3, 2e-4)})
    (tmp_path / "baseline.json").write_text('{"format": 99, "benchmarks": {}}')

    result = check("--baseline", tmp_path / "baseline.json", "--run", run)

    assert result.returncode == 2
    assert "not a baseline file" in result.stderr


def test_the_committed_baseline_is_readable_and_names_the_seed_benchmarks() -> None:
    ratios = gate_script.load_baseline(gate_script.DEFAULT_BASELINE)

    seed = {"ingest_small", "ingest_medium", "ingest_large", "query_by_id", "query_by_entity", "query_by_range"}
    seed |= {"merkle_tree_build[100]", "merkle_tree_build[1000]", "merkle_tree_build[10000]"}
    seed |= {"merkle_proof_gen[log_inclusion]", "encrypt_aes_256", "encrypt_hpke"}
    assert seed <= set(ratios)


def measurement(name: str, ratio: float) -> Any:
    return gate_script.Measurement(name=name, nodeid=f"t::{name}", min_s=ratio * 1e-4, median_s=0, calibration_s=1e-4)


def scripted(*attempts: dict[str, float]) -> tuple[list[list[str]], Any]:
    """A ``measure`` callable that returns the given ratios in turn and records what it was asked."""
    asked: list[list[str]] = []
    results: Iterator[dict[str, float]] = iter(attempts)

    def measure(nodeids: list[str]) -> dict[str, Any]:
        asked.append(nodeids)
        return {name: measurement(name, ratio) for name, ratio in next(results).items()}

    return asked, measure


def test_a_failing_benchmark_is_re_measured_alone_and_passes_when_the_re_measurement_does() -> None:
    first = {"a": measurement("a", 1.3), "b": measurement("b", 2.0)}
    asked, measure = scripted({"a": 1.05})

    verdicts = gate_script.gate({"a": 1.0, "b": 2.0}, first, threshold=0.1, retries=2, measure=measure, log=print)

    assert asked == [["t::a"]]
    assert {v.name: (v.status, v.attempts) for v in verdicts} == {"a": ("ok", 2), "b": ("ok", 1)}


def test_a_real_regression_fails_every_re_measurement() -> None:
    first = {"a": measurement("a", 1.5)}
    asked, measure = scripted({"a": 1.45}, {"a": 1.6})

    verdicts = gate_script.gate({"a": 1.0}, first, threshold=0.1, retries=2, measure=measure, log=print)

    assert len(asked) == 2
    assert [(v.status, v.attempts, round(v.change, 2)) for v in verdicts] == [("REGRESSED", 3, 0.45)]


def test_re_measurement_keeps_the_best_ratio_of_all_attempts() -> None:
    first = {"a": measurement("a", 1.2)}
    _, measure = scripted({"a": 1.4}, {"a": 1.15})

    [verdict] = gate_script.gate({"a": 1.0}, first, threshold=0.1, retries=2, measure=measure, log=print)

    assert verdict.measurement.ratio == pytest.approx(1.15)


def regressed(name: str, ratio: float, baseline: float = 1.0, threshold: float = 0.15) -> Any:
    return gate_script.Verdict(name, baseline, measurement(name, ratio), 3, threshold)


def test_side_by_side_passes_what_the_baseline_commit_measures_as_slow_now() -> None:
    asked_here, here = scripted({"a": 1.32}, {"a": 1.28})
    asked_there, there = scripted({"a": 1.25}, {"a": 1.20})
    verdicts = [regressed("a", 1.30), gate_script.Verdict("b", 2.0, measurement("b", 2.0), 1, 0.15)]

    judged = gate_script.side_by_side(
        verdicts, commit="c0ffee" * 7, rounds=2, measure_here=here, measure_there=there, log=print
    )

    assert asked_here == asked_there == [["t::a"], ["t::a"]]
    a, b = judged
    assert a.status == "ok (side by side)"
    assert (a.reference.here, a.reference.there) == (pytest.approx(1.28), pytest.approx(1.20))
    assert a.attempts == 5
    assert (b.status, b.reference) == ("ok", None)


def test_side_by_side_fails_a_change_slower_than_the_baseline_commit_measured_now() -> None:
    _, here = scripted({"a": 1.45}, {"a": 1.40}, {"a": 1.50})
    _, there = scripted({"a": 1.10}, {"a": 1.05}, {"a": 1.12})

    [verdict] = gate_script.side_by_side(
        [regressed("a", 1.5)], commit="c0ffee" * 7, rounds=3, measure_here=here, measure_there=there, log=print
    )

    assert verdict.status == "REGRESSED"
    assert verdict.reference.pairs == pytest.approx((1.45 / 1.10 - 1, 1.40 / 1.05 - 1, 1.50 / 1.12 - 1))
    assert verdict.reference.change == pytest.approx(1.40 / 1.05 - 1)  # the median pair


def test_side_by_side_judges_the_median_pair_not_one_lucky_reference_round() -> None:
    """Measured on a machine whose speed swung (CI, 2026-12-05): the reference's one slow
    calibration sample made its best ratio 0.156 while both sides' times stood at ~160 µs; the
    best ratios differed by +27 %, the pairs by -15 %, 0 % and +49 %."""
    _, here = scripted({"a": 0.198}, {"a": 0.233}, {"a": 0.233})
    _, there = scripted({"a": 0.232}, {"a": 0.232}, {"a": 0.156})

    [verdict] = gate_script.side_by_side(
        [regressed("a", 0.2, baseline=0.157)], commit="c0ffee" * 7, rounds=3, measure_here=here, measure_there=there
    )

    assert (verdict.reference.here, verdict.reference.there) == (pytest.approx(0.198), pytest.approx(0.156))
    assert verdict.reference.change == pytest.approx(0.233 / 0.232 - 1)
    assert verdict.status == "ok (side by side)"


def test_side_by_side_takes_turns_at_measuring_first() -> None:
    order: list[str] = []
    _, here = scripted(*[{"a": 1.3}] * 4)
    _, there = scripted(*[{"a": 1.2}] * 4)

    def recorded(side: str, measure: Any) -> Any:
        def run(nodeids: list[str]) -> dict[str, Any]:
            order.append(side)
            return dict(measure(nodeids))

        return run

    gate_script.side_by_side(
        [regressed("a", 1.5)],
        commit="c0ffee" * 7,
        rounds=4,
        measure_here=recorded("here", here),
        measure_there=recorded("there", there),
        log=print,
    )

    assert order == ["here", "there", "there", "here", "here", "there", "there", "here"]


def test_a_benchmark_the_baseline_commit_lacks_stays_regressed() -> None:
    _, here = scripted({"a": 1.4})
    _, there = scripted({})

    [verdict] = gate_script.side_by_side(
        [regressed("a", 1.5)], commit="c0ffee" * 7, rounds=1, measure_here=here, measure_there=there, log=print
    )

    assert (verdict.status, verdict.reference) == ("REGRESSED", None)


def test_nothing_is_measured_side_by_side_when_nothing_regressed() -> None:
    asked, measure = scripted()
    verdicts = [gate_script.Verdict("a", 1.0, measurement("a", 1.05), 1, 0.15)]

    assert gate_script.side_by_side(verdicts, commit="x", rounds=3, measure_here=measure, measure_there=measure) == (
        verdicts
    )
    assert asked == []


def _git(repository: Path, *args: str) -> str:
    completed = subprocess.run(  # noqa: S603
        ["git", "-C", str(repository), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
    )
    return completed.stdout.strip()


def test_the_reference_is_the_commit_that_last_wrote_the_baseline_checked_out_apart(tmp_path: Path) -> None:
    repository = tmp_path / "repo"
    (repository / "bench").mkdir(parents=True)
    _git(repository, "init", "-q")
    (repository / "bench" / "baseline.json").write_text("{}")
    (repository / "code.py").write_text("old = 1\n")
    _git(repository, "add", ".")
    _git(repository, "commit", "-q", "-m", "baseline")
    wrote_baseline = _git(repository, "rev-parse", "HEAD")
    (repository / "code.py").write_text("new = 2\n")
    _git(repository, "commit", "-q", "-am", "a later change")

    commit = gate_script.baseline_commit(repository / "bench" / "baseline.json")
    assert commit == wrote_baseline
    with gate_script.worktree(commit, repository=repository) as checkout:
        assert (checkout / "code.py").read_text() == "old = 1\n"
        assert checkout.parent == repository / "var" / "bench"
    assert not checkout.exists()
    assert str(checkout) not in _git(repository, "worktree", "list")
    assert (repository / "code.py").read_text() == "new = 2\n"


def test_a_baseline_outside_git_has_no_reference(tmp_path: Path) -> None:
    (tmp_path / "baseline.json").write_text("{}")

    assert gate_script.baseline_commit(tmp_path / "baseline.json") is None


def test_the_reference_runs_on_its_own_database_without_the_simulated_slowdown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sequencer")
    monkeypatch.setenv("BENCH_SLOWDOWN", "ingest_small:20")

    env = gate_script.reference_environment()

    assert env["DATABASE_URL"] == "postgres://postgres@127.0.0.1:5432/sequencer_reference"
    assert "BENCH_SLOWDOWN" not in env


ratios = st.floats(min_value=1e-3, max_value=1e3, allow_nan=False, allow_infinity=False)


@given(
    baseline_ratio=ratios,
    change=st.floats(min_value=-0.9, max_value=5, allow_nan=False),
    threshold=st.floats(min_value=0.01, max_value=1),
    machine=st.floats(min_value=0.01, max_value=100),
)
def test_the_verdict_depends_only_on_the_ratio_change_never_on_machine_speed(
    baseline_ratio: float, change: float, threshold: float, machine: float
) -> None:
    """Scaling a run's times and calibration by any factor leaves the verdict as the change decides."""
    calibration = 1e-4 * machine
    m = gate_script.Measurement("a", "t::a", baseline_ratio * (1 + change) * calibration, 0.0, calibration)

    [verdict] = gate_script.judge({"a": baseline_ratio}, {"a": m}, threshold, {})

    assert verdict.change == pytest.approx(change, rel=1e-9, abs=1e-9)
    if abs(change - threshold) > 1e-9:
        assert verdict.failed is (change > threshold)


def test_waiting_for_quiet_stops_at_the_first_quiet_window() -> None:
    shares = iter([0.9, 0.6, 0.1, 0.9])
    said: list[str] = []

    busy = gate_script.wait_for_quiet(share=lambda _window: next(shares), window=2.0, log=said.append)

    assert busy == 0.1
    assert said == ["waited 4 s for the machine to quiet down: 10% busy (quiet)"]


def test_waiting_for_quiet_gives_up_after_its_patience_and_says_so() -> None:
    said: list[str] = []
    windows: list[float] = []

    def always_busy(window: float) -> float:
        windows.append(window)
        return 0.8

    busy = gate_script.wait_for_quiet(share=always_busy, window=2.0, patience=6.0, log=said.append)

    assert busy == 0.8
    assert len(windows) == 4  # the first look, then three more windows within the patience
    assert said == ["waited 6 s for the machine to quiet down: 80% busy (still busy, measuring anyway)"]


def test_a_quiet_machine_is_measured_at_once_without_a_word() -> None:
    said: list[str] = []

    assert gate_script.wait_for_quiet(share=lambda _window: 0.05, log=said.append) == 0.05
    assert said == []


def test_busy_share_is_the_busy_part_of_the_elapsed_cpu_time() -> None:
    readings = iter(
        [Snapshot(0.0, busy, total, {}, (0.0, 0.0, 0.0)) for busy, total in ((100.0, 1000.0), (130.0, 1100.0))]
    )

    assert gate_script.busy_share(0.0, read=lambda: next(readings)) == pytest.approx(0.3)


def test_the_busiest_process_is_named_with_its_share_of_a_core() -> None:
    spinner = subprocess.Popen(
        [sys.executable, "-c", "import time\nend = time.time() + 30\nwhile time.time() < end: pass"]
    )
    try:
        busiest = gate_script.busiest_processes(seconds=1.0, top=3)
    finally:
        spinner.kill()
        spinner.wait()

    cores_by_pid = {pid: cores for cores, pid, _name in busiest}
    assert spinner.pid in cores_by_pid, busiest
    assert 0.3 < cores_by_pid[spinner.pid] <= 1.05
