"""``python -m loadtest --capacity``: start what is needed, run ``loadtest.capacity``, write the report."""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path

from loadtest.capacity import CAPACITY_VES_BUDGET, DEFAULT_WORKLOADS, WORKLOADS, CapacityConfig, run_capacity
from loadtest.capacity_report import plot_sustained, plot_throughput_and_cpu, render
from loadtest.machine_speed import additions_seconds, speed_sentence
from loadtest.service import Service, anchor_server, bench_database
from loadtest.wrk import wrk_binary

ServiceFactory = Callable[[argparse.Namespace], AbstractContextManager[Service]]


def _seconds(text: str) -> int:
    from loadtest.__main__ import parse_duration

    return parse_duration(text)


def _preamble(
    args: argparse.Namespace, cfg: CapacityConfig, anchor_config: str, started: datetime, speed: tuple[float, float]
) -> list[str]:
    from loadtest.__main__ import _commit

    s = cfg.service
    how = (
        f"{s.server} on a scratch database started by the runner ({s.config}), port {args.port}, with the "
        "Celery worker and beat of `scripts/run.sh`, receipts signed (VES_SEQUENCER_SIGNING_KEY) and payloads "
        "sealed at rest (PAYLOAD_ENCRYPTION_KEYS)"
        if args.start_service
        else f"a running service at {s.url} (web, worker and beat found by command line unless --service-pid)"
    )
    load = os.getloadavg()
    note = [f"**{args.note}**", ""] if args.note else []
    return [
        *note,
        f"Started {started:%Y-%m-%d %H:%M} UTC at commit `{_commit()}`; {cfg.seconds:g} s per target after a "
        f"{cfg.warmup:g} s warm-up, wrk with {cfg.connections} connections on {cfg.threads} threads, ceiling "
        f"{cfg.ceiling_seconds:g} s on {cfg.ceiling_connections} connections, fixed-rate reads at {cfg.rate:g} "
        f"requests/s, {cfg.payload_bytes}-byte payloads. Service: {how}. Anchor: `loadtest.anchor.wsgi` under "
        f"{s.server} with the same settings ({anchor_config}), its own table in the bench database.",
        "",
        f"Machine: {os.cpu_count()} cores ({platform.machine()}, Python {platform.python_version()}) shared by the "
        "service, PostgreSQL, the load generator and anything else running; load average "
        f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1 / 5 / 15 min) when the report was written, and per "
        "row below. Figures from a busy machine are indicative only. " + speed_sentence(*speed),
    ]


@contextlib.contextmanager
def _stack(args: argparse.Namespace, service_factory: ServiceFactory) -> Iterator[tuple[Service, str, str, int, str]]:
    anchor_port = args.anchor_port or args.port + 1
    with (
        service_factory(args) as service,
        bench_database(args.database_url, keep_database=args.keep_database) as bench_url,
        anchor_server(bench_url, anchor_port, server=args.server) as (anchor_url, anchor_pid, anchor_config),
    ):
        yield service, bench_url, anchor_url, anchor_pid, anchor_config


def run(args: argparse.Namespace, service_factory: ServiceFactory) -> int:
    wrk_binary()  # fail before starting anything when wrk is missing
    names = args.workload or list(DEFAULT_WORKLOADS)
    workloads = [WORKLOADS[n] for n in names]
    started = datetime.now(UTC)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    name = "capacity" if not args.workload else "capacity-" + "-".join(names)
    report_path: Path = args.report_dir / f"{stamp}-{name}.md"
    plot_dir: Path = args.report_dir / f"{stamp}-{name}"
    speed_before = additions_seconds()  # before anything of the run is started
    with tempfile.TemporaryDirectory(prefix="loadtest-capacity-") as tmp, _stack(args, service_factory) as stack:
        service, bench_url, anchor_url, anchor_pid, anchor_config = stack
        cfg = CapacityConfig(
            service=service,
            anchor_url=anchor_url,
            anchor_pid=anchor_pid,
            bench_url=bench_url,
            connections=args.connections,
            threads=args.threads,
            seconds=_seconds(args.duration or "30s"),
            warmup=_seconds(args.warmup),
            ceiling_seconds=args.ceiling_seconds,
            ceiling_connections=args.ceiling_connections or args.connections,
            payload_bytes=args.payload_bytes,
            rate=args.rate,
            ves_budget=args.ves_budget or CAPACITY_VES_BUDGET,
            drain_timeout=_seconds(args.drain_timeout),
            sustained=_seconds(args.sustained),
            workdir=Path(tmp),
            background=service.worker_pid is not None or not args.start_service,
            pairs=args.pairs,
        )
        results, sustained = run_capacity(cfg, workloads)
    preamble = _preamble(args, cfg, anchor_config, started, (speed_before, additions_seconds()))
    plots = []
    overview = plot_dir / "throughput-cpu.png"
    if plot_throughput_and_cpu(results, overview):
        plots.append(overview)
    sustained_plot = plot_dir / "sustained.png"
    shown = sustained_plot if sustained is not None and plot_sustained(sustained, sustained_plot) else None
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(
        render(
            results,
            sustained,
            title=f"Capacity run {stamp}",
            preamble=preamble,
            report_dir=report_path.parent,
            plots=plots,
            sustained_plot=shown,
        )
    )
    print(report_path.read_text())
    print(f"[loadtest] report: {report_path}", file=sys.stderr)
    broken = any(r.errors for r in results) or (sustained is not None and sustained.error is not None)
    return 1 if broken else 0
