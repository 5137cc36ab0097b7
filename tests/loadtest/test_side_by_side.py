"""``loadtest.side_by_side``: sides, points and the summary, without a server."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtest.cpu import ProcInfo, Snapshot
from loadtest.side_by_side import Point, Side, group_totals, parse_side, point, ratios, summary_lines
from loadtest.wrk import WrkRun, WrkSummary

ROOT = Path(__file__).resolve().parents[2]


def test_a_side_is_a_checkout_with_optional_settings() -> None:
    assert parse_side(str(ROOT)) == Side(ROOT, {})
    side = parse_side(f"{ROOT}:GROUP_COMMIT_MAX_WAIT_MS=0,WEB_THREADS=4")
    assert side.settings == {"GROUP_COMMIT_MAX_WAIT_MS": "0", "WEB_THREADS": "4"}
    assert side.label == f"{ROOT.name}:GROUP_COMMIT_MAX_WAIT_MS=0,WEB_THREADS=4"


@pytest.mark.parametrize(
    ("text", "message"),
    [("/nonexistent-checkout", "not a checkout"), (f"{ROOT}:NOVALUE", "NAME=VALUE"), (f"{ROOT}:=1", "NAME=VALUE")],
)
def test_a_side_that_is_no_checkout_or_has_a_malformed_setting_is_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_side(text)


def test_group_totals_add_every_label_set_and_ignore_other_metrics() -> None:
    text = "\n".join(
        [
            "# HELP ingest_group_requests Requests served by one group-commit transaction",
            'ingest_group_requests_bucket{le="1.0"} 3.0',
            'ingest_group_requests_count{pid="1"} 10.0',
            'ingest_group_requests_sum{pid="1"} 40.0',
            "ingest_group_requests_count 5.0",
            "ingest_group_requests_sum 11.0",
            "ingest_requests_total 99.0",
        ]
    )
    assert group_totals(text) == (15.0, 51.0)
    assert group_totals("") == (0.0, 0.0)


def _snapshot(cpu: dict[int, float]) -> Snapshot:
    """Processes 1 (the server's master), 2 (its worker) and 100 (a PostgreSQL backend)."""
    names = {1: ("python", "gunicorn: master"), 2: ("python", "gunicorn: worker"), 100: ("postgres", "postgres: x")}
    processes = {
        pid: ProcInfo(
            pid=pid, ppid=1 if pid == 2 else 0, comm=names[pid][0], cmdline=names[pid][1], cpu_seconds=seconds
        )
        for pid, seconds in cpu.items()
    }
    return Snapshot(wall=0.0, machine_busy=0.0, machine_total=1.0, processes=processes, load=(0.0, 0.0, 0.0))


def test_a_point_divides_each_process_group_by_the_requests_answered() -> None:
    summary = WrkSummary(
        seconds=10.0, requests=1000, bytes=0, sent=1000, errors={"status": 0}, latency_ms={"p99": 12.5}
    )
    run = WrkRun(summary, cpu_seconds=0.05, command=["wrk"])
    before = _snapshot({1: 1.0, 2: 0.0, 100: 5.0})
    after = _snapshot({1: 1.2, 2: 0.3, 100: 5.1})
    measured = point(run, before, after, web_pid=1, groups=(250.0, 1000.0))
    assert measured.requests_per_second == pytest.approx(100.0)
    assert measured.web_us == pytest.approx(500.0)  # 0.2 + 0.3 s of the tree over 1,000 requests
    assert measured.postgres_us == pytest.approx(100.0)
    assert measured.wrk_us == pytest.approx(50.0)
    assert measured.requests_per_group == pytest.approx(4.0)
    assert measured.p99_ms == 12.5
    assert point(run, before, after, web_pid=1, groups=(0.0, 0.0)).requests_per_group is None


def _point(rate: float) -> Point:
    return Point(rate, 500.0, 100.0, 50.0, 4.0, 10.0, 0)


def test_the_summary_gives_medians_and_the_per_round_ratio_of_the_second_side() -> None:
    base = [_point(1000.0), _point(1100.0), _point(900.0)]
    changed = [_point(1100.0), _point(1100.0), _point(990.0)]
    assert ratios(base, changed) == pytest.approx([1.1, 1.0, 1.1])
    lines = summary_lines([Side(ROOT / "a"), Side(ROOT / "b", {"X": "1"})], [base, changed])
    assert lines[0].startswith("a: median 1,000 requests/s, web 500 µs")
    assert lines[1].startswith("b:X=1: median 1,100 requests/s")
    assert lines[2] == "b:X=1 ÷ a per round: 1.10 / 1.00 / 1.10 (median 1.10)"
