"""Markdown report: target checks, tables, plots."""

from __future__ import annotations

from pathlib import Path

from loadtest.ceiling import CeilingResult
from loadtest.cpu import CpuUse
from loadtest.k6 import Point, Summary
from loadtest.report import ScenarioResult, evaluate, fmt_number, plot_overview, plot_series, render
from loadtest.scenarios import CATALOGUE, HEADLINE, CeilingShape


def _summary(events_per_second: float = 0.0, error_rate: float = 0.0, **latency: dict[str, float]) -> Summary:
    return Summary(
        events=events_per_second * 10,
        events_per_second=events_per_second,
        requests=100,
        requests_per_second=10,
        error_rate=error_rate,
        latency_ms={"all": {"med": 5.0, "p(95)": 9.0, "p(99)": 12.0}, **latency},
    )


def test_a_row_is_met_only_when_every_bound_is() -> None:
    target = HEADLINE[0].target  # 22,000 events/s, 0.5 x ceiling, p99 < 100 ms
    summary = _summary(23_000, ingest={"p(99)": 80.0})
    checks = evaluate(target, summary, ratio=0.6)
    assert [(c.label, c.ok) for c in checks] == [
        ("events/s", True),
        ("ratio to ceiling", True),
        ("ingest p99", True),
        ("error rate", True),
    ]
    assert [c.ok for c in evaluate(target, summary, ratio=0.4)] == [True, False, True, True]
    assert [c.ok for c in evaluate(target, _summary(23_000, 0.002, ingest={"p(99)": 80.0}), 0.6)][-1] is False


def test_a_missing_measurement_is_never_met() -> None:
    checks = evaluate(HEADLINE[0].target, None, None)
    assert all(not c.ok for c in checks)
    assert {c.measured for c in checks} == {"0.0", "—"}


def test_the_ratio_to_the_ceiling_is_events_for_writes_and_requests_for_reads() -> None:
    ceiling = CeilingResult(CeilingShape("legacy", 100, 64), 8, 10.0, 4_000, 400_000, 5.0, 20.0)
    result = ScenarioResult(CATALOGUE["ingest-b100-s64"], 8, ceiling=ceiling, summary=_summary(10_000))
    assert result.ceiling_ratio == 0.25
    reads = CeilingResult(CeilingShape("reads"), 8, 10.0, 2_000, 0, 1.0, 3.0)
    queries = ScenarioResult(CATALOGUE["queries"], 8, ceiling=reads, summary=_summary())
    assert queries.ceiling_ratio == 10 / 200


def test_the_report_has_the_target_table_measurements_notes_and_plot_links(tmp_path: Path) -> None:
    cpu = CpuUse(10.0, 90.0, 1.2, 0.4, 0.6, (3.0, 2.0, 1.0), (3.5, 2.1, 1.0))
    ceiling = CeilingResult(CeilingShape("legacy", 100, 64), 8, 10.0, 4_000, 400_000, 5.0, 20.0)
    ok = ScenarioResult(
        HEADLINE[0], 8, ceiling=ceiling, summary=_summary(23_000, ingest={"p(99)": 80.0}), cpu=cpu, k6_cores=0.3
    )
    ok.plot = tmp_path / "run" / "ingest.png"
    broken = ScenarioResult(HEADLINE[4], 4, peak_vus=16, error="RuntimeError: seeding failed")
    text = render([ok, broken], title="T", preamble=["load average 3.00"], report_dir=tmp_path)
    assert (
        "| batched ingest, 100 events/request, 64 streams (`ingest-b100-s64`) | events/s | ≥ 22,000 | 23,000 | met |"
        in (text.replace(CATALOGUE["ingest-b100-s64"].title, "batched ingest, 100 events/request, 64 streams"))
    )
    assert "| `ingest-b100-s64` | 8 | 23,000 | 10.0 | 5.0 | 9.0 | 12.0 | 0.000% | 40,000 (8) | 0.575 | 1.20 |" in text
    assert "3.00 → 3.50" in text
    assert "| `ves-b100` | 4→16 | — |" in text
    assert "- `ves-b100`: RuntimeError: seeding failed" in text
    assert "![ingest-b100-s64](run/ingest.png)" in text
    assert "**not met**" in text


def test_numbers_are_grouped_and_small_ones_keep_a_decimal() -> None:
    assert fmt_number(22_000) == "22,000"
    assert fmt_number(12.34) == "12.3"


def test_the_plots_are_pngs_and_the_overview_needs_a_series(tmp_path: Path) -> None:
    series = [Point(s, 10 + s, 0, 100.0 * s, 5.0, 9.0) for s in range(5)]
    path = tmp_path / "x" / "plot.png"
    plot_series(series, path, title="t", events=True)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with_series = ScenarioResult(CATALOGUE["queries"], 8, series=series)
    assert plot_overview([with_series, ScenarioResult(HEADLINE[0], 8)], tmp_path / "o.png")
    assert (tmp_path / "o.png").read_bytes()[:4] == b"\x89PNG"
    assert not plot_overview([ScenarioResult(HEADLINE[0], 8)], tmp_path / "none.png")
