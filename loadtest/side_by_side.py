"""Two builds of the service side by side under the real server, taking turns under the same load.

    python -m loadtest.side_by_side BASE CHANGED [--workload ingest|head|by-id|history|range] [--streams 64] [--batch 1]
        [--rounds 6] [--seconds 10]

Each side is a checkout (a ``git worktree`` of the commit to compare, with ``.venv`` linked or
its own) and, after a colon, settings for it: ``/tmp/wt_base``, ``.:GROUP_COMMIT_MAX_WAIT_MS=0``.
Both are served at once, each from its own directory and ``PYTHONPATH`` on its own scratch
database (``loadtest.service.scratch_service``: gunicorn or granian as deployed, sealed payloads,
signed receipts, no Celery worker), and wrk drives one and then the other with single or batched
legacy ingest (``loadtest/lua/ingest.lua``), or with reads of a stream of 1,000 events seeded on
each side first (``--workload head``: its head; ``by-id``: its events by id; ``history``: its
entities' latest 20 events; ``range``: pages of 100 events; ``loadtest/lua/get.lua``),
the order swapped every round, so that both meet
the same drift of a shared machine (``docs/performance.md``: whole runs a few minutes apart
differ by a quarter). Per point: requests/s, the web's and PostgreSQL's CPU per request (from
``/proc``), wrk's own (the machine's canary: it does the same work per request whatever the
service does), the requests each group-commit transaction served (``ingest_group_requests``),
and p99; then each side's medians and the per-round ratios CHANGED / BASE with their median.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import statistics
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from loadtest import seed
from loadtest.cpu import Snapshot, is_postgres, matching_cpu, snapshot, tree_cpu
from loadtest.service import Service, scratch_service
from loadtest.wrk import WrkRun, run_wrk, script_env

WORKLOADS = ("ingest", "head", "by-id", "history", "range")
_GROUPS = re.compile(r"^ingest_group_requests_(count|sum)(?:\{[^}]*\})? ([0-9.e+-]+)$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Side:
    """One build: a checkout and the settings it runs with."""

    root: Path
    settings: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        extra = ",".join(f"{name}={value}" for name, value in self.settings.items())
        return f"{self.root.name}{':' + extra if extra else ''}"


def parse_side(text: str) -> Side:
    """``ROOT[:NAME=VALUE,NAME=VALUE]``; raises ``ValueError`` for a root that is not a checkout."""
    root_text, _, extra = text.partition(":")
    root = Path(root_text or ".").resolve()
    if not (root / "manage.py").is_file() or not (root / "scripts" / "web.sh").is_file():
        raise ValueError(f"{root} is not a checkout of this project (no manage.py or scripts/web.sh)")
    settings: dict[str, str] = {}
    for item in filter(None, extra.split(",")):
        name, equals, value = item.partition("=")
        if not equals or not name:
            raise ValueError(f"setting {item!r} is not NAME=VALUE")
        settings[name] = value
    return Side(root, settings)


@dataclass(frozen=True, slots=True)
class Point:
    """One side's measurement in one round."""

    requests_per_second: float
    web_us: float  # web CPU per request
    postgres_us: float  # every PostgreSQL process's CPU per request
    wrk_us: float  # the load generator's CPU per request
    requests_per_group: float | None  # None: no group-commit transaction observed
    p99_ms: float
    errors: int


def group_totals(metrics_text: str) -> tuple[float, float]:
    """``ingest_group_requests``' observation count and sum over every label set of the exposition."""
    totals = {"count": 0.0, "sum": 0.0}
    for kind, value in _GROUPS.findall(metrics_text):
        totals[kind] += float(value)
    return totals["count"], totals["sum"]


def point(run: WrkRun, before: Snapshot, after: Snapshot, web_pid: int, groups: tuple[float, float]) -> Point:
    """A point from one wrk run, the CPU snapshots around it and the group totals' difference."""
    summary = run.summary
    requests = max(summary.ok_requests, 1)
    transactions, served = groups
    return Point(
        requests_per_second=summary.ok_requests / summary.seconds if summary.seconds else 0.0,
        web_us=tree_cpu(before, after, web_pid) / requests * 1e6,
        postgres_us=matching_cpu(before, after, is_postgres) / requests * 1e6,
        wrk_us=run.cpu_seconds / requests * 1e6,
        requests_per_group=served / transactions if transactions else None,
        p99_ms=summary.latency_ms.get("p99", 0.0),
        errors=summary.failed,
    )


def ratios(base: Sequence[Point], changed: Sequence[Point]) -> list[float]:
    """Per round: the changed side's requests/s over the base side's."""
    return [
        c.requests_per_second / b.requests_per_second
        for b, c in zip(base, changed, strict=True)
        if b.requests_per_second
    ]


