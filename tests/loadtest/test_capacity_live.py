"""``--capacity`` end to end against a scratch service it starts (web, worker, beat), for a few seconds."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import psycopg
import pytest

from loadtest.__main__ import main
from loadtest.service import bench_name, port_in_use, scratch_name, with_database
from tests.sequencer_project.ops_helpers import child_database_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _ports() -> int:
    """A port of this engineer's range 8150-8159 that is free, with the next one free for the anchor."""
    for port in range(8156, 8159):
        if not port_in_use(port) and not port_in_use(port + 1):
            return port
    raise RuntimeError("no two free ports in 8156-8159")


def _rows(text: str) -> dict[str, dict[str, str]]:
    """The capacity table's rows by target, each as {column: cell}."""
    lines = [line for line in text.splitlines() if line.startswith("| workload | target |")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if line.startswith("| `single-s64` |") and len(cells) == len(header):
            rows[cells[1]] = dict(zip(header, cells, strict=True))
    return rows


def _cores(cell: str) -> float:
    return float(cell.split("·")[0])


def test_a_short_capacity_run_reports_ceiling_anchor_and_service_with_their_cpu_and_the_median_pair(
    tmp_path: Path,
) -> None:
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (scripts/services.sh installs it)")
    url = child_database_url()
    port = _ports()
    code = main(
        [
            "--capacity",
            "--start-service",
            "--port",
            str(port),
            "--database-url",
            url,
            "--workload",
            "single-s64",
            "--duration",
            "3s",
            "--warmup",
            "1s",
            "--ceiling-seconds",
            "1",
            "--connections",
            "4",
            "--sustained",
            "0",
            "--drain-timeout",
            "60s",
            "--pairs",
            "2",
            "--report-dir",
            str(tmp_path),
        ]
    )
    assert code == 0
    [report] = tmp_path.glob("*.md")
    text = report.read_text()
    rows = _rows(text)
    assert set(rows) == {"ceiling", "anchor", "service"}, text
    for target in ("ceiling", "anchor", "service"):
        assert float(rows[target]["events/s"].replace(",", "")) > 0, text
        assert _cores(rows[target]["PostgreSQL cores · µs/unit"]) > 0, text
    for target in ("anchor", "service"):
        assert _cores(rows[target]["web cores · µs/unit"]) > 0, text
        assert rows[target]["errors"] == "0.00%", text
    assert float(rows["service"]["service ÷ anchor"]) > 0
    # Anchor and service alternated twice; the rows are the pair with the lower (median) ratio.
    [note] = [line for line in text.splitlines() if "alternated 2 times" in line]
    listed = [float(r) for r in re.findall(r"\((\d+\.\d\d)\)", note)]
    assert len(listed) == 2, note
    assert rows["service"]["service ÷ anchor"] == f"{min(listed):.2f}", note
    assert float(rows["service"]["service ÷ ceiling"]) > 0
    assert "Celery worker and beat" in text
    assert "additions took" in text  # the machine's speed, before and after
    assert [p.name for p in tmp_path.glob("*/*.png")] == ["throughput-cpu.png"]
    # Everything started is stopped: both ports are free and both scratch databases are gone.
    assert not port_in_use(port)
    assert not port_in_use(port + 1)
    with psycopg.connect(with_database(url, "postgres")) as conn:
        for name in (scratch_name(url), bench_name(url)):
            assert conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None
