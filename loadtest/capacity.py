"""Capacity runs (``python -m loadtest --capacity``): the service next to its anchor and ceiling.

For each workload, in one run and in this order:

1. the background is let drain (projection and commitment lag 0, ``--drain-timeout``), so no
   earlier backlog competes with what follows;
2. **ceiling**: the raw PostgreSQL ceiling of the workload's transaction shape
   (``loadtest.ceiling``), writes in the bench database (``<db>_lt_bench``), reads on the
   service's seeded stream;
3. **anchor**: the bare-insert anchor (``loadtest/anchor``) under the same load generator;
4. **service**: the service as deployed (web server, Celery worker and beat).

With ``--pairs N`` the anchor and the service alternate N times (anchor, service, anchor, …),
the background let drain before each pair. On shared cores whose speed drifts within minutes one
pair's ratio can be far from the next's, so the report shows the pair whose ratio is the median
and lists every pair in a note. Signed VES bodies and fixed-rate reads are measured once (the
bodies could only be replayed, and both targets are held to the rate).

Load comes from wrk (``loadtest/lua/``), except the fixed-rate read mix, which
``loadtest.fixed_rate`` sends open-loop at ``--rate`` requests/s. Around each measurement the
CPU of every process group is read from /proc (web = the server's process tree, worker, beat,
PostgreSQL = every PostgreSQL process, load = the load generator: wrk's rusage, the fixed-rate
client's thread CPU or the ceiling's client threads) together with the load average.

Last, the **sustained** run: ``batch100-s64`` on the service for ``--sustained`` seconds while
projection and commitment lag are sampled every second, then until both are 0 again.
"""

from __future__ import annotations

import contextlib
import math
import os
import resource
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import orjson
import psycopg

from loadtest import background, seed
from loadtest.anchor.sql import INSERT as ANCHOR_INSERT
from loadtest.ceiling import READ_KINDS, ReadFixture, connections_available, delete_scratch_tenant, measure_ceiling
from loadtest.cpu import (
    ProcInfo,
    Snapshot,
    child_trees_cpu,
    is_postgres,
    living_cpu_delta,
    matching_cpu,
    snapshot,
    tree_cpu,
    uneven_split,
)
from loadtest.runner import WalCounters, database_backends, ves_body_count, wal_counters
from loadtest.scenarios import CeilingShape
from loadtest.service import Service
from loadtest.wrk import WrkRun, WrkSpec, WrkSummary, merged_percentiles, run_many, run_wrk, script_env

GROUPS = ("web", "worker", "beat", "pg", "load")
SERVICE_SIDE = ("web", "worker", "beat", "pg")  # what the service costs (the load generator apart)
TARGETS = ("ceiling", "anchor", "service")

Kind = Literal["ingest", "get", "reads", "ves"]


@dataclass(frozen=True, slots=True)
class Workload:
    name: str
    title: str
    kind: Kind
    batch: int = 0  # events per request (ingest, ves); 0 for reads
    streams: int = 64
    ceiling: CeilingShape | None = None
    get: str = ""  # kind "get": "head" or "by_id"

    @property
    def unit(self) -> str:
        return "event" if self.batch else "request"


WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in [
        Workload(
            "single-s64", "single-event legacy ingest, 64 streams", "ingest", 1, 64, CeilingShape("legacy", 1, 64)
        ),
        Workload(
            "single-s1", "single-event legacy ingest, one hot stream", "ingest", 1, 1, CeilingShape("legacy", 1, 1)
        ),
        Workload(
            "batch100-s64",
            "legacy ingest, 100 events (1 KB payloads) per request, 64 streams",
            "ingest",
            100,
            64,
            CeilingShape("legacy", 100, 64),
        ),
        Workload("head", "GET /api/v1/head", "get", ceiling=CeilingShape("head"), get="head"),
        Workload(
            "event-by-id",
            "GET /api/v1/events/{id} of 1,000 seeded events",
            "get",
            ceiling=CeilingShape("by_id"),
            get="by_id",
        ),
        Workload(
            "reads-fixed",
            "reads at a fixed rate: event by id / entity history (20) / range of 100, equal shares",
            "reads",
            ceiling=CeilingShape("reads", page=20),
        ),
        Workload(
            "ves-b100",
            "signed VES ingest, 100 events per request (pre-signed), 64 streams",
            "ves",
            100,
            64,
            CeilingShape("ves", 100, 64),
        ),
    ]
}
DEFAULT_WORKLOADS = tuple(n for n in WORKLOADS if n != "ves-b100")
SUSTAINED_WORKLOAD = "batch100-s64"


