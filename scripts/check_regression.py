"""Benchmark regression gate: compare a pytest-benchmark run with the committed baseline (ADR 0007).

Usage (with the test environment exported, see ``make bench-check``)::

    .venv/bin/python scripts/check_regression.py --threshold 0.10 --quick        # run the suite, compare
    .venv/bin/python scripts/check_regression.py --run var/bench/run.json          # compare an existing run
    .venv/bin/python scripts/check_regression.py --quick --write-baseline --runs 3 # refresh the baseline

Every benchmark in ``tests/benchmarks`` records, next to its own timings, the minimum time of a
fixed calibration workload sampled *between its rounds* (``extra_info.calibration_min``). The
compared figure is ``ratio = benchmark min / calibration min``: a slower or busier machine slows
both, so the ratio stays put while a slower code path moves it. A benchmark fails when its ratio
exceeds the baseline's by more than ``--threshold``. Failing benchmarks are measured again, alone,
up to ``--retries`` times and the best ratio counts, so one unlucky run does not block a landing;
a real regression fails every attempt. Before the run and each re-measurement the gate waits (up
to two minutes, then one) for the machine to be less than a quarter busy, and before a
re-measurement it names the processes that were using the CPU.

A benchmark that still fails is then measured **side by side** with the commit that wrote the
baseline (``--side-by-side`` alternating rounds, a git worktree under ``var/bench/``): a baseline
holds for one boot of the machine, and its ratios moved by a quarter across reboots while the
code did not (docs/performance.md). The verdict is then the change against that commit measured
now, on the same machine: the median over the rounds of here's ratio over the reference's, each
pair measured a moment apart (``SideBySide``); the baseline file only decides which benchmarks
need it.

Exit status: 0 all within the threshold, 1 a regression (or a baseline benchmark missing from the
run), 2 the suite itself failed or an input file is unusable.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from loadtest.cpu import Snapshot, snapshot  # noqa: E402  (the repository root is on the path now)

DEFAULT_BASELINE = ROOT / "tests" / "benchmarks" / "baseline.json"
RUN_DIR = ROOT / "var" / "bench"
SUITE = "tests/benchmarks"
BASELINE_FORMAT = 1


class GateError(Exception):
    """An unusable input or a failed benchmark run (exit status 2)."""


@dataclass(frozen=True, slots=True)
class Measurement:
    """One benchmark of one run: its node id, minimum time and calibration minimum (seconds)."""

    name: str
    nodeid: str
    min_s: float
    median_s: float
    calibration_s: float

    @property
    def ratio(self) -> float:
        return self.min_s / self.calibration_s


@dataclass(frozen=True, slots=True)
class SideBySide:
    """A benchmark measured alternately here and at the baseline's commit.

    ``here`` and ``there`` are each side's best ratio (shown); the verdict is ``change``, the
    median over the rounds of each round's pair (here's ratio over the reference's, measured a
    moment apart). A benchmark's ratio divides its fastest time by a calibration sampled around
    it, and on a machine whose speed swings the fastest moments of the two do not always meet:
    one slow calibration sample makes a ratio look fast, and the best ratio of a side picks
    exactly that one (docs/performance.md, ADR 0035). A real slow-down shifts every pair.
    """

    commit: str
    here: float
    there: float
    rounds: int
    pairs: tuple[float, ...] = ()

    @property
    def change(self) -> float:
        if not self.pairs:
            return self.here / self.there - 1
        return statistics.median(self.pairs)


@dataclass(frozen=True, slots=True)
class Verdict:
    name: str
    baseline_ratio: float | None
    measurement: Measurement | None
    attempts: int
    threshold: float
    reference: SideBySide | None = None

    @property
    def change(self) -> float | None:
        if self.baseline_ratio is None or self.measurement is None:
            return None
        return self.measurement.ratio / self.baseline_ratio - 1

    @property
    def status(self) -> str:
        if self.measurement is None:
            return "MISSING"
        if self.baseline_ratio is None:
            return "new"
        if self.reference is not None:
            return "REGRESSED" if self.reference.change > self.threshold else "ok (side by side)"
        assert self.change is not None
        return "REGRESSED" if self.change > self.threshold else "ok"

    @property
    def failed(self) -> bool:
        return self.status in ("MISSING", "REGRESSED")


def benchmark_name(raw: str) -> str:
    """``test_merkle_tree_build[100]`` → ``merkle_tree_build[100]`` (the seed's names)."""
    return raw.removeprefix("test_")


def load_run(path: Path) -> dict[str, Measurement]:
    """The calibrated benchmarks of a ``--benchmark-json`` file, by name.

    Benchmarks written with the plain ``benchmark`` fixture carry no ``calibration_min``; they
    are left out here (``uncalibrated`` names them). A run with no calibrated benchmark at all is
    an error.
    """
    try:
        document = json.loads(path.read_text("utf-8"))
        found: dict[str, Measurement] = {}
        for entry in document["benchmarks"]:
            name = benchmark_name(entry["name"])
            if "calibration_min" not in entry.get("extra_info", {}):
                continue
            calibration = float(entry["extra_info"]["calibration_min"])
            if calibration <= 0:
                raise ValueError(f"{name}: calibration_min must be positive")
            found[name] = Measurement(
                name=name,
                nodeid=entry["fullname"],
                min_s=float(entry["stats"]["min"]),
                median_s=float(entry["stats"]["median"]),
                calibration_s=calibration,
            )
        if not found:
            raise ValueError("no benchmark carries extra_info.calibration_min")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise GateError(f"{path}: not a calibrated pytest-benchmark run ({exc!r})") from exc
    return found


def uncalibrated(path: Path) -> list[str]:
    """Benchmarks of a run that are not gated because they carry no calibration."""
    document = json.loads(path.read_text("utf-8"))
    return sorted(
        benchmark_name(e["name"]) for e in document["benchmarks"] if "calibration_min" not in e.get("extra_info", {})
    )


def baseline_load(path: Path) -> str:
    """The load averages the baseline was written at, for the report (empty if unknown)."""
    try:
        loads = json.loads(path.read_text("utf-8")).get("load_average", [])
    except (OSError, ValueError, AttributeError):
        return ""
    return "; ".join(str(x) for x in loads) if isinstance(loads, list) else ""


def load_baseline(path: Path) -> dict[str, float]:
    """Baseline ratios by benchmark name."""
    try:
        document = json.loads(path.read_text("utf-8"))
        if document.get("format") != BASELINE_FORMAT:
            raise ValueError(f"format {document.get('format')!r}, expected {BASELINE_FORMAT}")
        ratios = {name: float(entry["ratio"]) for name, entry in document["benchmarks"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise GateError(f"{path}: not a baseline file ({exc!r})") from exc
    if any(r <= 0 for r in ratios.values()):
        raise GateError(f"{path}: ratios must be positive")
    return ratios


def best(*runs: Mapping[str, Measurement]) -> dict[str, Measurement]:
    """Per benchmark, the measurement with the lowest ratio over several attempts."""
    merged: dict[str, Measurement] = {}
    for run in runs:
        for name, m in run.items():
            if name not in merged or m.ratio < merged[name].ratio:
                merged[name] = m
    return merged


def load_spreads(path: Path) -> dict[str, float]:
    """How far above its median ratio each benchmark's slowest baseline run was (0.25 = +25 %).

    A benchmark whose own baseline runs differed by that much on the quiet machine cannot be
    held to a tighter threshold without failing at random; the gate allows it that spread.
    """
    document = json.loads(path.read_text("utf-8"))
    spreads: dict[str, float] = {}
    for name, entry in document["benchmarks"].items():
        ratios = [float(r) for r in entry.get("ratios") or [entry["ratio"]]]
        spreads[name] = max(max(ratios) / float(entry["ratio"]) - 1, 0.0)
    return spreads


def judge(
    baseline: Mapping[str, float],
    run: Mapping[str, Measurement],
    threshold: float,
    attempts: Mapping[str, int],
    spreads: Mapping[str, float] | None = None,
) -> list[Verdict]:
    names = sorted(set(baseline) | set(run))
    spreads = spreads or {}
    return [
        Verdict(n, baseline.get(n), run.get(n), attempts.get(n, 1), max(threshold, spreads.get(n, 0.0))) for n in names
    ]


Measure = Callable[[list[str]], dict[str, Measurement]]


def gate(
    baseline: Mapping[str, float],
    first: Mapping[str, Measurement],
    *,
    threshold: float,
    retries: int,
    measure: Measure,
    log: Callable[[str], None] = print,
    spreads: Mapping[str, float] | None = None,
    before_measuring: Callable[[], None] = lambda: None,
) -> list[Verdict]:
    """Judge ``first``; re-measure the regressed benchmarks (by node id) up to ``retries`` times.

    Each benchmark may exceed its baseline by ``threshold`` or by the spread of its own baseline
    runs (``load_spreads``), whichever is larger.
    """
    current = dict(first)
    attempts = dict.fromkeys(current, 1)
    for attempt in range(retries):
        regressed = [v for v in judge(baseline, current, threshold, attempts, spreads) if v.status == "REGRESSED"]
        if not regressed:
            break
        names = ", ".join(v.name for v in regressed)
        log(f"re-measuring (attempt {attempt + 2} of {retries + 1}): {names}")
        before_measuring()
        nodeids = sorted({v.measurement.nodeid for v in regressed if v.measurement is not None})
        again = measure(nodeids)
        current = best(current, {n: m for n, m in again.items() if n in {v.name for v in regressed}})
        for v in regressed:
            attempts[v.name] += 1
    return judge(baseline, current, threshold, attempts, spreads)


def side_by_side(
    verdicts: list[Verdict],
    *,
    commit: str,
    rounds: int,
    measure_here: Measure,
    measure_there: Measure,
    log: Callable[[str], None] = print,
    before_measuring: Callable[[], object] = lambda: None,
) -> list[Verdict]:
    """Judge the regressed verdicts again against ``commit`` measured now, alternating sides.

    Each round measures the regressed benchmarks on both sides, here first in even rounds and
    the reference first in odd ones (a machine that drifts within a round favours neither); the
    median of the rounds' pairs (here's ratio over the reference's) is compared with the
    verdict's own threshold (``SideBySide``). A benchmark the reference commit does not have
    stays regressed.
    """
    regressed = [v for v in verdicts if v.status == "REGRESSED" and v.measurement is not None]
    if not regressed or rounds < 1:
        return verdicts
    nodeids = sorted({v.measurement.nodeid for v in regressed if v.measurement is not None})
    here: dict[str, Measurement] = {v.name: v.measurement for v in regressed if v.measurement is not None}
    there: dict[str, Measurement] = {}
    pairs: dict[str, list[float]] = {}
    for n in range(rounds):
        log(f"side by side with {commit[:12]} (round {n + 1} of {rounds}): {', '.join(sorted(here))}")
        measured: dict[str, dict[str, Measurement]] = {}
        for side in ("here", "there") if n % 2 == 0 else ("there", "here"):
            before_measuring()
            measure = measure_here if side == "here" else measure_there
            measured[side] = {k: m for k, m in measure(nodeids).items() if k in here}
        this_round, that_round = measured["here"], measured["there"]
        here = best(here, this_round)
        there = best(there, that_round)
        for name in this_round.keys() & that_round.keys():
            pairs.setdefault(name, []).append(this_round[name].ratio / that_round[name].ratio - 1)
    judged = {
        name: SideBySide(
            commit=commit,
            here=here[name].ratio,
            there=there[name].ratio,
            rounds=rounds,
            pairs=tuple(pairs.get(name, ())),
        )
        for name in here
        if name in there
    }
    return [
        Verdict(
            v.name,
            v.baseline_ratio,
            here.get(v.name, v.measurement) if v.measurement is not None else None,
            v.attempts + (rounds if v.name in here else 0),
            v.threshold,
            judged.get(v.name),
        )
        for v in verdicts
    ]


def side_by_side_table(verdicts: Iterable[Verdict]) -> str:
    """One line per benchmark judged against the reference commit."""
    lines = [
        f"{v.name}: best ratio {v.reference.here:.4f} here, {v.reference.there:.4f} at {v.reference.commit[:12]};"
        f" median of {len(v.reference.pairs) or v.reference.rounds} alternating pairs {v.reference.change:+.1%}"
        f" (allowed +{v.threshold:.0%}): {v.status}"
        for v in verdicts
        if v.reference is not None
    ]
    return "\n".join(lines)


def baseline_commit(baseline: Path) -> str | None:
    """The commit that last wrote ``baseline`` (None outside a git checkout or if never committed)."""
    try:
        completed = subprocess.run(  # noqa: S603 - git with our own arguments
            ["git", "log", "-1", "--format=%H", "--", baseline.name],  # noqa: S607 - git from PATH
            cwd=baseline.parent,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return None
    commit = completed.stdout.strip()
    return commit if completed.returncode == 0 and commit else None


@contextlib.contextmanager
def worktree(commit: str, *, repository: Path = ROOT) -> Iterator[Path]:
    """A detached git worktree of ``commit`` under ``var/bench/``, removed afterwards."""
    path = repository / "var" / "bench" / f"reference-{commit[:12]}"
    git = ["git", "-C", str(repository), "worktree"]
    subprocess.run([*git, "remove", "--force", str(path)], capture_output=True, check=False)  # noqa: S603
    subprocess.run([*git, "prune"], capture_output=True, check=False)  # noqa: S603
    subprocess.run([*git, "add", "--detach", "-q", str(path), commit], capture_output=True, check=True)  # noqa: S603
    try:
        yield path
    finally:
        subprocess.run([*git, "remove", "--force", str(path)], capture_output=True, check=False)  # noqa: S603


def reference_environment() -> dict[str, str]:
    """The environment of a reference run: its own test database, so its migrations stay its own,
    and no ``BENCH_SLOWDOWN`` (that stands for a change in this checkout)."""
    env = {k: v for k, v in os.environ.items() if k != "BENCH_SLOWDOWN"}
    url = env.get("DATABASE_URL", "")
    if url:
        base, _, name = url.rpartition("/")
        env["DATABASE_URL"] = f"{base}/{name.split('?')[0]}_reference"
    return env


def table(verdicts: Iterable[Verdict]) -> str:
    header = (
        f"{'benchmark':<36} {'min':>11} {'median':>11} {'calib.':>9} {'ratio':>9} {'baseline':>9}"
        f" {'change':>8} {'allowed':>8} {'tries':>5}  status"
    )
    lines = [header, "-" * len(header)]
    for v in verdicts:
        m = v.measurement
        cells = [
            f"{v.name:<36}",
            f"{_ms(m.min_s) if m else '-':>11}",
            f"{_ms(m.median_s) if m else '-':>11}",
            f"{f'{m.calibration_s * 1e6:.0f} us' if m else '-':>9}",
            f"{f'{m.ratio:.4f}' if m else '-':>9}",
            f"{f'{v.baseline_ratio:.4f}' if v.baseline_ratio is not None else '-':>9}",
            f"{f'{v.change:+.1%}' if v.change is not None else '-':>8}",
            f"{f'+{v.threshold:.0%}':>8}",
            f"{v.attempts:>5}",
            f" {v.status}",
        ]
        lines.append(" ".join(cells))
    return "\n".join(lines)


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f} ms" if seconds >= 1e-3 else f"{seconds * 1e6:.1f} us"


def busy_share(seconds: float, *, read: Callable[[], Snapshot] = snapshot) -> float:
    """The share of the machine's CPU time that was busy over the next ``seconds`` (0..1)."""
    before = read()
    time.sleep(seconds)
    after = read()
    elapsed = after.machine_total - before.machine_total
    return (after.machine_busy - before.machine_busy) / elapsed if elapsed > 0 else 0.0


def wait_for_quiet(
    *,
    busy_below: float = 0.25,
    window: float = 2.0,
    patience: float = 120.0,
    share: Callable[[float], float] = busy_share,
    log: Callable[[str], None] = print,
) -> float:
    """Wait until the machine is less than ``busy_below`` busy over a ``window``, at most
    ``patience`` seconds; returns the last busy share.

    Right after the full suite PostgreSQL vacuums and checkpoints its test databases for a
    while, and a round trip that wakes to caches another process just used costs the benchmark
    thread more CPU than the calibration loop: measuring then reads the database benchmarks
    high (docs/performance.md). Measuring goes ahead after ``patience`` either way, and says so.
    """
    waited = 0.0
    busy = share(window)
    while busy >= busy_below and waited < patience:
        waited += window
        busy = share(window)
    if waited:
        state = "quiet" if busy < busy_below else "still busy, measuring anyway"
        log(f"waited {waited:.0f} s for the machine to quiet down: {busy:.0%} busy ({state})")
    return busy


def busiest_processes(seconds: float = 2.0, top: int = 5) -> list[tuple[float, int, str]]:
    """The processes that used the most CPU over the next ``seconds``: (cores, pid, command)."""
    before = snapshot().processes
    time.sleep(seconds)
    after = snapshot().processes
    used = [
        ((info.cpu_seconds - before[pid].cpu_seconds) / seconds, pid, info.comm)
        for pid, info in after.items()
        if pid in before and info.cpu_seconds > before[pid].cpu_seconds
    ]
    return sorted(used, reverse=True)[:top]


def describe_busiest() -> str:
    listed = ", ".join(f"{name} (pid {pid}) {cores:.2f}" for cores, pid, name in busiest_processes())
    return f"busiest processes over 2 s, in cores: {listed or 'none'}"


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def run_suite(
    targets: list[str],
    *,
    quick: bool,
    output: Path,
    checkout: Path = ROOT,
    environment: Mapping[str, str] | None = None,
    create_db: bool = False,
) -> dict[str, Measurement]:
    """Run pytest-benchmark on ``targets`` (paths or node ids) in ``checkout`` without xdist."""
    output.parent.mkdir(parents=True, exist_ok=True)
    env = dict(environment if environment is not None else os.environ, BENCH_QUICK="1" if quick else "0")
    command = [
        sys.executable,
        "-m",
        "pytest",
        *targets,
        "-p",
        "no:xdist",
        "-q",
        "--create-db" if create_db else "--reuse-db",
        "--benchmark-only",
        "--benchmark-columns=min,median,rounds",
        f"--benchmark-json={output}",
    ]
    log_path = output.with_suffix(".log")
    started = time.monotonic()
    with log_path.open("wb") as log:
        completed = subprocess.run(  # noqa: S603 - our own interpreter and arguments
            command, cwd=checkout, env=env, check=False, stdout=log, stderr=subprocess.STDOUT
        )
    if completed.returncode != 0:
        print(log_path.read_text("utf-8", errors="replace")[-4000:], file=sys.stderr)
        raise GateError(f"the benchmark suite failed (pytest exit {completed.returncode}, log {log_path})")
    run = load_run(output)
    where = "" if checkout == ROOT else f" at {checkout.name}"
    print(f"measured {len(run)} benchmarks{where} in {time.monotonic() - started:.0f} s ({output.relative_to(ROOT)})")
    return run


def _run_path(label: str) -> Path:
    return RUN_DIR / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{label}.json"


def write_baseline(path: Path, runs: list[dict[str, Measurement]], *, quick: bool, loads: list[str]) -> None:
    """Store the median ratio of each benchmark over ``runs`` (a typical run, not the luckiest)."""
    names = sorted(set.intersection(*(set(r) for r in runs)))
    document: dict[str, Any] = {
        "format": BASELINE_FORMAT,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": "quick" if quick else "full",
        "runs": len(runs),
        "load_average": loads,
        "python": platform.python_version(),
        "command": "scripts/check_regression.py"
        + (" --quick" if quick else "")
        + f" --write-baseline --runs {len(runs)}",
        "benchmarks": {
            name: {
                "ratio": round(statistics.median(r[name].ratio for r in runs), 6),
                "ratios": [round(r[name].ratio, 6) for r in runs],
                "min_s": [r[name].min_s for r in runs],
                "calibration_s": [r[name].calibration_s for r in runs],
            }
            for name in names
        },
    }
    path.write_text(json.dumps(document, indent=2) + "\n", "utf-8")


def compare_with_reference(verdicts: list[Verdict], baseline: Path, *, rounds: int, quick: bool) -> list[Verdict]:
    """Measure what still fails side by side with the baseline's commit (a no-op when nothing does)."""
    if rounds < 1 or not any(v.status == "REGRESSED" for v in verdicts):
        return verdicts
    commit = baseline_commit(baseline)
    if commit is None:
        print(f"{baseline} has no commit to measure side by side with: the baseline decides")
        return verdicts
    try:
        with worktree(commit) as checkout:
            return side_by_side(
                verdicts,
                commit=commit,
                rounds=rounds,
                measure_here=lambda targets: run_suite(targets, quick=quick, output=_run_path("here")),
                measure_there=_reference_runner(checkout, quick=quick),
                before_measuring=lambda: wait_for_quiet(patience=60.0),
            )
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"no worktree of {commit[:12]} ({exc}): the baseline decides")
        return verdicts


def _reference_runner(checkout: Path, *, quick: bool) -> Measure:
    """Runs benchmarks in ``checkout`` on its own test database (created by the first run)."""
    environment = reference_environment()
    runs = 0

    def measure(targets: list[str]) -> dict[str, Measurement]:
        nonlocal runs
        try:
            run = run_suite(
                targets,
                quick=quick,
                output=_run_path("reference"),
                checkout=checkout,
                environment=environment,
                create_db=runs == 0,
            )
        except GateError as exc:  # e.g. the benchmark is newer than the baseline's commit
            print(f"the reference run failed, the baseline decides: {exc}")
            return {}
        runs += 1
        return run

    return measure


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threshold", type=float, default=0.10, help="allowed ratio increase (default 0.10)")
    parser.add_argument("--quick", action="store_true", help="run the suite with half the rounds (CI)")
    parser.add_argument("--baseline", type=Path, default=DEFAULT_BASELINE, help="baseline file")
    parser.add_argument("--run", type=Path, help="compare this --benchmark-json file instead of running the suite")
    parser.add_argument("--retries", type=int, default=2, help="re-measurements of a failing benchmark (default 2)")
    parser.add_argument("--write-baseline", action="store_true", help="run the suite --runs times, write --baseline")
    parser.add_argument("--runs", type=int, default=3, help="runs behind a new baseline (default 3)")
    parser.add_argument(
        "--side-by-side",
        type=int,
        default=5,
        metavar="ROUNDS",
        help="alternating rounds against the baseline's commit for a benchmark still failing (default 5; 0: off)",
    )
    args = parser.parse_args(argv)
    if args.threshold <= 0 or args.retries < 0 or args.runs < 1 or args.side_by_side < 0:
        parser.error("--threshold must be positive, --retries ≥ 0, --runs ≥ 1 and --side-by-side ≥ 0")

    def settle() -> None:
        """Before a re-measurement: say what else runs, then wait for it to calm down."""
        print(describe_busiest())
        wait_for_quiet(patience=60.0)

    def measure(targets: list[str]) -> dict[str, Measurement]:
        return run_suite(targets, quick=args.quick, output=_run_path("retry"))

    try:
        if args.write_baseline:
            runs, loads = [], []
            for i in range(args.runs):
                wait_for_quiet()
                print(f"baseline run {i + 1} of {args.runs} (load average {load_average()})")
                runs.append(run_suite([SUITE], quick=args.quick, output=_run_path("baseline")))
                loads.append(load_average())
            write_baseline(args.baseline, runs, quick=args.quick, loads=loads)
            print(f"wrote {args.baseline} ({len(runs[0])} benchmarks)")
            return 0
        baseline = load_baseline(args.baseline)
        print(f"load average before: {load_average()}; baseline written at: {baseline_load(args.baseline) or '?'}")
        if not args.run:
            wait_for_quiet()
        run_path = args.run or _run_path("check")
        first = load_run(args.run) if args.run else run_suite([SUITE], quick=args.quick, output=run_path)
        skipped = uncalibrated(run_path)
        retry_started = time.monotonic()
        verdicts = gate(
            baseline,
            first,
            threshold=args.threshold,
            retries=args.retries,
            measure=measure,
            spreads=load_spreads(args.baseline),
            before_measuring=settle,
        )
        verdicts = compare_with_reference(verdicts, args.baseline, rounds=args.side_by_side, quick=args.quick)
    except GateError as exc:
        print(f"check_regression: {exc}", file=sys.stderr)
        return 2
    print(table(verdicts))
    if any(v.reference is not None for v in verdicts):
        print(side_by_side_table(verdicts))
    if skipped:
        print(f"not gated (no calibration, plain benchmark fixture): {', '.join(skipped)}")
    failed = [v for v in verdicts if v.failed]
    retried = sum(v.attempts - 1 for v in verdicts)
    print(
        f"threshold +{args.threshold:.0%} on benchmark/calibration (or a benchmark's own baseline spread, if"
        f" larger: column 'allowed'); {len(verdicts)} benchmarks,"
        f" {len(failed)} failed, {retried} re-measurements ({time.monotonic() - retry_started:.0f} s);"
        f" load average after: {load_average()}"
    )
    print(
        "Database benchmarks read 15-25 % higher on a busy machine than on a quiet one: a baseline"
        " written at a very different load makes the gate stricter or more lenient (docs/performance.md)."
    )
    if any(v.status == "MISSING" for v in failed):
        print("A baseline benchmark is missing from the run: refresh the baseline (docs/performance.md).")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
