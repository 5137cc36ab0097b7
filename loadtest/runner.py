"""One scenario end to end: seed, database ceiling, k6 with CPU sampling, parse, plot."""

from __future__ import annotations

import json
import math
import os
import resource
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg

from loadtest import seed
from loadtest.ceiling import ReadFixture, measure_ceiling
from loadtest.cpu import cpu_use, snapshot
from loadtest.k6 import THRESHOLDS_CROSSED, parse_summary, read_series, run_k6
from loadtest.report import ScenarioResult, plot_series
from loadtest.scenarios import Scenario, k6_thresholds
from loadtest.sql import SELECT_DATABASE_BACKENDS, SELECT_WAL_COUNTERS


@dataclass(frozen=True, slots=True)
class RunConfig:
    url: str
    api_key: str
    tenant_id: uuid.UUID
    database_url: str  # the service's database: the ceiling runs there too
    service_pid: int | None
    profile: str
    duration_seconds: int
    ceiling_seconds: float
    payload_bytes: int
    ves_budget: int  # signed events prepared per second of run
    plot_dir: Path


def database_backends(database_url: str) -> set[int]:
    """Pids of the PostgreSQL backends connected to the service's database."""
    dbname = psycopg.conninfo.conninfo_to_dict(database_url).get("dbname")
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(SELECT_DATABASE_BACKENDS, {"db": dbname}).fetchall()
    return {int(r[0]) for r in rows}


@dataclass(frozen=True, slots=True)
class WalCounters:
    """Cluster-wide WAL bytes, full-page images and checkpoints so far (``pg_stat_wal``)."""

    wal_bytes: int = 0
    full_page_images: int = 0
    checkpoints: int = 0

    def __sub__(self, other: WalCounters) -> WalCounters:
        return WalCounters(
            self.wal_bytes - other.wal_bytes,
            self.full_page_images - other.full_page_images,
            self.checkpoints - other.checkpoints,
        )


def wal_counters(database_url: str) -> WalCounters:
    """The cluster's WAL counters now; zeros when the server cannot say (a stats reset is rare)."""
    try:
        with psycopg.connect(database_url, autocommit=True) as conn:
            row = conn.execute(SELECT_WAL_COUNTERS).fetchone()
    except psycopg.Error:
        return WalCounters()
    return WalCounters(*(int(v) for v in row)) if row else WalCounters()


# Signed VES events prepared per second of a k6 run (k6 itself costs ~0.9 ms of CPU per request).
K6_VES_BUDGET = 2500


def ves_body_count(duration_seconds: int, budget: int, batch: int, profile: str) -> int:
    """Bodies to sign for a VES run: ``budget`` events per second of run (a smoke run needs few)."""
    if profile == "smoke":
        return 10
    return max(10, math.ceil(duration_seconds * budget / batch))


def _prepare(cfg: RunConfig, scenario: Scenario, workdir: Path, env: dict[str, str]) -> ReadFixture | None:
    """Seed what the scenario reads; set FIXTURE or BODIES in ``env``."""
    if scenario.fixture == "none":
        return None
    with seed.client(cfg.url, cfg.api_key) as http:
        if scenario.fixture == "queries":
            fixture = seed.seed_legacy_stream(http, cfg.tenant_id, cfg.payload_bytes)
            (workdir / "fixture.json").write_bytes(seed.fixture_json(fixture))
            env["FIXTURE"] = str(workdir / "fixture.json")
            return fixture
        if scenario.fixture == "mixed":
            (workdir / "fixture.json").write_bytes(seed.seed_mixed(http, cfg.tenant_id, cfg.payload_bytes))
            env["FIXTURE"] = str(workdir / "fixture.json")
            return None
        agent = seed.register_agent(http, cfg.tenant_id)
    batch, streams = (scenario.ceiling.batch, scenario.ceiling.streams) if scenario.ceiling else (100, 64)
    bodies = ves_body_count(cfg.duration_seconds, cfg.ves_budget, batch, cfg.profile)
    seed.write_ves_bodies(
        workdir / "bodies.ndjson", agent, bodies=bodies, batch=batch, streams=streams, payload_bytes=cfg.payload_bytes
    )
    env["BODIES"] = str(workdir / "bodies.ndjson")
    env["VES_BODIES"] = str(bodies)
    return None