# Signed VES events prepared per second of run: above what the service takes on two cores
# (5,000-10,500 events/s measured), so the bodies last the whole run and its cores are the run's.
CAPACITY_VES_BUDGET = 14000


@dataclass(frozen=True, slots=True)
class CapacityConfig:
    service: Service
    anchor_url: str
    anchor_pid: int | None
    bench_url: str
    connections: int = 16
    threads: int = 2
    seconds: float = 30.0
    warmup: float = 2.0
    ceiling_seconds: float = 10.0
    ceiling_connections: int = 16
    payload_bytes: int = 1024
    rate: float = 200.0
    ves_budget: int = CAPACITY_VES_BUDGET
    drain_timeout: float = 900.0
    sustained: float = 60.0  # 0: no sustained run
    workdir: Path = Path()  # fixtures' files (the runner passes a temporary directory)
    background: bool = True  # a Celery worker serves the service: drain before each workload
    pairs: int = 1  # anchor and service alternate this many times (ingest and get workloads)


@dataclass(slots=True)
class Measurement:
    """One target under one workload: throughput, latency, CPU seconds per group over the window."""

    target: str
    connections: int
    seconds: float  # the load's duration as the generator measured it
    window: float  # wall seconds between the CPU snapshots
    requests: int  # successful requests (ceiling: transactions)
    events: int  # events written (0 for reads)
    failed: int = 0
    latency_ms: dict[str, float] = field(default_factory=dict)  # p50, p95, p99
    cpu: dict[str, float] = field(default_factory=dict)  # group -> CPU seconds in the window
    pg_db_cpu: float = 0.0  # of "pg": the backends of the run's two databases
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    by_kind: dict[str, dict[str, float]] = field(default_factory=dict)  # fixed-rate reads
    offered_rate: float | None = None
    late: int = 0  # fixed rate: requests that started > 10 ms after their slot
    exhausted: bool = False  # prepared bodies ran out before the duration ended
    stored_events: int | None = None  # what the database gained in the window
    wal: WalCounters = field(default_factory=WalCounters)  # the cluster's, over the window
    web_processes: list[float] = field(default_factory=list)  # cores of each web worker process

    @property
    def units(self) -> int:
        return self.events or self.requests

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def throughput(self) -> float:
        """Events/s when the workload writes events, else requests/s."""
        return self.events_per_second if self.events else self.requests_per_second

    @property
    def error_rate(self) -> float:
        total = self.requests + self.failed
        return self.failed / total if total else 0.0

    def cores(self, group: str) -> float | None:
        if group not in self.cpu or not self.window:
            return None
        return self.cpu[group] / self.window

    def us_per_unit(self, group: str) -> float | None:
        if group not in self.cpu or not self.units:
            return None
        return self.cpu[group] / self.units * 1e6

    @property
    def service_side_us(self) -> float | None:
        """CPU µs per event (request) of every group but the load generator."""
        if not self.units:
            return None
        return sum(self.cpu.get(g, 0.0) for g in SERVICE_SIDE) / self.units * 1e6


@dataclass(slots=True)
class WorkloadResult:
    workload: Workload
    ceiling: Measurement | None = None
    anchor: Measurement | None = None
    service: Measurement | None = None
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    pairs: list[tuple[Measurement | None, Measurement | None]] = field(default_factory=list)  # (anchor, service)

    def rows(self) -> list[Measurement]:
        return [m for m in (self.ceiling, self.anchor, self.service) if m is not None]

    def ratio(self, other: Measurement | None) -> float | None:
        """Service throughput / ``other``'s; None at a fixed rate (both are held to it)."""
        return pair_ratio(self.workload, other, self.service)


def pair_ratio(workload: Workload, anchor: Measurement | None, service: Measurement | None) -> float | None:
    """``service``'s throughput over ``anchor``'s (or the ceiling's); None at a fixed rate or when one is missing."""
    if workload.kind == "reads" or service is None or anchor is None or not anchor.throughput:
        return None
    return service.throughput / anchor.throughput


