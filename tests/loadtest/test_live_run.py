"""The runner end to end against a live gunicorn it starts itself, for a few seconds."""

from __future__ import annotations

import os
import re
from pathlib import Path

import psycopg
import pytest

from loadtest.__main__ import main
from loadtest.k6 import k6_binary
from loadtest.service import port_in_use, scratch_name, with_database
from tests.sequencer_project.ops_helpers import child_database_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _port() -> int:
    """A port of this engineer's range 8120-8129 that nothing listens on (per xdist worker)."""
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or "0")
    candidates: list[int] = [8126 + worker, *range(8120, 8130)]
    for port in candidates:
        if not port_in_use(port):
            return port
    raise RuntimeError("no free port in 8120-8129")


def test_a_smoke_run_starts_the_service_measures_and_reports_then_stops_everything(tmp_path: Path) -> None:
    try:
        k6_binary()
    except SystemExit:
        pytest.skip("k6 is not installed (make venv installs it)")
    url = child_database_url()
    port = _port()
    code = main(
        [
            "--start-service",
            "--port",
            str(port),
            "--database-url",
            url,
            "--scenario",
            "ingest-b10-s64",
            "--scenario",
            "queries",
            "--profile",
            "smoke",
            "--duration",
            "3s",
            "--ceiling-seconds",
            "0.5",
            "--report-dir",
            str(tmp_path),
        ]
    )
    assert code == 0
    [report] = tmp_path.glob("*.md")
    text = report.read_text()
    row = re.search(
        r"^\| `ingest-b10-s64` \| 1 \| ([\d,.]+) \| [\d,.]+ \|.* \| ([\d.]+)% \| ([\d,.]+) \(1\) \|", text, re.M
    )
    assert row is not None, text
    events_per_second, error_percent, ceiling = (float(g.replace(",", "")) for g in row.groups())
    assert events_per_second > 0
    assert error_percent == 0
    assert ceiling > 0
    assert re.search(r"^\| `queries` \| event_by_id \| [1-9]", text, re.M), text
    plots = sorted(p.name for p in tmp_path.glob("*/*.png"))
    assert plots == ["ingest-b10-s64-1vu.png", "overview.png", "queries-1vu.png"]
    # Everything started is stopped: the port is free and the scratch database is gone.
    assert not port_in_use(port)
    with psycopg.connect(with_database(url, "postgres")) as conn:
        assert conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (scratch_name(url),)).fetchone() is None