def run_scenario(cfg: RunConfig, scenario: Scenario, vus: int) -> ScenarioResult:
    """Seed, measure the ceiling, run k6; failures are recorded in the result, not raised.

    The smoke profile runs one VU (and one ceiling connection); stress ramps k6 to 4 x ``vus``.
    """
    vus = 1 if cfg.profile == "smoke" else vus
    result = ScenarioResult(scenario=scenario, vus=vus, peak_vus=4 * vus if cfg.profile == "stress" else None)
    with tempfile.TemporaryDirectory(prefix="loadtest-") as tmp:
        workdir = Path(tmp)
        env = {
            **os.environ,
            **scenario.env,
            "BASE_URL": cfg.url,
            "API_KEY": cfg.api_key,
            "TENANT_ID": str(cfg.tenant_id),
            "STORE_ID": str(uuid.uuid4()),
            "STORE_PREFIX": uuid.uuid4().hex[:8],
            "PROFILE": cfg.profile,
            "VUS": str(vus),
            "DURATION": f"{cfg.duration_seconds}s",
            "PAYLOAD_BYTES": str(cfg.payload_bytes),
            "THRESHOLDS": json.dumps(k6_thresholds(scenario.target, scenario.request_names)),
            "K6_NO_USAGE_REPORT": "true",
        }
        try:
            reads = _prepare(cfg, scenario, workdir, env)
            if scenario.ceiling is not None:
                result.ceiling = measure_ceiling(
                    cfg.database_url,
                    scenario.ceiling,
                    connections=vus,
                    seconds=cfg.ceiling_seconds,
                    payload_bytes=cfg.payload_bytes,
                    reads=reads,
                )
            pg_before = database_backends(cfg.database_url)
            before = snapshot()
            children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
            run = run_k6(scenario.script, env, workdir)
            children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
            after = snapshot()
            pg_pids = pg_before | database_backends(cfg.database_url)
        except Exception as exc:  # one broken scenario must not stop a suite
            result.error = f"{type(exc).__name__}: {exc}"
            return result
        result.cpu = cpu_use(before, after, service_root=cfg.service_pid, postgres_db_pids=pg_pids)
        # k6 is our child and has exited, so its CPU is in the children's rusage.
        k6_seconds = (children_after.ru_utime + children_after.ru_stime) - (
            children_before.ru_utime + children_before.ru_stime
        )
        result.k6_cores = k6_seconds / max(result.cpu.seconds, 1e-9)
        result.k6_exit = run.exit_code
        if not run.summary:
            result.error = f"k6 exited {run.exit_code} without a summary: {run.stderr_tail}"
            return result
        if run.exit_code not in {0, THRESHOLDS_CROSSED}:
            result.notes.append(f"k6 exited {run.exit_code}: {run.stderr_tail[-300:]}")
        result.summary = parse_summary(run.summary, scenario.request_names)
        series = read_series(run.series_path)
        result.series = series.points
        if series.failures:
            failed = ", ".join(f"{k}: {v}" for k, v in sorted(series.failures.items()))
            result.notes.append(f"failed requests by name and status: {failed}")
    bodies = int(env.get("VES_BODIES", "0"))
    if bodies and cfg.profile != "smoke" and result.summary is not None and result.summary.requests >= bodies:
        result.notes.append(
            f"all {bodies} signed bodies were posted before the duration ended, so the run was shorter "
            "than asked; raise --ves-budget to prepare more"
        )
    if result.series:
        result.plot = cfg.plot_dir / f"{scenario.name}-{vus}vu.png"
        plot_series(
            result.series, result.plot, title=f"{scenario.title} ({vus} VUs)", events=scenario.fixture != "queries"
        )
    return result