def median_pair(workload: Workload, pairs: list[tuple[Measurement | None, Measurement | None]]) -> int:
    """The index of the pair whose service ÷ anchor ratio is the median (the lower middle one of an
    even count); pairs without a ratio (a failed target) are passed over unless all are."""
    rated = [(ratio, index) for index, (a, s) in enumerate(pairs) if (ratio := pair_ratio(workload, a, s)) is not None]
    if not rated:
        return len(pairs) - 1
    rated.sort()
    return rated[(len(rated) - 1) // 2][1]


def pairs_note(workload: Workload, pairs: list[tuple[Measurement | None, Measurement | None]], shown: int) -> str:
    """What the alternation measured, pair by pair, and which pair the rows show."""

    def side(m: Measurement | None) -> str:
        return "failed" if m is None else f"{m.throughput:,.0f}"

    unit = "events/s" if workload.kind == "ingest" else "requests/s"
    listed = "; ".join(
        f"{side(a)} → {side(s)}" + (f" ({ratio:.2f})" if (ratio := pair_ratio(workload, a, s)) is not None else "")
        for a, s in pairs
    )
    return (
        f"anchor and service alternated {len(pairs)} times ({unit}, anchor → service, ratio): {listed}; "
        f"the rows show pair {shown + 1}, the median ratio"
    )


@dataclass(slots=True)
class SustainedResult:
    seconds: float
    load: Measurement | None = None
    drain_cpu: dict[str, float] = field(default_factory=dict)
    drain_seconds: float = 0.0
    drained: bool = False
    load_start: float = 0.0  # sampler seconds
    load_end: float = 0.0
    samples: list[background.LagSample] = field(default_factory=list)
    summary: background.BackgroundSummary | None = None
    error: str | None = None


# --- process groups -------------------------------------------------------------------------


def _cmd_has(*words: str) -> Callable[[ProcInfo], bool]:
    return lambda info: all(w in info.cmdline for w in words)


@dataclass(frozen=True, slots=True)
class Groups:
    """Who is web, worker and beat: the processes we started, else found by command line."""

    service: Service

    def cpu(self, before: Snapshot, after: Snapshot, web_root: int | None, web: bool = True) -> dict[str, float]:
        s = self.service
        out: dict[str, float] = {}
        if web:
            if web_root is not None:
                out["web"] = tree_cpu(before, after, web_root)
            else:
                out["web"] = matching_cpu(
                    before, after, lambda i: s.server in i.cmdline and "loadtest.anchor" not in i.cmdline
                )
        out["worker"] = (
            tree_cpu(before, after, s.worker_pid)
            if s.worker_pid
            else matching_cpu(before, after, _cmd_has("celery", " worker"))
        )
        out["beat"] = (
            tree_cpu(before, after, s.beat_pid)
            if s.beat_pid
            else matching_cpu(before, after, _cmd_has("celery", " beat"))
        )
        out["pg"] = matching_cpu(before, after, is_postgres)
        return out


@dataclass(slots=True)
class _Window:
    """CPU per group, PostgreSQL backends of the run's databases and the load average, start to stop."""

    cfg: CapacityConfig
    web_root: int | None
    web: bool = True
    cpu: dict[str, float] = field(default_factory=dict)
    web_processes: list[float] = field(default_factory=list)  # cores of each child of web_root
    pg_db: float = 0.0
    seconds: float = 0.0
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    wal: WalCounters = field(default_factory=WalCounters)
    _before: Snapshot | None = None
    _pg_before: set[int] = field(default_factory=set)
    _wal_before: WalCounters = field(default_factory=WalCounters)

    def start(self) -> _Window:
        self._pg_before = _backends(self.cfg)
        self._wal_before = wal_counters(self.cfg.service.database_url)
        self._before = snapshot()
        return self

    def stop(self) -> None:
        after = snapshot()
        before = self._before
        assert before is not None
        self.cpu = Groups(self.cfg.service).cpu(before, after, self.web_root, self.web)
        self.pg_db = living_cpu_delta(before.processes, after.processes, self._pg_before | _backends(self.cfg))
        self.seconds = after.wall - before.wall
        if self.web and self.web_root is not None:
            seconds = max(self.seconds, 1e-9)
            self.web_processes = [cpu / seconds for cpu in child_trees_cpu(before, after, self.web_root)]
        self.load_before, self.load_after = before.load, after.load
        self.wal = wal_counters(self.cfg.service.database_url) - self._wal_before

    def fill(self, m: Measurement) -> Measurement:
        m.cpu.update(self.cpu)
        m.web_processes = self.web_processes
        m.pg_db_cpu = self.pg_db
        m.wal = self.wal
        m.window = self.seconds
        m.load_before, m.load_after = self.load_before, self.load_after
        return m


def _backends(cfg: CapacityConfig) -> set[int]:
    return database_backends(cfg.service.database_url) | database_backends(cfg.bench_url)


@contextlib.contextmanager
def _window(cfg: CapacityConfig, web_root: int | None) -> Iterator[_Window]:
    window = _Window(cfg, web_root).start()
    yield window
    window.stop()


# --- fixtures -------------------------------------------------------------------------------


@dataclass(slots=True)
class Fixtures:
    reads: ReadFixture | None = None
    head_paths: Path | None = None
    by_id_paths: Path | None = None
    reads_plan: dict[str, list[str]] = field(default_factory=dict)
    ves_bodies: Path | None = None
    ves_count: int = 0


def _write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def seed_reads(cfg: CapacityConfig, fixtures: Fixtures) -> None:
    """1,000 events on a fresh service stream (``loadtest.seed``) and the same ids as anchor rows 1..1,000.

    Runs before any ingest so the anchor's rows 1..1,000 are these (its ranges and pages read them).
    """
    s = cfg.service
    with seed.client(s.url, s.api_key) as http:
        f = seed.seed_legacy_stream(http, s.tenant_id, cfg.payload_bytes)
    rows = [
        {
            "event_id": event_id,
            "events": 1,
            "body": orjson.dumps(
                {"events": [{"event_id": event_id, "payload": seed.padded_payload(i, cfg.payload_bytes)}]}
            ),
        }
        for i, event_id in enumerate(f.event_ids)
    ]
    with psycopg.connect(cfg.bench_url, autocommit=True) as conn, conn.cursor() as cursor:
        cursor.executemany(ANCHOR_INSERT, rows)
    fixtures.reads = f
    fixtures.head_paths = _write_lines(cfg.workdir / "head.paths", [f.head_path])
    by_id = f.by_id_paths
    fixtures.by_id_paths = _write_lines(cfg.workdir / "by_id.paths", by_id)
    fixtures.reads_plan = {
        "event_by_id": by_id,
        "entity_history": f.history_paths,
        "range_100": f.range_paths,
    }


def prepare_ves(cfg: CapacityConfig, fixtures: Fixtures) -> None:
    """Register an agent key and sign ``--ves-budget`` events per second of run (each body posted once per target)."""
    s = cfg.service
    with seed.client(s.url, s.api_key) as http:
        agent = seed.register_agent(http, s.tenant_id)
    count = ves_body_count(math.ceil(cfg.seconds), cfg.ves_budget, 100, "sustained")
    path = cfg.workdir / "ves.ndjson"
    seed.write_ves_bodies(path, agent, bodies=count, batch=100, streams=64, payload_bytes=cfg.payload_bytes)
    fixtures.ves_bodies, fixtures.ves_count = path, count


# --- one target -----------------------------------------------------------------------------


def _wrk_env(cfg: CapacityConfig, workload: Workload, fixtures: Fixtures) -> tuple[str, dict[str, str]]:
    env = {**os.environ, **script_env(cfg.service.api_key, cfg.service.tenant_id, cfg.payload_bytes)}
    if workload.kind == "ingest":
        return "ingest.lua", {**env, "WRK_BATCH": str(workload.batch), "WRK_STREAMS": str(workload.streams)}
    if workload.kind == "ves":
        assert fixtures.ves_bodies is not None
        return "bodies.lua", {**env, "WRK_BODIES": str(fixtures.ves_bodies)}
    paths = fixtures.head_paths if workload.get == "head" else fixtures.by_id_paths
    assert paths is not None
    return "get.lua", {**env, "WRK_PATHS": str(paths)}


def _latency(summary: WrkSummary) -> dict[str, float]:
    return {k: summary.latency_ms.get(k, 0.0) for k in ("p50", "p95", "p99")}


def _stored(cfg: CapacityConfig, target: str) -> int:
    """Events the target's database holds (service: its tenant's streams; anchor: its rows' events)."""
    if target == "anchor":
        with psycopg.connect(cfg.bench_url, autocommit=True) as conn:
            row = conn.execute("SELECT coalesce(sum(events), 0) FROM loadtest_anchor").fetchone()
        return int(row[0]) if row else 0
    return background.sequenced_total(cfg.service.database_url, cfg.service.tenant_id)


def _fixed_rate_specs(
    cfg: CapacityConfig, fixtures: Fixtures, url: str, seconds: float
) -> tuple[list[str], list[WrkSpec]]:
    """One wrk per request kind, each at rate / kinds requests/s (get.lua with WRK_RATE), side by side."""
    kinds = sorted(fixtures.reads_plan)
    share = max(1, math.ceil(cfg.connections / len(kinds)))
    specs = []
    for kind in kinds:
        paths = _write_lines(cfg.workdir / f"{kind}.paths", fixtures.reads_plan[kind])
        env = {
            **os.environ,
            "WRK_API_KEY": cfg.service.api_key,
            "WRK_PATHS": str(paths),
            "WRK_RATE": f"{cfg.rate / len(kinds):g}",
            "WRK_HISTOGRAM": "1",
        }
        specs.append(WrkSpec("get.lua", url, share, 1, seconds, env))
    return kinds, specs


def measure_load(
    cfg: CapacityConfig,
    workload: Workload,
    fixtures: Fixtures,
    target: str,
    url: str,
    web_root: int | None,
    seconds: float,
) -> Measurement:
    """Warm up, then load ``url`` for ``seconds`` with the workload's generator and account CPU."""
    if workload.kind == "reads":
        if cfg.warmup > 0:
            run_many(_fixed_rate_specs(cfg, fixtures, url, cfg.warmup)[1])
        kinds, specs = _fixed_rate_specs(cfg, fixtures, url, seconds)
        with _window(cfg, web_root) as w:
            summaries, cpu = run_many(specs)
        merged = merged_percentiles([x.histogram for x in summaries], (0.5, 0.95, 0.99))
        m = Measurement(
            target,
            connections=sum(x.connections for x in specs),
            seconds=max(x.seconds for x in summaries),
            window=0.0,
            requests=sum(x.ok_requests for x in summaries),
            events=0,
            failed=sum(x.failed for x in summaries),
            latency_ms={"p50": merged[0.5], "p95": merged[0.95], "p99": merged[0.99]},
            by_kind={
                kind: {
                    "count": float(x.ok_requests),
                    "failed": float(x.failed),
                    **{k: x.latency_ms.get(k, 0.0) for k in ("p50", "p95", "p99", "max")},
                }
                for kind, x in zip(kinds, summaries, strict=True)
            },
            offered_rate=cfg.rate,
            late=sum(x.late for x in summaries),
        )
        m.cpu["load"] = cpu
        return w.fill(m)
    script, env = _wrk_env(cfg, workload, fixtures)

    def run(duration: float) -> WrkRun:
        return run_wrk(script, url, connections=cfg.connections, threads=cfg.threads, seconds=duration, env=env)

    if cfg.warmup > 0 and workload.kind != "ves":
        run(cfg.warmup)
        env["WRK_STORE_PREFIX"], env["WRK_NONCE"] = uuid.uuid4().hex[:8], os.urandom(2).hex()
    writes = workload.kind in {"ingest", "ves"}
    stored_before = _stored(cfg, target) if writes else 0
    with _window(cfg, web_root) as w:
        wrk = run(seconds)
    s = wrk.summary
    m = Measurement(
        target,
        connections=cfg.connections,
        seconds=s.seconds,
        window=0.0,
        requests=s.ok_requests,
        events=s.ok_requests * workload.batch,
        failed=s.failed,
        latency_ms=_latency(s),
    )
    m.cpu["load"] = wrk.cpu_seconds
    if writes:
        m.stored_events = _stored(cfg, target) - stored_before
    if s.exhausted_threads:
        m.exhausted = True
        if s.finished_seconds:  # every thread ran out: the rate is over the time it took
            m.seconds = s.finished_seconds
    return w.fill(m)


def measure_ceiling_cpu(cfg: CapacityConfig, workload: Workload, fixtures: Fixtures, notes: list[str]) -> Measurement:
    shape = workload.ceiling
    assert shape is not None
    reads = shape.kind in READ_KINDS
    database = cfg.service.database_url if reads else cfg.bench_url
    connections = connections_available(database, cfg.ceiling_connections)
    if connections < cfg.ceiling_connections:
        notes.append(
            f"ceiling: on {connections} connections, not {cfg.ceiling_connections}: PostgreSQL's "
            "max_connections left no more beside the service's and the anchor's open pools"
        )
    tenant = uuid.uuid4()
    own = resource.getrusage(resource.RUSAGE_SELF)
    w = _Window(cfg, None, web=False).start()
    c = measure_ceiling(
        database,
        shape,
        connections=connections,
        seconds=cfg.ceiling_seconds,
        payload_bytes=cfg.payload_bytes,
        reads=fixtures.reads,
        tenant_id=tenant,
        cleanup=False,
        at_end=w.stop,  # while its backends live: their CPU is only in /proc until they exit
    )
    done = resource.getrusage(resource.RUSAGE_SELF)
    if not reads:
        delete_scratch_tenant(database, tenant)
    m = Measurement(
        "ceiling",
        connections=c.connections,
        seconds=c.seconds,
        window=0.0,
        requests=c.transactions,
        events=c.events,
        latency_ms={"p50": c.p50_ms, "p95": c.p95_ms, "p99": c.p99_ms},
    )
    m.cpu["load"] = (done.ru_utime + done.ru_stime) - (own.ru_utime + own.ru_stime)
    return w.fill(m)


# --- a workload, the sustained run, the whole run -------------------------------------------


def _log(text: str) -> None:
    print(f"[loadtest] {text}", file=sys.stderr, flush=True)


def _drain(cfg: CapacityConfig, result: WorkloadResult | None, before: str) -> None:
    if not cfg.background:
        return
    drained, waited = background.drain(cfg.service.database_url, cfg.drain_timeout)
    if result is not None and (not drained or waited > 5):
        state = "drained" if drained else f"still lagging after {cfg.drain_timeout:.0f} s (went on)"
        result.notes.append(f"background {state}: waited {waited:.0f} s before {before}")


def run_workload(cfg: CapacityConfig, workload: Workload, fixtures: Fixtures) -> WorkloadResult:
    """Ceiling, then anchor and service (``cfg.pairs`` times); a failure is recorded and the next target still runs."""
    result = WorkloadResult(workload)
    _attempt_drain(cfg, result, "the ceiling")
    _analyze(cfg, result)
    if workload.ceiling is not None:
        _log(f"{workload.name}: ceiling …")
        result.ceiling = _attempt(result, "ceiling", lambda: measure_ceiling_cpu(cfg, workload, fixtures, result.notes))
    pairs = cfg.pairs if workload.kind in {"ingest", "get"} else 1
    for number in range(1, pairs + 1):
        which = f" (pair {number} of {pairs})" if pairs > 1 else ""
        if number > 1:  # the previous pair's events are the worker's to project, not the anchor's to compete with
            _attempt_drain(cfg, result, f"pair {number}")
        _log(f"{workload.name}: anchor{which} …")
        anchor = _attempt(
            result,
            "anchor",
            lambda: measure_load(cfg, workload, fixtures, "anchor", cfg.anchor_url, cfg.anchor_pid, cfg.seconds),
        )
        _log(f"{workload.name}: service{which} …")
        service = _attempt(
            result,
            "service",
            lambda: measure_load(cfg, workload, fixtures, "service", cfg.service.url, cfg.service.pid, cfg.seconds),
        )
        result.pairs.append((anchor, service))
    shown = median_pair(workload, result.pairs)
    result.anchor, result.service = result.pairs[shown]
    if pairs > 1:
        result.notes.append(pairs_note(workload, result.pairs, shown))
    add_notes(result, fixtures)
    return result


def _attempt_drain(cfg: CapacityConfig, result: WorkloadResult, before: str) -> None:
    try:
        _drain(cfg, result, before)
    except Exception as exc:
        result.errors.append(f"drain: {type(exc).__name__}: {exc}")


def _attempt(result: WorkloadResult, target: str, step: Callable[[], Measurement]) -> Measurement | None:
    """``step``'s measurement, or None with the failure recorded: one broken target must not stop the run."""
    try:
        return step()
    except Exception as exc:
        result.errors.append(f"{target}: {type(exc).__name__}: {exc}")
        return None


def _analyze(cfg: CapacityConfig, result: WorkloadResult) -> None:
    """Planner statistics for both databases before each workload, as autovacuum keeps them.

    A PostgreSQL run with ``autovacuum = off`` (this machine's CI configuration) never analyzes
    the tables the earlier workloads filled; with no statistics the by-id lookup's plan took the
    tenant's ``created_at`` index and filtered every event of the tenant in the partition
    instead of probing its unique ``(tenant_id, event_id)`` index (docs/performance.md).
    """
    started = time.monotonic()
    for url in (cfg.service.database_url, cfg.bench_url):
        with psycopg.connect(url, autocommit=True) as conn:
            autovacuum = conn.execute("SHOW autovacuum").fetchone()
            conn.execute("ANALYZE")
    state = "on" if autovacuum and autovacuum[0] == "on" else "off"
    result.notes.append(
        f"ANALYZE of both databases before the workload ({time.monotonic() - started:.1f} s; autovacuum {state})"
    )


def add_notes(result: WorkloadResult, fixtures: Fixtures) -> None:
    """Notes on what a reader should know about the rows (failures, short runs, lost events)."""
    for m in (result.anchor, result.service):
        if m is None:
            continue
        if m.failed:
            result.notes.append(f"{m.target}: {m.failed} failed requests ({m.error_rate:.2%})")
        if uneven_split(m.web_processes):
            cores = " / ".join(f"{c:.2f}" for c in m.web_processes)
            result.notes.append(
                f"{m.target}: its web processes used {cores} cores: the load sat unevenly on them "
                "(connections that stay on one worker, ADR 0037)"
            )
        if m.stored_events is not None and m.stored_events < m.events:
            result.notes.append(
                f"{m.target}: {m.events:,} events acknowledged but the database gained only {m.stored_events:,}"
            )
        if m.offered_rate and m.seconds and (m.requests_per_second < 0.95 * m.offered_rate or m.late > 0.01 * m.units):
            result.notes.append(
                f"{m.target}: {m.requests_per_second:.0f} requests/s against {m.offered_rate:.0f} offered, "
                f"{m.late} requests started more than 10 ms after their slot: it did not keep the rate, so its "
                "latency is that of a closed loop (waiting for a free connection is not in it)"
            )
        if m.exhausted:
            result.notes.append(
                f"{m.target}: all {fixtures.ves_count} signed bodies were posted in {m.seconds:.1f} s, before the "
                "duration ended: its rate is over that time, its cores over the whole window (raise --ves-budget)"
            )


def run_sustained(cfg: CapacityConfig, fixtures: Fixtures) -> SustainedResult:
    """``batch100-s64`` on the service for ``cfg.sustained`` s, lag sampled each second, then the drain."""
    result = SustainedResult(seconds=cfg.sustained)
    workload = WORKLOADS[SUSTAINED_WORKLOAD]
    try:
        _drain(cfg, None, "the sustained run")
        sampler = background.Sampler(cfg.service.database_url, interval=1.0).start()
        try:
            load_start = sampler.now()
            result.load = measure_load(
                cfg, workload, fixtures, "service", cfg.service.url, cfg.service.pid, cfg.sustained
            )
            load_end = sampler.now()
            with _window(cfg, cfg.service.pid) as w:
                result.drained = background.wait_drained(sampler, cfg.drain_timeout)
                time.sleep(1.5)  # a sample or two past the drain, for the plot
        finally:
            result.samples = sampler.stop()
        if sampler.error:
            raise RuntimeError(f"lag sampling failed: {sampler.error}")
        result.drain_cpu, result.drain_seconds = w.cpu, w.seconds
        # The warm-up ran inside the sampled time too: the load is the last `seconds` before load_end.
        start = max(load_start, load_end - (result.load.seconds if result.load else cfg.sustained))
        result.load_start, result.load_end = start, load_end
        result.summary = background.summarize(result.samples, start, load_end)
    except Exception as exc:
        result.error = f"{type(exc).__name__}: {exc}"
    return result


def run_capacity(cfg: CapacityConfig, workloads: list[Workload]) -> tuple[list[WorkloadResult], SustainedResult | None]:
    fixtures = Fixtures()
    if any(w.kind in {"get", "reads"} for w in workloads):
        _log("seeding 1,000 events for the reads (service and anchor) …")
        seed_reads(cfg, fixtures)
    if any(w.kind == "ves" for w in workloads):
        _log("signing VES bodies …")
        prepare_ves(cfg, fixtures)
    results = [run_workload(cfg, w, fixtures) for w in workloads]
    sustained = None
    if cfg.sustained > 0:
        _log(f"sustained {SUSTAINED_WORKLOAD} for {cfg.sustained:g} s, then the drain …")
        sustained = run_sustained(cfg, fixtures)
    return results, sustained
