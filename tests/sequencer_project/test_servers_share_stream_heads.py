"""The web servers as deployed make the table of stream heads and the turns before they fork
their workers (gunicorn: ``docker/gunicorn.conf.py``; granian: ``sequencer_project/granian_main.py``;
ADR 0038): a worker guesses the head another worker wrote.

Each worker serves one request and is replaced (``max_requests`` 1), so every request of the
stream reaches a fresh process; the optimistic append's outcomes are read from ``/metrics``
(``ingest_head_guesses_total``). Without the shared table no worker would have a guess: every
request would go to the locked path and no guess would be counted.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.conftest import legacy_event
from tests.sequencer_project.ops_helpers import ROOT, free_port, server_env, serving_gunicorn, wait_until_serving

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

ADMIN = {"Authorization": "ApiKey test-bootstrap-admin"}


def _guesses(metrics: str) -> dict[str, float]:
    found = re.findall(r'^ingest_head_guesses_total\{outcome="(\w+)"\} (\S+)$', metrics, re.MULTILINE)
    return {outcome: float(value) for outcome, value in found}


def test_a_worker_forked_after_another_wrote_a_stream_guesses_its_head(tmp_path: Path) -> None:
    settings = {
        "WEB_WORKERS": "1",
        "WEB_THREADS": "1",
        "WEB_MAX_REQUESTS": "1",  # every request meets a newly forked worker
        "WEB_MAX_REQUESTS_JITTER": "0",
        "INGEST_OPTIMISTIC_APPEND": "true",
    }
    with serving_gunicorn(tmp_path, **settings) as (port, _):
        base = f"http://127.0.0.1:{port}"
        tenant, store = uuid.uuid4(), uuid.uuid4()
        sequences = []
        for _ in range(4):
            body = {"events": [legacy_event(tenant, store)]}
            response = httpx.post(f"{base}/api/v1/events/ingest", json=body, headers=ADMIN, timeout=30)
            assert response.status_code == 200, response.text
            sequences.append(response.json()["assigned_sequence_start"])
        # The workers that counted have exited (their tallies are written at exit).
        metrics = httpx.get(f"{base}/metrics", headers=ADMIN, timeout=30).text

    assert sequences == [1, 2, 3, 4]
    # The first request found no head (the locked path wrote the stream); each later one, in a
    # process forked after the one before had written, guessed the head that process left.
    assert _guesses(metrics) == {"right": 3.0, "moved": 0.0}


def test_the_master_makes_the_heads_and_the_turns_before_it_forks(tmp_path: Path) -> None:
    script = (
        "import runpy; from streams import head_hints, turns; "
        "runpy.run_path('docker/gunicorn.conf.py')['on_starting'](None); "
        "print(head_hints.SHARED._instance is not None, turns.SHARED._instance is not None)"
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"), "PYTHONPATH": str(ROOT)}
    out = subprocess.run(  # noqa: S603  (our interpreter, our configuration)
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )

    assert out.stdout.split() == ["True", "True"]


def test_granian_workers_guess_the_heads_each_other_wrote(tmp_path: Path) -> None:
    """granian through the launcher (``scripts/web.sh``): two workers, a new connection per
    request, so requests land on either worker; every request after the first guesses right."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "granian.log"
    env = server_env(
        port,
        WEB_SERVER="granian",
        WEB_WORKERS="2",
        WEB_THREADS="1",
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
        INGEST_OPTIMISTIC_APPEND="true",
    )
    with log.open("wb") as sink:
        server = subprocess.Popen(
            ["bash", "scripts/web.sh"],  # noqa: S607  (bash from PATH runs our launcher)
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until_serving(base, server, log)
        tenant, store = uuid.uuid4(), uuid.uuid4()
        for expected in range(1, 13):
            body = {"events": [legacy_event(tenant, store)]}
            response = httpx.post(f"{base}/api/v1/events/ingest", json=body, headers=ADMIN, timeout=30)
            assert response.status_code == 200, response.text
            assert response.json()["assigned_sequence_start"] == expected
        time.sleep(1.5)  # each worker writes its tallied counts within a second
        metrics = httpx.get(f"{base}/metrics", headers=ADMIN, timeout=30).text
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=40)

    assert _guesses(metrics) == {"right": 11.0, "moved": 0.0}
