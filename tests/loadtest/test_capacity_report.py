"""The arithmetic and the table of capacity reports, and the lag summary (no service, no timing)."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from django.db import connection

from loadtest.background import PROJECTIONS, LagSample, rates, summarize, zero_for_good
from loadtest.capacity import (
    WORKLOADS,
    Fixtures,
    Measurement,
    SustainedResult,
    WorkloadResult,
    add_notes,
    median_pair,
    pairs_note,
)
from loadtest.capacity_report import cpu_cell, render, table
from loadtest.runner import WalCounters, wal_counters


def _m(target: str, *, events: int = 0, requests: int = 100, seconds: float = 10.0, **cpu: float) -> Measurement:
    return Measurement(
        target,
        connections=16,
        seconds=seconds,
        window=10.0,
        requests=requests,
        events=events,
        latency_ms={"p50": 1.0, "p95": 2.0, "p99": 3.0},
        cpu=dict(cpu),
        load_before=(1.0, 1.0, 1.0),
        load_after=(2.0, 1.0, 1.0),
    )


def test_cores_are_cpu_seconds_over_the_window_and_cost_is_per_event_when_events_were_written() -> None:
    m = _m("service", events=10_000, requests=100, web=5.0, pg=2.0, worker=1.0, beat=0.0, load=0.5)
    assert m.cores("web") == pytest.approx(0.5)
    assert m.us_per_unit("web") == pytest.approx(500.0)  # 5 s / 10,000 events
    assert m.service_side_us == pytest.approx(800.0)  # web + pg + worker + beat, not the load generator
    assert m.events_per_second == pytest.approx(1000.0)
    assert m.throughput == m.events_per_second
    assert m.cores("missing") is None
    assert m.us_per_unit("missing") is None


def test_reads_cost_per_request_and_an_empty_measurement_has_no_cost() -> None:
    m = _m("anchor", requests=2_000, web=1.0)
    assert m.throughput == m.requests_per_second == pytest.approx(200.0)
    assert m.us_per_unit("web") == pytest.approx(500.0)
    empty = _m("anchor", requests=0, web=1.0)
    assert empty.us_per_unit("web") is None
    assert empty.service_side_us is None
    assert empty.error_rate == 0.0


def test_error_rate_counts_failures_among_all_attempts() -> None:
    m = _m("service", requests=99)
    m.failed = 1
    assert m.error_rate == pytest.approx(0.01)


def test_ratios_divide_the_services_throughput_and_are_absent_at_a_fixed_rate() -> None:
    r = WorkloadResult(
        WORKLOADS["batch100-s64"],
        ceiling=_m("ceiling", events=300_000),
        anchor=_m("anchor", events=200_000),
        service=_m("service", events=50_000),
    )
    assert r.ratio(r.anchor) == pytest.approx(0.25)
    assert r.ratio(r.ceiling) == pytest.approx(50 / 300)
    fixed = WorkloadResult(WORKLOADS["reads-fixed"], anchor=_m("anchor"), service=_m("service"))
    assert fixed.ratio(fixed.anchor) is None
    assert WorkloadResult(WORKLOADS["head"], service=_m("service")).ratio(None) is None


def test_the_rows_show_the_pair_whose_ratio_is_the_median_and_pass_over_failed_pairs() -> None:
    single = WORKLOADS["single-s64"]

    def pair(anchor: int, service: int) -> tuple[Measurement, Measurement]:
        return _m("anchor", events=anchor, requests=anchor), _m("service", events=service, requests=service)

    # Ratios 1.5, 0.9, 1.3: the median is the third pair's, whatever order they came in.
    assert median_pair(single, [pair(1000, 1500), pair(1000, 900), pair(1000, 1300)]) == 2
    # An even count shows the lower middle ratio (the less flattering of the two).
    assert median_pair(single, [pair(1000, 1500), pair(1000, 900)]) == 1
    failed: tuple[Measurement | None, Measurement | None] = (_m("anchor", events=1000, requests=1000), None)
    assert median_pair(single, [failed, pair(1000, 1100), pair(1000, 1200)]) == 1
    assert median_pair(single, [failed, (None, None)]) == 1  # nothing to rank: the last pair
    assert median_pair(single, [pair(1000, 1500)]) == 0


def test_the_pairs_note_lists_every_pair_with_its_ratio_and_names_the_one_shown() -> None:
    single = WORKLOADS["single-s64"]
    pairs: list[tuple[Measurement | None, Measurement | None]] = [
        (_m("anchor", events=17_720, requests=17_720), _m("service", events=26_200, requests=26_200)),
        (_m("anchor", events=19_140, requests=19_140), None),
    ]
    note = pairs_note(single, pairs, 0)
    assert note == (
        "anchor and service alternated 2 times (events/s, anchor → service, ratio): "
        "1,772 → 2,620 (1.48); 1,914 → failed; the rows show pair 1, the median ratio"
    )
    reads = pairs_note(WORKLOADS["head"], [(_m("anchor", requests=30_000), _m("service", requests=45_000))], 0)
    assert "(requests/s, anchor → service, ratio): 3,000 → 4,500 (1.50)" in reads


def test_the_table_has_a_row_per_target_with_cores_and_microseconds_per_unit() -> None:
    r = WorkloadResult(
        WORKLOADS["single-s64"],
        ceiling=_m("ceiling", events=5_000, pg=4.0, load=2.0, worker=0.0, beat=0.0),
        anchor=_m("anchor", events=4_000, web=6.0, pg=2.0, load=0.4, worker=0.0, beat=0.0),
        service=_m("service", events=1_000, web=8.0, pg=3.0, load=0.2, worker=1.0, beat=0.1),
    )
    lines = table([r])
    assert len(lines) == 2 + 3
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = {line.split("|")[2].strip(): [c.strip() for c in line.strip("|").split("|")] for line in lines[2:]}
    assert set(rows) == {"ceiling", "anchor", "service"}
    service = dict(zip(header, rows["service"], strict=True))
    assert service["events/s"] == "100"
    assert service["web cores · µs/unit"] == "0.80 · 8,000"
    assert service["PostgreSQL cores · µs/unit"] == "0.30 · 3,000"
    assert service["service-side µs/unit"] == "12,100"
    assert service["service ÷ anchor"] == "0.25"
    assert service["service ÷ ceiling"] == "0.20"
    assert service["load avg before → after"] == "1.00 → 2.00"
    assert dict(zip(header, rows["ceiling"], strict=True))["web cores · µs/unit"] == "—"
    assert cpu_cell(r.service, "load") == "0.02 · 200"  # type: ignore[arg-type]


def test_lag_is_zero_for_good_from_the_first_sample_after_which_it_stays_zero() -> None:
    samples = [LagSample(float(t), p, c, 0) for t, p, c in [(0, 5, 5), (1, 0, 9), (2, 3, 9), (3, 0, 0), (4, 0, 0)]]
    assert zero_for_good(samples, 1.0, "projection") == 2.0  # 0 at t=1 did not last
    assert zero_for_good(samples, 1.0, "commitment") == 2.0
    assert zero_for_good(samples[:3], 0.0, "commitment") is None


def test_the_summary_takes_maxima_during_the_load_and_times_the_drain_from_its_end() -> None:
    samples = [
        LagSample(0.0, 0, 0, 0, 0, 0),
        LagSample(1.0, 100, 200, 1_000, 3_000, 4_000),
        LagSample(2.0, 300, 100, 3_000, 5_000, 2_000, 4.5, 2.0),
        LagSample(3.0, 50, 700, 3_000, 500, 7_000, 9.0, 9.0),  # after the load: not a maximum "during"
        LagSample(5.0, 0, 0, 3_000, 0, 0),
    ]
    s = summarize(samples, 0.0, 2.0)
    assert (s.max_projection_lag, s.max_commitment_lag) == (300, 200)
    assert (s.max_projection_backlog, s.max_commitment_backlog) == (5_000, 4_000)
    assert (s.max_projection_age, s.max_commitment_age) == (4.5, 2.0)
    assert (s.projection_zero_after, s.commitment_zero_after, s.both_zero_after) == (3.0, 3.0, 3.0)
    assert s.peak_events_per_second == pytest.approx(2_000.0)
    assert rates(samples) == [(1.0, 1000.0), (2.0, 2000.0), (3.0, 0.0), (5.0, 0.0)]
    assert (s.projection_left, s.commitment_left) == (0, 0)
    assert s.projection_drain_rate == pytest.approx(5_000 / 3)  # 5,000 at t=2 to 0 at t=5
    never = summarize(samples[:4], 0.0, 2.0)
    assert never.both_zero_after is None
    assert (never.projection_left, never.commitment_left) == (500, 7_000)


def test_the_report_has_the_table_notes_and_the_background_section(tmp_path: Path) -> None:
    r = WorkloadResult(WORKLOADS["head"], anchor=_m("anchor", web=1.0), service=_m("service", web=2.0))
    r.notes.append("something to know")
    samples = [LagSample(0.0, 0, 0, 0), LagSample(1.0, 10, 10, 100, 10, 10, 0.75, 1.5), LagSample(3.0, 0, 0, 100)]
    sustained = SustainedResult(seconds=1.0, load=_m("service", events=100, worker=0.1), samples=samples, load_end=1.0)
    sustained.summary = summarize(samples, 0.0, 1.0)
    sustained.drained, sustained.drain_seconds = True, 2.0
    text = render([r], sustained, title="t", preamble=["p"], report_dir=tmp_path)
    assert "| `head` | anchor |" in text
    assert "| `head` | service |" in text
    assert "- `head`: something to know" in text
    assert "time to 0 after the load stopped | 2 s | 2 s |" in text
    assert "oldest event not yet applied, age during the load, max | 0.8 s | 1.5 s |" in text


def test_the_sampled_projections_are_those_the_service_registers() -> None:
    from events.projections import projections

    assert sorted((p.name, int(p.stream_kind)) for p in projections()) == sorted(PROJECTIONS)


def test_the_postgresql_table_reports_wal_bytes_and_full_page_images_per_unit(tmp_path: Path) -> None:
    service = _m("service", events=1_000, web=1.0)
    service.wal = WalCounters(wal_bytes=2_500_000, full_page_images=1_500, checkpoints=1)
    r = WorkloadResult(WORKLOADS["single-s64"], anchor=_m("anchor", events=1_000, web=1.0), service=service)
    text = render([r], None, title="t", preamble=["p"], report_dir=tmp_path)
    assert "| `single-s64` | service | 0.00 | 0.0 | 2,500 | 1.50 | 1 |" in text


@pytest.mark.django_db
def test_wal_counters_are_read_from_the_running_server_and_grow_with_logged_writes() -> None:
    settings = connection.settings_dict
    url = (
        f"postgres://{settings['USER']}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/{settings['NAME']}"
    )
    before = wal_counters(url)
    with psycopg.connect(url, autocommit=True) as conn:  # committed: the WAL is written
        conn.execute("CREATE TABLE wal_probe AS SELECT g, repeat('x', 200) AS pad FROM generate_series(1, 2000) AS g")
        conn.execute("DROP TABLE wal_probe")
    grown = wal_counters(url) - before

    assert before.wal_bytes > 0
    assert grown.wal_bytes >= 2000 * 200  # at least the rows' bytes
    assert grown.checkpoints >= 0


def test_a_row_whose_web_processes_split_the_load_unevenly_gets_a_note() -> None:
    anchor, service = _m("anchor", web=10.0), _m("service", web=10.0)
    anchor.web_processes, service.web_processes = [0.61, 0.58], [0.0, 1.05]
    result = WorkloadResult(WORKLOADS["head"], anchor=anchor, service=service)

    add_notes(result, Fixtures())

    assert result.notes == [
        "service: its web processes used 0.00 / 1.05 cores: the load sat unevenly on them "
        "(connections that stay on one worker, ADR 0037)"
    ]
