"""The web's own metrics reach ``/metrics`` under the deployed gunicorn configuration when the
environment names no ``PROMETHEUS_MULTIPROC_DIR`` (``make run``, ``docker/compose.yml``'s web).

``docker/gunicorn.conf.py`` sets the default directory; prometheus_client reads the variable
once, when it is first imported. When the configuration imported the project (its logging block)
before setting it, the master had loaded prometheus_client without it, every worker wrote its
counters to memory only, and ``/metrics`` showed none of the web's requests or pools: the
alerts on ingest traffic could not fire.
"""

from __future__ import annotations

import shutil
import signal
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from tests.sequencer_project.ops_helpers import free_port, server_env, start_gunicorn, wait_until_serving


def _head_requests_counted(exposition: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in exposition.splitlines()
        if line.startswith("sequencer_http_requests_total{") and 'path="/api/v1/head"' in line
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("log_format", ["plain", "json"])
def test_the_webs_own_metrics_are_exported_with_the_default_directory(tmp_path: Path, log_format: str) -> None:
    port = free_port()
    env = server_env(port, LOG_FORMAT=log_format, WEB_WORKERS="2")
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.pop("WEB_WORKER_CLASS", None)
    default_directory = Path(tempfile.gettempdir()) / f"sequencer-prometheus-{port}"
    log = tmp_path / "gunicorn.log"
    server = start_gunicorn(env, log)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, server, log)
        for _ in range(6):
            assert httpx.get(f"{base}/api/v1/head", timeout=10).status_code == 401
        # Once, under a CI run's load, a scrape right after the requests counted 4 of the 6: wait.
        deadline = time.monotonic() + 15
        while True:
            scraped = httpx.get(f"{base}/metrics", headers={"Authorization": "Bearer test-bootstrap-admin"}, timeout=10)
            assert scraped.status_code == 200, scraped.text
            if _head_requests_counted(scraped.text) >= 6 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
        shutil.rmtree(default_directory, ignore_errors=True)

    assert _head_requests_counted(scraped.text) >= 6, log.read_text()[-3000:]
    assert any(line.startswith("db_pool_max_connections ") for line in scraped.text.splitlines())
