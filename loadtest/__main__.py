"""k6 load tests with a same-run database ceiling, Markdown report and plots (ADR 0008); capacity runs with wrk.

    python -m loadtest --start-service --suite headline [--duration 60]
    python -m loadtest --url http://127.0.0.1:8080 --api-key KEY --scenario ingest-b100-s64 [--vus 8 16]
    python -m loadtest --capacity --start-service [--duration 30s] [--connections 16] [--workload NAME ...]
    python -m loadtest --list

``--capacity`` (``loadtest.capacity``, ADR 0017): per workload the raw PostgreSQL ceiling, the
bare-insert anchor and the service as deployed (web, Celery worker and beat), driven by wrk,
with CPU per event per process group, then a sustained batched run with projection and
commitment lag; see docs/performance.md, "Capacity runs (wrk)".

For each scenario: seed what it reads (through the API), measure the raw database ceiling of
its transaction shape with psycopg (``loadtest.ceiling``), run its k6 script with CPU sampling,
then write one report, ``loadtest/reports/<UTC stamp>-<name>.md``, with a PNG plot of
throughput and latency over time per scenario. ``--start-service`` runs gunicorn with the
project's config on a scratch database (``<DATABASE_URL's database>_lt``, dropped afterwards)
with a fresh tenant and key; otherwise the key must have read, write and admin on
``--tenant-id`` and ``--database-url`` must be the service's database. See
docs/performance.md, section "Load tests (`make loadtest`)".
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from loadtest.capacity import DEFAULT_WORKLOADS, WORKLOADS
from loadtest.cpu import descendants, snapshot
from loadtest.report import ScenarioResult, evaluate, plot_overview, render
from loadtest.runner import K6_VES_BUDGET, RunConfig, run_scenario
from loadtest.scenarios import CATALOGUE, SUITES, Scenario
from loadtest.service import SERVERS, Service, scratch_service

HERE = Path(__file__).resolve().parent
DEMO_TENANT = "00000000-0000-0000-0000-000000000001"


def parse_duration(text: str) -> int:
    """Seconds from ``60``, ``60s`` or ``2m``."""
    text = text.strip()
    if text.endswith("ms"):
        raise ValueError(f"durations are whole seconds: {text}")
    if text.endswith("m"):
        return int(float(text[:-1]) * 60)
    return int(float(text.removesuffix("s")))


def _positive(text: str) -> int:
    """A whole number of at least 1 (argparse reports anything else as a usage error)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"a whole number of at least 1, not {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--suite", choices=sorted(SUITES), help="headline: every row of the scenario target table")
    what.add_argument("--scenario", action="append", choices=sorted(CATALOGUE), help="repeatable")
    what.add_argument("--list", action="store_true", help="list the scenarios and exit")
    what.add_argument("--capacity", action="store_true", help="capacity run with wrk: ceiling, anchor, service")
    parser.add_argument("--profile", choices=["smoke", "sustained", "stress"], default="sustained")
    parser.add_argument("--duration", help="per scenario (default 60s) / per target of a capacity workload (30s)")
    parser.add_argument("--vus", type=int, nargs="+", help="override the scenario's VUs; several = one run each")
    parser.add_argument("--start-service", action="store_true", help="gunicorn on a scratch database")
    parser.add_argument("--port", type=int, default=8120, help="port of --start-service (default 8120)")
    capacity = parser.add_argument_group("capacity runs (--capacity)")
    capacity.add_argument(
        "--workload", action="append", choices=sorted(WORKLOADS), help="repeatable; default all but ves-b100"
    )
    capacity.add_argument("--server", choices=SERVERS, default="gunicorn", help="web server of the service and anchor")
    capacity.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    capacity.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    capacity.add_argument("--ceiling-connections", type=int, help="default: --connections")
    capacity.add_argument("--warmup", default="2s", help="unmeasured load before each target (default 2s)")
    capacity.add_argument("--rate", type=float, default=200.0, help="requests/s of the fixed-rate reads (200)")
    capacity.add_argument("--sustained", default="60s", help="sustained batched run with lag sampling; 0 = none")
    capacity.add_argument(
        "--drain-timeout", default="15m", help="longest wait for the background to catch up (default 15m)"
    )
    capacity.add_argument("--anchor-port", type=int, help="default: --port + 1")
    capacity.add_argument("--note", help="a line put at the top of the report (what this run is for)")
    capacity.add_argument(
        "--pairs",
        type=_positive,
        default=1,
        help="anchor and service alternate this many times per ingest or get workload; the rows show the median pair",
    )
    parser.add_argument("--keep-database", action="store_true", help="keep the scratch database afterwards")
    parser.add_argument("--url", "--base-url", dest="url", default=os.environ.get("BASE_URL", "http://127.0.0.1:8080"))
    parser.add_argument("--api-key", default=os.environ.get("API_KEY"))
    parser.add_argument("--tenant-id", default=os.environ.get("TENANT_ID", DEMO_TENANT))
    parser.add_argument("--service-pid", type=int, help="gunicorn master pid (CPU); default: every gunicorn")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--ceiling-seconds", type=float, default=10.0)
    parser.add_argument("--payload-bytes", type=int, default=1024)
    parser.add_argument(
        "--ves-budget",
        type=_positive,
        help="signed VES events prepared per second of run (default: 14,000 for --capacity, 2,500 for k6)",
    )
    parser.add_argument("--report-dir", type=Path, default=HERE / "reports")
    parser.add_argument("--fail-on-target", action="store_true", help="exit 1 when a target is not met")
    return parser