def summary_lines(sides: Sequence[Side], points: Sequence[Sequence[Point]]) -> list[str]:
    """Each side's medians, then the per-round ratios of the second side to the first."""
    lines = []
    for side, own in zip(sides, points, strict=True):
        groups = [p.requests_per_group for p in own if p.requests_per_group is not None]
        lines.append(
            f"{side.label}: median {statistics.median(p.requests_per_second for p in own):,.0f} requests/s, "
            f"web {statistics.median(p.web_us for p in own):,.0f} µs, "
            f"PostgreSQL {statistics.median(p.postgres_us for p in own):,.0f} µs, "
            f"wrk {statistics.median(p.wrk_us for p in own):,.1f} µs per request"
            + (f", {statistics.median(groups):.2f} requests per transaction" if groups else "")
        )
    per_round = ratios(points[0], points[1])
    if per_round:
        shown = " / ".join(f"{r:.2f}" for r in per_round)
        lines.append(
            f"{sides[1].label} ÷ {sides[0].label} per round: {shown} (median {statistics.median(per_round):.2f})"
        )
    return lines


def _group_totals_of(service: Service) -> tuple[float, float]:
    response = httpx.get(f"{service.url}/metrics", headers={"Authorization": f"ApiKey {service.api_key}"}, timeout=10)
    response.raise_for_status()
    return group_totals(response.text)


def read_paths(service: Service, workload: str, directory: Path, payload_bytes: int) -> Path:
    """A file of the paths ``get.lua`` asks for: a stream of 1,000 events seeded on ``service``,
    then its head (``head``), each of its events (``by-id``), its entities' histories (``history``)
    or its pages of 100 (``range``)."""
    with seed.client(service.url, service.api_key) as http:
        stream = seed.seed_legacy_stream(http, service.tenant_id, payload_bytes)
    paths = {
        "head": [stream.head_path],
        "by-id": stream.by_id_paths,
        "history": stream.history_paths,
        "range": stream.range_paths,
    }[workload]
    path = directory / f"{service.tenant_id}.paths"
    path.write_text("\n".join(paths) + "\n")
    return path


def _measure(service: Service, args: argparse.Namespace, paths: Path | None) -> Point:
    """One wrk run on ``service``: ingest, or reads of ``paths`` (no group-commit figure then)."""
    env = script_env(service.api_key, service.tenant_id, args.payload_bytes)
    if paths:
        script, env = "get.lua", {**env, "WRK_PATHS": str(paths)}
    else:
        script, env = "ingest.lua", {**env, "WRK_STREAMS": str(args.streams), "WRK_BATCH": str(args.batch)}
    assert service.pid is not None
    groups_before = (0.0, 0.0) if paths else _group_totals_of(service)
    before = snapshot()
    run = run_wrk(script, service.url, connections=args.connections, threads=2, seconds=args.seconds, env=env)
    after = snapshot()
    groups_after = (0.0, 0.0) if paths else _group_totals_of(service)
    groups = (groups_after[0] - groups_before[0], groups_after[1] - groups_before[1])
    return point(run, before, after, service.pid, groups)


def run(args: argparse.Namespace, sides: Sequence[Side], say: Callable[[str], None] = print) -> list[list[Point]]:
    points: list[list[Point]] = [[], []]
    with contextlib.ExitStack() as stack:
        services = [
            stack.enter_context(
                scratch_service(
                    f"{args.database_url.rsplit('/', 1)[0]}/side_by_side_{index}",
                    args.port + 10 * index,
                    server=args.server,
                    root=side.root,
                    settings=side.settings,
                )
            )
            for index, side in enumerate(sides)
        ]
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="side-by-side-")))
        paths = [
            read_paths(service, args.workload, directory, args.payload_bytes) if args.workload != "ingest" else None
            for service in services
        ]
        for round_number in range(args.rounds):
            order = [0, 1] if round_number % 2 == 0 else [1, 0]
            for index in order:
                measured = _measure(services[index], args, paths[index])
                points[index].append(measured)
                groups = "-" if measured.requests_per_group is None else f"{measured.requests_per_group:.2f}"
                say(
                    f"round {round_number + 1} {sides[index].label}: {measured.requests_per_second:,.0f} requests/s, "
                    f"web {measured.web_us:,.0f} µs, PostgreSQL {measured.postgres_us:,.0f} µs, "
                    f"wrk {measured.wrk_us:,.1f} µs per request, {groups} requests per transaction, "
                    f"p99 {measured.p99_ms:.1f} ms, {measured.errors} errors"
                )
    return points


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m loadtest.side_by_side", description=__doc__.split("\n\n")[0])
    parser.add_argument("base", help="ROOT[:NAME=VALUE,...] (the first side)")
    parser.add_argument("changed", help="ROOT[:NAME=VALUE,...] (the side compared with it)")
    parser.add_argument("--workload", choices=WORKLOADS, default="ingest")
    parser.add_argument("--streams", type=int, default=64, help="ingest: streams written round robin")
    parser.add_argument("--batch", type=int, default=1, help="ingest: events per request")
    parser.add_argument("--payload-bytes", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=10.0, help="wrk's duration per point")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--server", choices=("gunicorn", "granian"), default="gunicorn")
    parser.add_argument("--port", type=int, default=8301, help="the first side's; the second's is 10 more")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("set DATABASE_URL or --database-url (the scratch databases are made beside it)")
    if args.rounds < 1 or args.seconds <= 0:
        parser.error("--rounds and --seconds must be positive")
    try:
        sides = [parse_side(args.base), parse_side(args.changed)]
    except ValueError as exc:
        parser.error(str(exc))
    points = run(args, sides)
    for line in summary_lines(sides, points):
        print(line)


if __name__ == "__main__":
    main()
