"""Run wrk (the C load generator, Debian package ``wrk``) with a script of ``loadtest/lua/``.

Each script's ``done()`` prints one line ``WRK_JSON {...}`` (``loadtest/lua/common.lua``):
wrk's own summary (duration, completed requests, bytes, errors by kind), the threads' count
of requests sent, and latency percentiles in microseconds from wrk's HdrHistogram.
``parse_output`` turns it into a :class:`WrkSummary`.
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LUA = Path(__file__).resolve().parent / "lua"
MARKER = "WRK_JSON "


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is not installed; run `bash scripts/services.sh` (it installs Debian's wrk).")
    return found


@dataclass(frozen=True, slots=True)
class WrkSummary:
    seconds: float
    requests: int  # completed responses, whatever their status
    bytes: int
    sent: int  # requests the scripts generated (a few may still be in flight at the end)
    errors: dict[str, int]  # connect, read, write, status (non-2xx/3xx), timeout
    latency_ms: dict[str, float]  # p50, p90, p95, p99, p99.9, min, max, mean
    exhausted_threads: int = 0  # bodies.lua: threads that ran out of prepared bodies

    @property
    def failed(self) -> int:
        """Responses with a non-2xx/3xx status plus requests that never got a response."""
        return sum(self.errors.values())

    @property
    def ok_requests(self) -> int:
        return max(0, self.requests - self.errors.get("status", 0))

    @property
    def requests_per_second(self) -> float:
        return self.ok_requests / self.seconds if self.seconds else 0.0

    @property
    def error_rate(self) -> float:
        attempted = self.requests + sum(v for k, v in self.errors.items() if k != "status")
        return self.failed / attempted if attempted else 0.0


def parse_output(stdout: str) -> WrkSummary:
    """The summary from wrk's standard output (the last ``WRK_JSON`` line)."""
    lines = [line for line in stdout.splitlines() if line.startswith(MARKER)]
    if not lines:
        raise ValueError("wrk printed no WRK_JSON line (did the script's done() run?)")
    data: dict[str, Any] = json.loads(lines[-1][len(MARKER) :])
    lat = data["latency_us"]
    latency_ms = {f"p{key}": value / 1000 for key, value in lat["percentiles"].items()}
    latency_ms.update({k: float(lat[k]) / 1000 for k in ("min", "max", "mean")})
    return WrkSummary(
        seconds=data["duration_us"] / 1e6,
        requests=int(data["requests"]),
        bytes=int(data["bytes"]),
        sent=int(data.get("sent", 0)),
        errors={k: int(v) for k, v in data["errors"].items()},
        latency_ms=latency_ms,
        exhausted_threads=int(data.get("exhausted_threads", 0)),
    )


@dataclass(frozen=True, slots=True)
class WrkRun:
    summary: WrkSummary
    cpu_seconds: float  # wrk's user + system CPU (it is our child: from RUSAGE_CHILDREN)
    command: list[str]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_wrk(
    script: str,
    url: str,
    *,
    connections: int,
    threads: int,
    seconds: float,
    env: Mapping[str, str],
    timeout_seconds: int = 30,
) -> WrkRun:
    """``wrk -t threads -c connections -d seconds -s lua/script url``; raises when it fails."""
    threads = max(1, min(threads, connections))
    command = [
        wrk_binary(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        f"--timeout={timeout_seconds}s",
        "-s",
        str(LUA / script),
        url,
    ]
    before = children_cpu()
    done = subprocess.run(  # noqa: S603  (wrk from PATH, our arguments)
        command, env=dict(env), capture_output=True, text=True, check=False, timeout=seconds + 120
    )
    cpu = children_cpu() - before
    if done.returncode != 0:
        raise RuntimeError(f"wrk exited {done.returncode}: {(done.stderr or done.stdout)[-1500:]}")
    try:
        summary = parse_output(done.stdout)
    except (ValueError, KeyError) as exc:
        raise RuntimeError(f"{exc}; wrk said: {(done.stdout + done.stderr)[-1500:]}") from exc
    return WrkRun(summary, cpu, command)
