"""Parsing what k6 writes: the per-request CSV series and the summary export."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from loadtest.k6 import bucket_rows, parse_summary, read_series


def _row(metric: str, ts: float, value: float, name: str = "ingest", status: str = "200") -> dict[str, str]:
    return {
        "metric_name": metric,
        "timestamp": str(int(ts)),
        "metric_value": str(value),
        "name": name,
        "status": status,
    }


def test_requests_events_failures_and_latency_are_bucketed_per_second_with_gaps_filled() -> None:
    rows = [
        _row("http_reqs", 100, 1),
        _row("http_req_duration", 100, 4.0),
        _row("http_req_failed", 100, 0),
        _row("events_sequenced", 100, 100),
        _row("http_reqs", 100, 1),
        _row("http_req_duration", 100, 8.0),
        _row("http_req_failed", 100, 0),
        _row("events_sequenced", 100, 100),
        _row("vus", 101, 8),
        _row("http_reqs", 102, 1, status="503"),
        _row("http_req_duration", 102, 30.0, status="503"),
        _row("http_req_failed", 102, 1, name="proof", status="503"),
    ]
    series = bucket_rows(rows)
    assert [(p.second, p.requests, p.failed, p.events) for p in series.points] == [
        (0, 2, 0, 200.0),
        (1, 0, 0, 0.0),
        (2, 1, 1, 0.0),
    ]
    assert (series.points[0].p50_ms, series.points[0].p99_ms) == (4.0, 8.0)
    assert series.failures == {"proof 503": 1}


@given(st.lists(st.tuples(st.integers(0, 30), st.floats(0.1, 500), st.integers(0, 500)), max_size=200))
def test_bucketing_loses_no_request_and_no_event(requests: list[tuple[int, float, int]]) -> None:
    rows = []
    for second, duration, events in requests:
        rows += [
            _row("http_reqs", 1_000 + second, 1),
            _row("http_req_duration", 1_000 + second, duration),
            _row("events_sequenced", 1_000 + second, events),
        ]
    points = bucket_rows(rows).points
    assert sum(p.requests for p in points) == len(requests)
    assert sum(p.events for p in points) == sum(e for _, _, e in requests)
    assert all(p.p50_ms <= p.p99_ms for p in points)
    if requests:
        assert len(points) == max(s for s, _, _ in requests) - min(s for s, _, _ in requests) + 1


def test_the_gzipped_csv_k6_writes_is_read(tmp_path: Path) -> None:
    path = tmp_path / "series.csv.gz"
    with gzip.open(path, "wt", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["metric_name", "timestamp", "metric_value", "name", "status"])
        writer.writeheader()
        writer.writerow(_row("http_reqs", 5, 1))
    assert read_series(path).points[0].requests == 1
    assert read_series(tmp_path / "missing.csv.gz").points == []


def test_the_summary_gives_rates_error_rate_and_latency_per_request_name() -> None:
    summary = {
        "metrics": {
            "events_sequenced": {"count": 5000, "rate": 500.5},
            "http_reqs": {"count": 50, "rate": 5.0},
            "http_req_failed": {"passes": 0, "fails": 50, "value": 0},
            "http_req_duration": {"med": 10.0, "p(95)": 20.0, "p(99)": 30.0, "thresholds": {"max>=0": False}},
            "http_req_duration{name:ingest}": {"med": 11.0, "p(99)": 31.0},
        }
    }
    parsed = parse_summary(summary, ["ingest", "head"])
    assert (parsed.events, parsed.events_per_second, parsed.requests_per_second) == (5000, 500.5, 5.0)
    assert parsed.error_rate == 0
    assert parsed.latency_ms == {
        "ingest": {"med": 11.0, "p(99)": 31.0},
        "all": {"med": 10.0, "p(95)": 20.0, "p(99)": 30.0},
    }