@contextlib.contextmanager
def _service(args: argparse.Namespace) -> Iterator[Service]:
    if not args.database_url:
        raise SystemExit("DATABASE_URL (or --database-url) is required: the ceiling runs on the service's database")
    if args.start_service:
        with scratch_service(
            args.database_url,
            args.port,
            keep_database=args.keep_database,
            background=args.capacity,
            server=args.server,
        ) as service:
            yield service
        return
    if not args.api_key:
        raise SystemExit("--api-key (or API_KEY) is required without --start-service")
    yield Service(args.url.rstrip("/"), args.api_key, uuid.UUID(args.tenant_id), args.database_url, args.service_pid)


def _commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
        cwd=HERE,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or "unknown"


def _preamble(args: argparse.Namespace, service: Service, duration: int, started: str) -> list[str]:
    load = os.getloadavg()
    how = (
        f"gunicorn started by the runner with `docker/gunicorn.conf.py` on a scratch database, port {args.port}, "
        "receipts signed, payloads sealed at rest, no Celery worker"
        if args.start_service
        else f"a running service at {service.url}"
    )
    if service.pid is not None:
        workers = descendants(snapshot().processes, service.pid) - {service.pid}
        how += f"; gunicorn config resolved to {service.config}; {len(workers)} worker process(es) seen"
    return [
        f"Started {started} UTC at commit `{_commit()}`; profile `{args.profile}`, {duration} s per scenario, "
        f"{args.payload_bytes}-byte payloads, ceiling {args.ceiling_seconds:g} s per scenario. Service: {how}.",
        "",
        f"Machine: {os.cpu_count()} cores shared by the service, PostgreSQL, k6 and the ceiling's client, and by "
        f"other engineers' work: load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1 / 5 / 15 min) when "
        "the report was written, and per scenario in the table below. Figures on a shared machine are indicative "
        "only; re-measure on a quiet one.",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.start_service:  # a fresh machine has no .env yet (`make run` writes one); scratch services need none
        os.environ.setdefault("SECRET_KEY", os.urandom(32).hex())
    if args.list:
        for name, s in CATALOGUE.items():
            print(f"{name:18} {s.script:18} {s.vus:3} VUs  {s.title}")
        for name, w in WORKLOADS.items():
            print(f"{name:18} --capacity{'' if name in DEFAULT_WORKLOADS else ' (opt-in)':10}      {w.title}")
        return 0
    if args.capacity:
        from loadtest.capacity_main import run as run_capacity

        return run_capacity(args, _service)
    args.duration = args.duration or "60s"
    scenarios: tuple[Scenario, ...] = (
        SUITES[args.suite] if args.suite else tuple(CATALOGUE[n] for n in args.scenario or ["reference"])
    )
    duration = parse_duration(args.duration)
    started = datetime.now(UTC)
    name = args.suite or "-".join(s.name for s in scenarios)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    report_path = args.report_dir / f"{stamp}-{name}.md"
    results: list[ScenarioResult] = []
    with _service(args) as service:
        cfg = RunConfig(
            url=service.url,
            api_key=service.api_key,
            tenant_id=service.tenant_id,
            database_url=service.database_url,
            service_pid=service.pid,
            profile=args.profile,
            duration_seconds=duration,
            ceiling_seconds=args.ceiling_seconds,
            payload_bytes=args.payload_bytes,
            ves_budget=args.ves_budget or K6_VES_BUDGET,
            plot_dir=args.report_dir / f"{stamp}-{name}",
        )
        preamble = _preamble(args, service, duration, started.strftime("%Y-%m-%d %H:%M"))
        for scenario in scenarios:
            for vus in args.vus or [scenario.vus]:
                print(f"[loadtest] {scenario.name} with {vus} VUs …", file=sys.stderr, flush=True)
                results.append(run_scenario(cfg, scenario, vus))
    title = f"Load test {stamp}: {args.suite + ' suite' if args.suite else name}"
    report_path.parent.mkdir(parents=True, exist_ok=True)
    overview = cfg.plot_dir / "overview.png"
    shown = overview if plot_overview(results, overview) else None
    report_path.write_text(
        render(results, title=title, preamble=preamble, report_dir=report_path.parent, overview=shown)
    )
    print(report_path.read_text())
    print(f"[loadtest] report: {report_path}", file=sys.stderr)
    broken = any(r.error for r in results)
    unmet = any(not c.ok for r in results for c in evaluate(r.scenario.target, r.summary, r.ceiling_ratio))
    return 1 if broken or (args.fail_on_target and unmet) else 0


if __name__ == "__main__":
    sys.exit(main())
