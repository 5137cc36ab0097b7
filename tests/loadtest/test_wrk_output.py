"""wrk's JSON line (loadtest/lua/common.lua), histogram merging, and the Lua scripts against a local server."""

from __future__ import annotations

import http.server
import json
import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loadtest.stats import percentile
from loadtest.wrk import merged_percentiles, parse_output, run_wrk

WRK_STDOUT = """Running 3s test @ http://127.0.0.1:8150
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     7.70ms   12.23ms 987.99ms   97.12%
  2758 requests in 3.02s, 626.47KB read
  Non-2xx or 3xx responses: 4
Requests/sec:    912.01

WRK_JSON {"duration_us": 3024060, "requests": 2758, "bytes": 641507, "sent": 2766, "threads": 2, \
"exhausted_threads": 0, "late": 3, "errors": {"connect": 0, "read": 1, "write": 0, "status": 4, "timeout": 2}, \
"latency_us": {"min": 941, "max": 987986, "mean": 42953.668, "stdev": 1.000, "percentiles": \
{"50": 7696, "90": 26208, "95": 284786, "99": 847346, "99.9": 972656}}, "histogram": [[941, 1], [7696, 2]]}
"""


def test_the_json_line_is_found_among_wrks_own_output_and_read_in_milliseconds() -> None:
    s = parse_output(WRK_STDOUT)
    assert s.seconds == pytest.approx(3.02406)
    assert (s.requests, s.sent, s.late, s.bytes) == (2758, 2766, 3, 641507)
    assert s.latency_ms["p50"] == pytest.approx(7.696)
    assert s.latency_ms["p99"] == pytest.approx(847.346)
    assert s.latency_ms["p99.9"] == pytest.approx(972.656)
    assert s.latency_ms["max"] == pytest.approx(987.986)
    assert s.histogram == ((0.941, 1), (7.696, 2))


def test_non_2xx_responses_are_not_successes_and_lost_requests_count_as_errors() -> None:
    s = parse_output(WRK_STDOUT)
    assert s.ok_requests == 2754
    assert s.failed == 7  # 4 statuses + 1 read error + 2 timeouts
    assert s.error_rate == pytest.approx(7 / (2758 + 3))
    assert s.requests_per_second == pytest.approx(2754 / 3.02406)


def test_output_without_the_json_line_is_an_error() -> None:
    with pytest.raises(ValueError, match="WRK_JSON"):
        parse_output("Running 1s test @ http://x\n  0 requests in 1.00s\n")


def test_merged_percentiles_of_two_histograms_are_those_of_all_values_together() -> None:
    a = [(1.0, 2), (5.0, 1)]
    b = [(2.0, 1), (9.0, 1)]
    got = merged_percentiles([a, b], (0.2, 0.5, 0.8, 1.0))
    assert got == {0.2: 1.0, 0.5: 2.0, 0.8: 5.0, 1.0: 9.0}
    assert merged_percentiles([], (0.5,)) == {0.5: 0.0}


@given(st.lists(st.lists(st.integers(1, 50), max_size=40), min_size=1, max_size=4), st.floats(0.01, 1))
def test_merging_histograms_agrees_with_the_nearest_rank_percentile_of_the_raw_values(
    runs: list[list[int]], q: float
) -> None:
    histograms = [[(float(v), run.count(v)) for v in sorted(set(run))] for run in runs]
    every = [float(v) for run in runs for v in run]
    assert merged_percentiles(histograms, (q,))[q] == percentile(every, q)


# --- the Lua scripts, run by wrk against a throwaway local server --------------------------------


class _Recorder(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    bodies: list[bytes] = []
    paths: list[str] = []
    lock = threading.Lock()

    def _answer(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with self.lock:
            self.bodies.append(body)
        self._answer()

    def do_GET(self) -> None:
        with self.lock:
            self.paths.append(self.path)
        self._answer()

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # wrk resets its connections when it stops: not worth a traceback


@pytest.fixture
def recorder() -> Iterator[str]:
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (scripts/services.sh installs it)")
    _Recorder.bodies, _Recorder.paths = [], []
    server = _Server(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_ingest_lua_makes_unique_v4_event_ids_across_threads_and_the_streams_asked_for(recorder: str) -> None:
    tenant = str(uuid.uuid4())
    env = {
        "WRK_TENANT": tenant,
        "WRK_STORE_PREFIX": "abcdef01",
        "WRK_NONCE": "0a1",
        "WRK_BATCH": "5",
        "WRK_STREAMS": "3",
        "WRK_PAYLOAD_BYTES": "300",
    }
    run = run_wrk("ingest.lua", recorder, connections=4, threads=2, seconds=1, env=env)
    events = [e for body in _Recorder.bodies for e in json.loads(body)["events"]]
    assert run.summary.requests > 0
    assert len(events) == 5 * len(_Recorder.bodies)
    ids = [uuid.UUID(e["event_id"]) for e in events]
    assert len(set(ids)) == len(ids)
    assert all(i.version == 4 and i.variant == uuid.RFC_4122 for i in ids)
    assert {str(i)[15:18] for i in ids} == {"001", "002"}  # both threads posted
    assert {e["store_id"] for e in events} <= {f"abcdef01-0000-4000-8000-{n:012x}" for n in range(3)}
    assert {e["tenant_id"] for e in events} == {tenant}
    assert all(len(json.dumps(e["payload"], separators=(",", ":"))) == 300 for e in events)
    assert all(e["entity_id"] == f"order-{e['event_id']}" for e in events)


def test_get_lua_walks_its_paths_and_at_a_fixed_rate_sends_about_that_many(recorder: str, tmp_path: Path) -> None:
    paths = tmp_path / "paths"
    paths.write_text("/a\n/b\n/c\n")
    env = {"WRK_PATHS": str(paths), "WRK_RATE": "40", "WRK_HISTOGRAM": "1"}
    run = run_wrk("get.lua", recorder, connections=2, threads=1, seconds=2, env=env)
    assert set(_Recorder.paths) == {"/a", "/b", "/c"}
    # 40 requests/s for 2 s: a generous band, this is no timing test, only "the rate is applied".
    assert 20 <= run.summary.requests <= 100
    assert sum(c for _, c in run.summary.histogram) == run.summary.requests


def test_bodies_lua_posts_each_prepared_body_once_and_counts_every_answer_before_stopping(
    recorder: str, tmp_path: Path
) -> None:
    bodies = tmp_path / "bodies.ndjson"
    bodies.write_text("".join(json.dumps({"events": [{"event_id": str(n)}]}) + "\n" for n in range(7)))
    run = run_wrk("bodies.lua", recorder, connections=2, threads=2, seconds=1, env={"WRK_BODIES": str(bodies)})
    posted = sorted(int(json.loads(b)["events"][0]["event_id"]) for b in _Recorder.bodies)
    assert posted == list(range(7))
    assert run.summary.exhausted_threads == 2
    assert run.summary.requests == 7  # every answer counted: threads stop only after their last response
    assert 0 < run.summary.finished_seconds < run.summary.seconds
