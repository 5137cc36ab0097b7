"""Run wrk (the C load generator, Debian package ``wrk``) with a script of ``loadtest/lua/``.

Each script's ``done()`` prints one line ``WRK_JSON {...}`` (``loadtest/lua/common.lua``):
wrk's own summary (duration, completed requests, bytes, errors by kind), the threads' count
of requests sent (and, at a fixed rate, started late), latency percentiles in microseconds and,
with ``WRK_HISTOGRAM=1``, every distinct latency with its count. ``parse_output`` turns it into
a :class:`WrkSummary`; ``merged_percentiles`` combines the histograms of wrk processes that ran
side by side (the fixed-rate read mix runs one per request kind).
"""

from __future__ import annotations

import json
import math
import os
import resource
import subprocess
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loadtest.executables import executable

LUA = Path(__file__).resolve().parent / "lua"
MARKER = "WRK_JSON "


def wrk_binary() -> str:
    return executable("wrk", install_hint="run `bash scripts/services.sh` (it installs Debian's wrk)")


@dataclass(frozen=True, slots=True)
class WrkSummary:
    seconds: float
    requests: int  # completed responses, whatever their status
    bytes: int
    sent: int  # requests the scripts generated (a few may still be in flight at the end)
    errors: dict[str, int]  # connect, read, write, status (non-2xx/3xx), timeout
    latency_ms: dict[str, float]  # p50, p90, p95, p99, p99.9, min, max, mean
    exhausted_threads: int = 0  # bodies.lua: threads that ran out of prepared bodies
    late: int = 0  # get.lua at a fixed rate: requests that started > 10 ms after their slot
    finished_seconds: float = 0.0  # bodies.lua: every thread ran out; the longest first-to-last time
    histogram: tuple[tuple[float, int], ...] = ()  # (latency ms, count), with WRK_HISTOGRAM=1

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
        late=int(data.get("late", 0)),
        finished_seconds=int(data.get("finished_us", 0)) / 1e6,
        histogram=tuple((value / 1000, int(count)) for value, count in data.get("histogram", [])),
    )


def merged_percentiles(histograms: Sequence[Sequence[tuple[float, int]]], qs: Sequence[float]) -> dict[float, float]:
    """The ``qs`` quantiles (0..1) of several (value, count) histograms taken together (nearest rank)."""
    counts: dict[float, int] = {}
    for histogram in histograms:
        for value, count in histogram:
            counts[value] = counts.get(value, 0) + count
    total = sum(counts.values())
    out = dict.fromkeys(qs, 0.0)
    if not total:
        return out
    ordered = sorted(counts.items())
    for q in qs:
        rank = max(1, math.ceil(q * total))
        seen = 0
        for value, count in ordered:
            seen += count
            if seen >= rank:
                out[q] = value
                break
    return out


@dataclass(frozen=True, slots=True)
class WrkRun:
    summary: WrkSummary
    cpu_seconds: float  # wrk's user + system CPU (it is our child: from RUSAGE_CHILDREN)
    command: list[str]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def script_env(api_key: str, tenant_id: uuid.UUID, payload_bytes: int) -> dict[str, str]:
    """What the Lua scripts of ``loadtest/lua`` read of every run: the key, the tenant, a fresh
    store prefix and event-id nonce (two runs never share a stream or an id), the payload size."""
    return {
        "WRK_API_KEY": api_key,
        "WRK_TENANT": str(tenant_id),
        "WRK_STORE_PREFIX": uuid.uuid4().hex[:8],
        "WRK_NONCE": os.urandom(2).hex(),
        "WRK_PAYLOAD_BYTES": str(payload_bytes),
    }


@dataclass(frozen=True, slots=True)
class WrkSpec:
    """One wrk process: ``wrk -t threads -c connections -d seconds -s lua/script url`` with ``env``."""

    script: str
    url: str
    connections: int
    threads: int
    seconds: float
    env: Mapping[str, str]
    timeout_seconds: int = 30

    @property
    def wrk_threads(self) -> int:
        return max(1, min(self.threads, self.connections))

    def command(self) -> list[str]:
        return [
            wrk_binary(),
            f"-t{self.wrk_threads}",
            f"-c{self.connections}",
            f"-d{max(1, round(self.seconds))}s",
            f"--timeout={self.timeout_seconds}s",
            "-s",
            str(LUA / self.script),
            self.url,
        ]


def run_many(specs: Sequence[WrkSpec]) -> tuple[list[WrkSummary], float]:
    """Run the wrk processes side by side; their summaries and their CPU seconds together."""
    before = children_cpu()
    processes = [
        subprocess.Popen(  # noqa: S603  (wrk from PATH, our arguments)
            spec.command(),
            env={**spec.env, "WRK_THREADS": str(spec.wrk_threads)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for spec in specs
    ]
    outputs = []
    for spec, process in zip(specs, processes, strict=True):
        try:
            stdout, stderr = process.communicate(timeout=spec.seconds + 120)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
        outputs.append((process.returncode, stdout, stderr))
    cpu = children_cpu() - before
    summaries = []
    for code, stdout, stderr in outputs:
        if code != 0:
            raise RuntimeError(f"wrk exited {code}: {(stderr or stdout)[-1500:]}")
        try:
            summaries.append(parse_output(stdout))
        except (ValueError, KeyError) as exc:
            raise RuntimeError(f"{exc}; wrk said: {(stdout + stderr)[-1500:]}") from exc
    return summaries, cpu


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
    """One wrk process; raises when it fails."""
    spec = WrkSpec(script, url, connections, threads, seconds, env, timeout_seconds)
    [summary], cpu = run_many([spec])
    return WrkRun(summary, cpu, spec.command())
