"""Markdown reports and PNG plots of load-test runs (pure functions except the file writers)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loadtest.ceiling import CeilingResult
from loadtest.cpu import CpuUse
from loadtest.k6 import Point, Summary
from loadtest.scenarios import Scenario, Target

STATS = (("med", "p50"), ("p(95)", "p95"), ("p(99)", "p99"))


@dataclass(frozen=True, slots=True)
class Check:
    """One bound of a target against the measured value."""

    label: str
    wanted: str
    measured: str
    ok: bool


@dataclass(slots=True)
class ScenarioResult:
    scenario: Scenario
    vus: int
    peak_vus: int | None = None  # stress profile: k6 ramps from vus to this
    ceiling: CeilingResult | None = None
    summary: Summary | None = None
    cpu: CpuUse | None = None
    k6_cores: float = 0.0
    k6_exit: int | None = None
    series: list[Point] = field(default_factory=list)
    plot: Path | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ceiling_ratio(self) -> float | None:
        if self.ceiling is None or self.summary is None or self.scenario.ceiling is None:
            return None
        if self.scenario.ceiling.kind == "reads":
            if not self.ceiling.transactions_per_second:
                return None
            return self.summary.requests_per_second / self.ceiling.transactions_per_second
        if not self.ceiling.events_per_second:
            return None
        return self.summary.events_per_second / self.ceiling.events_per_second


def fmt_number(value: float) -> str:
    """Thousands separators, one decimal under 100."""
    return f"{value:,.1f}" if abs(value) < 100 else f"{value:,.0f}"


def evaluate(target: Target, summary: Summary | None, ratio: float | None) -> list[Check]:
    """Each bound of ``target`` against the measurement (a missing measurement fails)."""
    checks = []
    if target.min_events_per_second is not None:
        got = summary.events_per_second if summary else 0.0
        least = target.min_events_per_second
        checks.append(Check("events/s", f"≥ {fmt_number(least)}", fmt_number(got), got >= least))
    if target.min_ceiling_ratio is not None:
        checks.append(
            Check(
                "ratio to ceiling",
                f"≥ {target.min_ceiling_ratio:g}",
                "—" if ratio is None else f"{ratio:.3f}",
                ratio is not None and ratio >= target.min_ceiling_ratio,
            )
        )
    for bound in target.latency:
        got_ms = summary.latency_ms.get(bound.name, {}).get(bound.stat) if summary else None
        label = dict(STATS).get(bound.stat, bound.stat)
        checks.append(
            Check(
                f"{bound.name} {label}",
                f"< {bound.max_ms:g} ms",
                "—" if got_ms is None else f"{got_ms:.1f} ms",
                got_ms is not None and got_ms < bound.max_ms,
            )
        )
    wanted = f"< {target.max_error_rate:.1%}"
    if summary is None:
        checks.append(Check("error rate", wanted, "—", False))
    else:
        rate = summary.error_rate
        checks.append(Check("error rate", wanted, f"{rate:.3%}", rate < target.max_error_rate))
    return checks


def _cell(ok: bool) -> str:
    return "met" if ok else "**not met**"


def target_table(results: Sequence[ScenarioResult]) -> list[str]:
    """The target table: one line per bound, target vs measured."""
    lines = ["| workload | bound | target | measured | |", "|---|---|---|---|---|"]
    for r in results:
        for n, check in enumerate(evaluate(r.scenario.target, r.summary, r.ceiling_ratio)):
            name = f"{r.scenario.title} (`{r.scenario.name}`)" if n == 0 else ""
            lines.append(f"| {name} | {check.label} | {check.wanted} | {check.measured} | {_cell(check.ok)} |")
    return lines


def results_table(results: Sequence[ScenarioResult]) -> list[str]:
    lines = [
        "| scenario | VUs | events/s | requests/s | p50 ms | p95 ms | p99 ms | errors | ceiling events/s "
        "(conns) | ratio | service cores | PG (this DB) | PG (all) | k6 | machine CPU | load avg start → end |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        s, c, cpu = r.summary, r.ceiling, r.cpu
        lat = s.latency_ms.get("all", {}) if s else {}
        if c is None:
            ceiling = "—"
        elif r.scenario.ceiling is not None and r.scenario.ceiling.kind == "reads":
            ceiling = f"{fmt_number(c.transactions_per_second)} queries/s ({c.connections})"
        else:
            ceiling = f"{fmt_number(c.events_per_second)} ({c.connections})"
        ratio = r.ceiling_ratio
        cells = [
            f"`{r.scenario.name}`",
            f"{r.vus}→{r.peak_vus}" if r.peak_vus else str(r.vus),
            fmt_number(s.events_per_second) if s and s.events else "—",
            fmt_number(s.requests_per_second) if s else "—",
            *(f"{lat[k]:.1f}" if k in lat else "—" for k, _ in STATS),
            f"{s.error_rate:.3%}" if s else "—",
            ceiling,
            "—" if ratio is None else f"{ratio:.3f}",
            *(
                (
                    f"{cpu.service_cores:.2f}",
                    f"{cpu.postgres_db_cores:.2f}",
                    f"{cpu.postgres_all_cores:.2f}",
                    f"{r.k6_cores:.2f}",
                    f"{cpu.machine_percent:.0f} %",
                    f"{cpu.load_start[0]:.2f} → {cpu.load_end[0]:.2f}",
                )
                if cpu
                else ("—",) * 6
            ),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def latency_table(results: Sequence[ScenarioResult]) -> list[str]:
    lines = ["| scenario | request | count | p50 ms | p95 ms | p99 ms | max ms |", "|---|---|---:|---:|---:|---:|---:|"]
    for r in results:
        if r.summary is None:
            continue
        for name in r.scenario.request_names:
            lat = r.summary.latency_ms.get(name)
            if lat is None:
                continue
            cells = [f"{lat.get(k, 0.0):.1f}" for k in ("med", "p(95)", "p(99)", "max")]
            lines.append(f"| `{r.scenario.name}` | {name} | {lat.get('count', 0):.0f} | " + " | ".join(cells) + " |")
    return lines


def ceiling_table(results: Sequence[ScenarioResult]) -> list[str]:
    lines = [
        "| scenario | shape | connections | seconds | transactions/s | events/s | tx p50 ms | tx p99 ms |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        c = r.ceiling
        if c is None:
            continue
        shape = f"{c.shape.kind}, {c.shape.batch}/tx, {c.shape.streams} stream(s)"
        if c.shape.kind == "reads":
            shape = "reads: by id, entity page of 100, range of 100"
        lines.append(
            f"| `{r.scenario.name}` | {shape} | {c.connections} | {c.seconds:.1f} | "
            f"{fmt_number(c.transactions_per_second)} | {fmt_number(c.events_per_second) if c.events else '—'} | "
            f"{c.p50_ms:.2f} | {c.p99_ms:.2f} |"
        )
    return lines


def render(
    results: Sequence[ScenarioResult],
    *,
    title: str,
    preamble: Sequence[str],
    report_dir: Path,
    overview: Path | None = None,
) -> str:
    """The whole Markdown report; plot links are relative to ``report_dir``."""
    lines = [f"# {title}", "", *preamble, "", "## Targets", "", *target_table(results), ""]
    if overview is not None:
        lines += [f"![throughput and latency over time]({overview.relative_to(report_dir)})", ""]
    lines += ["## Measured", "", *results_table(results), ""]
    lines += [
        "events/s and requests/s are k6's rates over the test's duration; latencies are over all "
        "requests of the scenario; CPU columns are average cores used over the k6 run (PG (this "
        "DB): the backends of the service's database; PG (all): every PostgreSQL process on the "
        "machine, which other work shares).",
        "",
        "### Latency per request type",
        "",
        *latency_table(results),
        "",
        "### Raw database ceiling (same run, before each scenario)",
        "",
        *ceiling_table(results),
        "",
    ]
    problems = [(r, m) for r in results for m in ([r.error] if r.error else []) + r.notes]
    if problems:
        lines += ["### Notes", "", *(f"- `{r.scenario.name}`: {m}" for r, m in problems), ""]
    plots = [r for r in results if r.plot is not None]
    if plots:
        lines += ["## Throughput and latency over time", ""]
        for r in plots:
            assert r.plot is not None
            lines += [f"![{r.scenario.name}]({r.plot.relative_to(report_dir)})", ""]
    return "\n".join(lines)


def _draw(top: Any, bottom: Any, series: Sequence[Point], title: str, events: bool) -> None:
    seconds = [p.second for p in series]
    top.plot(seconds, [p.events if events else p.requests for p in series], color="tab:blue")
    top.set_ylabel("events/s" if events else "requests/s")
    top.set_title(title, fontsize=9)
    top.set_ylim(bottom=0)
    top.grid(alpha=0.3)
    bottom.plot(seconds, [p.p50_ms for p in series], label="p50", color="tab:green")
    bottom.plot(seconds, [p.p99_ms for p in series], label="p99", color="tab:red")
    bottom.set_ylabel("latency ms")
    bottom.set_xlabel("seconds")
    bottom.set_ylim(bottom=0)
    bottom.grid(alpha=0.3)
    bottom.legend(loc="upper right", fontsize=7)


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> None:
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    _pyplot().close(fig)


def plot_series(series: Sequence[Point], path: Path, *, title: str, events: bool) -> None:
    """Two panels: throughput (events/s, or requests/s) and p50/p99 latency per second."""
    fig, (top, bottom) = _pyplot().subplots(2, 1, figsize=(8, 5), sharex=True)
    _draw(top, bottom, series, title, events)
    _save(fig, path)


def plot_overview(results: Sequence[ScenarioResult], path: Path) -> bool:
    """One figure, a row per scenario with a series: throughput left, latency right."""
    rows = [r for r in results if r.series]
    if not rows:
        return False
    fig, axes = _pyplot().subplots(len(rows), 2, figsize=(11, 2.4 * len(rows)), squeeze=False)
    for (left, right), r in zip(axes, rows, strict=True):
        _draw(left, right, r.series, f"{r.scenario.name} ({r.vus} VUs)", r.scenario.fixture != "queries")
        right.set_title("p50 / p99 per second", fontsize=9)
    _save(fig, path)
    return True
