"""The load-test catalogue: scenarios, their targets (the scenario target table of docs/performance.md) and the suites.

This module is the single source of the numbers: the runner turns each scenario's target into
k6 thresholds (``k6_thresholds``) and into the "target vs measured" rows of the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

FixtureKind = Literal["none", "queries", "mixed", "ves"]
CeilingKind = Literal["legacy", "ves", "reads", "head", "by_id"]

MAX_ERROR_RATE = 0.001  # the targets' error rate: < 0.1 %


@dataclass(frozen=True, slots=True)
class LatencyBound:
    """``stat`` (k6 trend stat: ``med``, ``p(95)``, ``p(99)``) of requests tagged ``name`` < ``max_ms``."""

    name: str
    stat: str
    max_ms: float


@dataclass(frozen=True, slots=True)
class Target:
    """One row of the scenario target table (``None``: no bound of that kind)."""

    text: str
    min_events_per_second: float | None = None
    min_ceiling_ratio: float | None = None
    latency: tuple[LatencyBound, ...] = ()
    max_error_rate: float = MAX_ERROR_RATE


@dataclass(frozen=True, slots=True)
class CeilingShape:
    """The database work of one request of the scenario, replayed without the application.

    ``reads``: by id, an entity page of ``page`` events, a range of 100, in turn; ``head`` and
    ``by_id``: that one read statement.
    """

    kind: CeilingKind
    batch: int = 1
    streams: int = 1
    page: int = 100


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    title: str
    script: str
    vus: int
    target: Target
    ceiling: CeilingShape | None
    fixture: FixtureKind = "none"
    env: dict[str, str] = field(default_factory=dict)
    # The k6 tag names whose latency the report lists (one row each).
    request_names: tuple[str, ...] = ("ingest",)


def _ingest(batch: int, streams: int) -> Scenario:
    where = "one stream" if streams == 1 else f"{streams} streams"
    return Scenario(
        name=f"ingest-b{batch}-s{streams}",
        title=f"legacy ingest, {batch} event{'s' if batch > 1 else ''}/request, {where}",
        script="ingest_batch.js",
        vus=8 if batch >= 100 else 16,
        target=Target("no target: informational", latency=(LatencyBound("ingest", "p(99)", 100),)),
        ceiling=CeilingShape("legacy", batch, streams),
        env={"BATCH": str(batch), "STREAMS": str(streams)},
    )


def _headline(scenario: Scenario, target: Target) -> Scenario:
    return replace(scenario, target=target)


_P99_100 = LatencyBound("ingest", "p(99)", 100)

CATALOGUE: dict[str, Scenario] = {
    s.name: s
    for s in [
        *(_ingest(b, n) for b in (1, 10, 100, 500) for n in (1, 64)),
        Scenario(
            name="queries",
            title="queries: event by id, entity history, range of 100 (equal shares)",
            script="queries.js",
            vus=8,
            target=Target(
                "get event by id / entity history / range of 100 (p95): 5 / 10 / 20 ms",
                latency=(
                    LatencyBound("event_by_id", "p(95)", 5),
                    LatencyBound("entity_history", "p(95)", 10),
                    LatencyBound("range_100", "p(95)", 20),
                ),
            ),
            ceiling=CeilingShape("reads"),
            fixture="queries",
            request_names=("event_by_id", "entity_history", "range_100"),
        ),
        Scenario(
            name="mixed",
            title="mixed: 70 % ingest (10 events, 64 streams), 20 % queries, 10 % commitments/proofs",
            script="mixed.js",
            vus=16,
            target=Target("no target: informational", latency=(_P99_100,)),
            ceiling=CeilingShape("legacy", 10, 64),
            fixture="mixed",
            env={"BATCH": "10", "STREAMS": "64"},
            request_names=(
                "ingest",
                "event_by_id",
                "entity_history",
                "range_100",
                "proof",
                "ves_checkpoint",
                "ves_inclusion",
                "commitments",
            ),
        ),
        Scenario(
            name="ves-b100",
            title="signed VES ingest, 100 events/request, 64 streams",
            script="ves_ingest.js",
            vus=4,
            target=Target("signed VES ingest, 100 events/request: ≥ 10,000 events/s", min_events_per_second=10_000),
            ceiling=CeilingShape("ves", 100, 64),
            fixture="ves",
            request_names=("ves_ingest",),
        ),
        Scenario(
            name="reference",
            title="the reference's single-event body, one hot stream, head read every 4th iteration",
            script="ingest_single.js",
            vus=10,
            target=Target("no target: the reference measured 2,500 events/s on 4 cores"),
            ceiling=CeilingShape("legacy", 1, 1),
            env={"HEAD_EVERY": "4", "STREAMS": "1"},
            request_names=("ingest", "head"),
        ),
    ]
}

# The scenario target table (docs/performance.md, "Load tests"), row by row.
HEADLINE: tuple[Scenario, ...] = (
    _headline(
        CATALOGUE["ingest-b100-s64"],
        Target(
            "batched ingest, 100 events/request, 64 streams: ≥ 22,000 events/s, ≥ 0.5 x the ceiling, p99 < 100 ms",
            min_events_per_second=22_000,
            min_ceiling_ratio=0.5,
            latency=(_P99_100,),
        ),
    ),
    _headline(
        CATALOGUE["ingest-b100-s1"],
        Target("batched ingest, one stream: ≥ 12,000 events/s", min_events_per_second=12_000),
    ),
    _headline(
        CATALOGUE["ingest-b1-s64"],
        Target(
            "single-event requests, 64 streams: ≥ 2,500 events/s; p50 < 10 ms, p95 < 50 ms, p99 < 100 ms",
            min_events_per_second=2_500,
            latency=(
                LatencyBound("ingest", "med", 10),
                LatencyBound("ingest", "p(95)", 50),
                LatencyBound("ingest", "p(99)", 100),
            ),
        ),
    ),
    _headline(
        CATALOGUE["ingest-b1-s1"],
        Target("single-event requests, one hot stream: ≥ 2,500 events/s", min_events_per_second=2_500),
    ),
    CATALOGUE["ves-b100"],
    CATALOGUE["queries"],
)

SUITES: dict[str, tuple[Scenario, ...]] = {
    "headline": HEADLINE,
    "all": (*HEADLINE, *(s for s in CATALOGUE.values() if s.name not in {h.name for h in HEADLINE})),
}


def k6_thresholds(target: Target, request_names: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """k6 thresholds for ``target`` (k6 marks the run failed, exit 99, when one is crossed).

    k6 exports a tag's latency only when a threshold names it, so every request name gets at
    least ``max>=0`` (always true).
    """
    thresholds: dict[str, list[str]] = {"http_req_failed": [f"rate<{target.max_error_rate:g}"]}
    if target.min_events_per_second is not None:
        thresholds["events_sequenced"] = [f"rate>={target.min_events_per_second:g}"]
    for bound in target.latency:
        thresholds.setdefault(f"http_req_duration{{name:{bound.name}}}", []).append(f"{bound.stat}<{bound.max_ms:g}")
    for name in request_names:
        thresholds.setdefault(f"http_req_duration{{name:{name}}}", ["max>=0"])
    return thresholds
