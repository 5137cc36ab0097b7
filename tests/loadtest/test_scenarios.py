"""The catalogue: the target rows of loadtest/scenarios.py, their k6 thresholds, and scripts that exist."""

from __future__ import annotations

from loadtest.k6 import HERE
from loadtest.scenarios import CATALOGUE, HEADLINE, SUITES, LatencyBound, Target, k6_thresholds


def test_the_headline_suite_has_one_scenario_per_target_row_of_issue_9() -> None:
    names = [s.name for s in HEADLINE]
    assert names == ["ingest-b100-s64", "ingest-b100-s1", "ingest-b1-s64", "ingest-b1-s1", "ves-b100", "queries"]
    rates = [s.target.min_events_per_second for s in HEADLINE]
    assert rates == [22_000, 12_000, 2_500, 2_500, 10_000, None]
    assert HEADLINE[0].target.min_ceiling_ratio == 0.5
    assert {(b.name, b.stat, b.max_ms) for b in HEADLINE[5].target.latency} == {
        ("event_by_id", "p(95)", 5),
        ("entity_history", "p(95)", 10),
        ("range_100", "p(95)", 20),
    }
    assert all(s.target.max_error_rate == 0.001 for s in HEADLINE)


def test_every_scenario_runs_a_script_that_exists_and_measures_a_ceiling() -> None:
    for scenario in CATALOGUE.values():
        assert (HERE / scenario.script).is_file(), scenario.script
        assert scenario.ceiling is not None
    assert {s.name for s in SUITES["all"]} == set(CATALOGUE)


def test_ingest_scenarios_cover_batch_sizes_1_10_100_500_on_one_and_64_streams() -> None:
    shapes = {
        (s.ceiling.batch, s.ceiling.streams)
        for s in CATALOGUE.values()
        if s.script == "ingest_batch.js" and s.ceiling is not None
    }
    assert shapes == {(b, n) for b in (1, 10, 100, 500) for n in (1, 64)}


def test_thresholds_carry_every_bound_and_export_every_request_name() -> None:
    target = Target(
        "t",
        min_events_per_second=2_500,
        latency=(LatencyBound("ingest", "med", 10), LatencyBound("ingest", "p(99)", 100)),
    )
    assert k6_thresholds(target, ("ingest", "head")) == {
        "http_req_failed": ["rate<0.001"],
        "events_sequenced": ["rate>=2500"],
        "http_req_duration{name:ingest}": ["med<10", "p(99)<100"],
        "http_req_duration{name:head}": ["max>=0"],
    }
