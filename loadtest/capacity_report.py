"""The Markdown report and PNGs of a capacity run (pure functions except the plot writers)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from loadtest.background import rates
from loadtest.capacity import GROUPS, TARGETS, Measurement, SustainedResult, WorkloadResult
from loadtest.report import _pyplot, _save, fmt_number

GROUP_TITLES = {"web": "web", "worker": "worker", "beat": "beat", "pg": "PostgreSQL", "load": "load gen"}


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def cpu_cell(m: Measurement, group: str) -> str:
    """``cores · µs per unit`` (``—`` when the group was not measured for this row)."""
    cores, per = m.cores(group), m.us_per_unit(group)
    if cores is None:
        return "—"
    return f"{cores:.2f} · {fmt_number(per)}" if per is not None else f"{cores:.2f} · —"


def ratio_cell(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def table(results: Sequence[WorkloadResult]) -> list[str]:
    head = (
        "| workload | target | conns | events/s | requests/s | p50 ms | p95 ms | p99 ms | errors | "
        + " | ".join(f"{GROUP_TITLES[g]} cores · µs/unit" for g in GROUPS)
        + " | service-side µs/unit | service ÷ anchor | service ÷ ceiling | load avg before → after |"
    )
    lines = [head, "|" + "---|" * 3 + "---:|" * (6 + len(GROUPS) + 4) + "---|"]
    for r in results:
        for m in r.rows():
            service = m.target == "service"
            cells = [
                f"`{r.workload.name}`",
                m.target,
                str(m.connections),
                fmt_number(m.events_per_second) if m.events else "—",
                fmt_number(m.requests_per_second),
                _ms(m.latency_ms.get("p50")),
                _ms(m.latency_ms.get("p95")),
                _ms(m.latency_ms.get("p99")),
                "—" if m.target == "ceiling" else f"{m.error_rate:.2%}",
                *(cpu_cell(m, g) for g in GROUPS),
                fmt_number(m.service_side_us) if m.service_side_us is not None else "—",
                ratio_cell(r.ratio(r.anchor)) if service else "",
                ratio_cell(r.ratio(r.ceiling)) if service else "",
                f"{m.load_before[0]:.2f} → {m.load_after[0]:.2f}",
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def by_kind_table(results: Sequence[WorkloadResult]) -> list[str]:
    lines = [
        "| workload | target | request | count | failed | p50 ms | p95 ms | p99 ms | max ms |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        for m in r.rows():
            for kind, s in sorted(m.by_kind.items()):
                cells = [f"{s.get(k, 0.0):.1f}" for k in ("p50", "p95", "p99", "max")]
                lines.append(
                    f"| `{r.workload.name}` | {m.target} | {kind} | {s.get('count', 0):.0f} | "
                    f"{s.get('failed', 0):.0f} | " + " | ".join(cells) + " |"
                )
    return lines if len(lines) > 2 else []


def sustained_lines(s: SustainedResult, plot: Path | None, report_dir: Path) -> list[str]:
    lines = ["## Background keeping up (sustained batched run)", ""]
    if s.error:
        return [*lines, f"The sustained run failed: {s.error}", ""]
    m, b = s.load, s.summary
    if m is None or b is None:
        return [*lines, "No measurement.", ""]

    def after(value: float | None) -> str:
        return f"{value:.0f} s" if value is not None else f"not within {s.drain_seconds:.0f} s"

    lines += [
        f"`batch100-s64` on the service for {m.seconds:.0f} s at {fmt_number(m.events_per_second)} events/s "
        f"(peak 1-s rate {fmt_number(b.peak_events_per_second)}), p99 {m.latency_ms.get('p99', 0):.1f} ms; "
        "projection lag (largest stream head minus the `entity_state` checkpoint) and commitment lag "
        "(largest count of sequenced, uncommitted events) sampled every second.",
        "",
        "| | projection lag | commitment lag |",
        "|---|---:|---:|",
        f"| largest lag of a stream during the load, max (events) | {b.max_projection_lag:,} | "
        f"{b.max_commitment_lag:,} |",
        f"| backlog over all streams during the load, max (events) | {b.max_projection_backlog:,} | "
        f"{b.max_commitment_backlog:,} |",
        f"| oldest event not yet applied, age during the load, max | {b.max_projection_age:.1f} s | "
        f"{b.max_commitment_age:.1f} s |",
        f"| time to 0 after the load stopped | {after(b.projection_zero_after)} | {after(b.commitment_zero_after)} |",
        "",
    ]
    drain_cpu = " · ".join(
        f"{GROUP_TITLES[g]} {s.drain_cpu.get(g, 0.0) / max(s.drain_seconds, 1e-9):.2f}"
        for g in ("web", "worker", "beat", "pg")
    )
    worker_total = m.cpu.get("worker", 0.0) + s.drain_cpu.get("worker", 0.0)
    per_event = f"{worker_total / m.events * 1e6:,.0f} µs" if m.events else "—"
    lines += [
        f"Both lags were 0 again {after(b.both_zero_after)} after the load stopped"
        + ("" if s.drained else " (the wait gave up at --drain-timeout)")
        + f". Cores during the drain ({s.drain_seconds:.0f} s): {drain_cpu}. Worker CPU over load and drain: "
        f"{per_event} per event.",
        "",
    ]
    if not s.drained:
        lines += [
            f"Left when the wait ended: {b.projection_left:,} events to project, {b.commitment_left:,} to commit; "
            f"the projection backlog fell by {fmt_number(b.projection_drain_rate)} events/s after the load "
            "(raise --drain-timeout to wait longer).",
            "",
        ]
    if plot is not None:
        lines += [f"![throughput and lag over time]({plot.relative_to(report_dir)})", ""]
    return lines


def render(
    results: Sequence[WorkloadResult],
    sustained: SustainedResult | None,
    *,
    title: str,
    preamble: Sequence[str],
    report_dir: Path,
    plots: Sequence[Path] = (),
    sustained_plot: Path | None = None,
) -> str:
    lines = [f"# {title}", "", *preamble, "", "## Measured", "", *table(results), ""]
    lines += [
        "Rows per workload: **ceiling** = the workload's transactions straight into PostgreSQL from Python "
        "threads (`loadtest/ceiling.py`); **anchor** = the bare-insert anchor (`loadtest/anchor`: DRF "
        "view, orjson, one autocommit INSERT or one SELECT, same server settings); **service** = the "
        "service as deployed. events/s and requests/s count successful requests over the load's duration; "
        "latency is per request (ceiling: per transaction). Each CPU cell is *average cores over the "
        "measurement · CPU µs per event* (per request for reads), per process group: web = the server's "
        "process tree, worker = the Celery worker, beat = Celery beat, PostgreSQL = every PostgreSQL "
        "process on the machine, load gen = wrk or the ceiling's client threads. "
        "service-side µs/unit sums web, worker, beat and PostgreSQL. The ratios divide the service's "
        "throughput by the anchor's and the ceiling's (none at a fixed rate: all targets are held to it).",
        "",
    ]
    kinds = by_kind_table(results)
    if kinds:
        lines += ["### Fixed-rate reads by request type", "", *kinds, ""]
        lines += [
            "The fixed-rate mix runs one wrk per request type side by side, each at a third of the rate "
            "(`loadtest/lua/get.lua` with WRK_RATE); the overall percentiles in the table above merge their "
            "latency histograms. wrk times a request from when it is written: a target that cannot keep the "
            "rate shows it as requests started late (see the notes), not as latency.",
            "",
        ]
    lines += [
        "### PostgreSQL backends of this run's databases, and the cluster's WAL",
        "",
        "| workload | target | cores | µs/unit | WAL bytes/unit | full-page images/unit | checkpoints |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        for m in r.rows():
            per = m.pg_db_cpu / m.units * 1e6 if m.units else None
            wal = m.wal.wal_bytes / m.units if m.units else None
            fpi = m.wal.full_page_images / m.units if m.units else None
            lines.append(
                f"| `{r.workload.name}` | {m.target} | {m.pg_db_cpu / max(m.window, 1e-9):.2f} | "
                f"{fmt_number(per) if per is not None else '—'} | {fmt_number(wal) if wal is not None else '—'} | "
                f"{f'{fpi:.2f}' if fpi is not None else '—'} | {m.wal.checkpoints} |"
            )
    lines += [
        "",
        "Backends that exited inside a window (a pool replacing a connection) are left out of its "
        "cores: their CPU went to the postmaster, which serves every database.",
        "",
        "WAL bytes and full-page images are the whole cluster's over the window (`pg_stat_wal`): after "
        "a checkpoint, the first change to each page writes the whole page, so a run that meets "
        "checkpoints pays more PostgreSQL CPU per event for the same statements.",
        "",
    ]
    problems = [(r.workload.name, t) for r in results for t in (*r.errors, *r.notes)]
    if problems:
        lines += ["### Notes", "", *(f"- `{name}`: {text}" for name, text in problems), ""]
    if sustained is not None:
        lines += sustained_lines(sustained, sustained_plot, report_dir)
    if plots:
        lines += ["## Plots", "", *(f"![{p.stem}]({p.relative_to(report_dir)})\n" for p in plots)]
    return "\n".join(lines)


def plot_throughput_and_cpu(results: Sequence[WorkloadResult], path: Path) -> bool:
    """Per workload: throughput of ceiling / anchor / service (left), CPU µs per unit by group (right)."""
    rows = [r for r in results if r.rows()]
    if not rows:
        return False
    plt = _pyplot()
    fig, axes = plt.subplots(len(rows), 2, figsize=(11, 2.3 * len(rows)), squeeze=False)
    colours = {"web": "tab:blue", "worker": "tab:orange", "beat": "tab:olive", "pg": "tab:green", "load": "tab:gray"}
    for (left, right), r in zip(axes, rows, strict=True):
        present = [m for m in (getattr(r, t) for t in TARGETS) if m is not None]
        names = [m.target for m in present]
        left.barh(names, [m.throughput for m in present], color="tab:blue")
        left.set_title(f"{r.workload.name}: {r.workload.unit}s/s", fontsize=9)
        left.invert_yaxis()
        left.grid(alpha=0.3, axis="x")
        offsets = [0.0] * len(present)
        for group in GROUPS:
            values = [m.us_per_unit(group) or 0.0 for m in present]
            right.barh(names, values, left=offsets, color=colours[group], label=GROUP_TITLES[group])
            offsets = [a + b for a, b in zip(offsets, values, strict=True)]
        right.set_title(f"CPU µs per {r.workload.unit}", fontsize=9)
        right.invert_yaxis()
        right.grid(alpha=0.3, axis="x")
    handles, labels = axes[0][1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=len(GROUPS), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / (2.3 * len(rows))))  # room for the legend on top
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return True


def plot_sustained(s: SustainedResult, path: Path) -> bool:
    """Events/s (from the sequenced counters), the largest lags and the backlogs, per second."""
    if not s.samples or s.summary is None:
        return False
    plt = _pyplot()
    fig, (top, middle, bottom) = plt.subplots(3, 1, figsize=(8, 6.5), sharex=True)
    series = rates(s.samples)
    top.plot([t for t, _ in series], [v for _, v in series], color="tab:blue")
    top.set_ylabel("events/s sequenced")
    top.set_title("sustained batch100-s64: throughput, projection and commitment lag", fontsize=9)
    t = [x.t for x in s.samples]
    middle.plot(t, [x.projection for x in s.samples], label="projection", color="tab:green")
    middle.plot(t, [x.commitment for x in s.samples], label="commitment", color="tab:red")
    middle.set_ylabel("largest lag of a stream")
    bottom.plot(t, [x.projection_total for x in s.samples], label="projection", color="tab:green")
    bottom.plot(t, [x.commitment_total for x in s.samples], label="commitment", color="tab:red")
    bottom.set_ylabel("backlog, all streams")
    bottom.set_xlabel("seconds")
    for axis in (top, middle, bottom):
        axis.axvspan(s.load_start, s.load_end, color="tab:gray", alpha=0.12, label="load")
        axis.set_ylim(bottom=0)
        axis.grid(alpha=0.3)
    middle.legend(loc="upper right", fontsize=7)
    _save(fig, path)
    return True
