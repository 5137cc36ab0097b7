"""Alert rules, Grafana dashboard, compose file and Dockerfile: parse, and agree with the code."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from django.conf import settings

from sequencer_project.metrics import gauge_providers
from tests.sequencer_project.ops_helpers import ROOT, child_database_url

DOCKER = ROOT / "docker"
# Names the service exports (metrics.py, metrics_export.py) and the gauges other subsystems
# publish through register_gauge_provider once they exist.
EXPORTED = {
    "ingest_requests_total",
    "ingest_duration_seconds_bucket",
    "ingest_events_total",
    "ingest_errors_total",
    "db_pool_active_connections",
    "db_pool_idle_connections",
    "db_pool_waiting_requests",
    "db_pool_max_connections",
    "sequencer_pool_utilization",
    "db_query_duration_seconds_bucket",
    "db_transaction_duration_seconds_bucket",
    "circuit_breaker_state",
    "db_replica_lag_seconds",
    "rate_limit_requests_total",
    "rate_limit_fail_open_total",
    "celery_queue_depth",
    "system_cpu_usage_percent",
    "system_memory_usage_bytes",
}
PROVIDED_LATER = {
    "sequencer_commitment_lag_events",
    "projection_lag_events",
    "dlq_size",
    "projection_stalled_streams",
    "x402_dlq_size",
    "sequencer_anchor_given_up_commitments",
}
PROMQL_WORDS = {
    "sum", "by", "rate", "histogram_quantile", "le", "max", "and", "clamp_min", "deriv", "outcome", "status",
    "queue", "breaker", "name", "statement", "scope", "reason", "code", "endpoint", "e", "accepted", "rejected",
    "or", "on", "unless", "absent", "label_replace", "vector", "job", "instance",
}  # fmt: skip
# Series Prometheus writes itself for every scrape target.
PROMETHEUS_SERIES = {"up"}
# The scrape jobs of docker/prometheus/prometheus.yml: the web's /metrics and the worker's.
JOBS = {"sequencer", "sequencer-worker"}


def metric_names(expr: str) -> set[str]:
    without_strings = re.sub(r'"[^"]*"', "", expr)
    without_ranges = re.sub(r"\[[^\]]*\]", "", without_strings)
    return {w for w in re.findall(r"[a-zA-Z_][a-zA-Z0-9_]*", without_ranges) if w not in PROMQL_WORDS}


def alert_rules() -> list[dict[str, Any]]:
    document = yaml.safe_load((DOCKER / "prometheus" / "alerts.yml").read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def test_the_gauges_read_at_scrape_time_are_the_ones_the_apps_register() -> None:
    """An alert once named ``commitment_lag_seconds``, a gauge no app ever registered."""
    assert {provider.name for provider in gauge_providers()} == PROVIDED_LATER


def test_alert_rules_parse_and_name_only_exported_metrics() -> None:
    rules = alert_rules()
    by_name = {rule["alert"]: rule for rule in rules}

    assert {"SequencerIngestLatencyP99High", "SequencerIngestRateLow", "SequencerIngestErrorRatioHigh"} <= set(by_name)
    assert by_name["SequencerIngestLatencyP99High"]["for"] == "5m"
    assert "> 0.1" in by_name["SequencerIngestLatencyP99High"]["expr"]
    assert by_name["SequencerIngestRateLow"]["for"] == "10m"
    assert "< 1000" in by_name["SequencerIngestRateLow"]["expr"]
    assert by_name["SequencerIngestErrorRatioHigh"]["for"] == "5m"
    assert "> 0.001" in by_name["SequencerIngestErrorRatioHigh"]["expr"]
    assert {"SequencerCommitmentLagHigh", "SequencerProjectionLagHigh", "SequencerDeadLetterGrowing"} <= set(by_name)
    assert {"SequencerProjectionStalled", "SequencerDeadLettersOpen"} <= set(by_name)
    for rule in rules:
        assert rule["labels"]["severity"] in {"page", "warning"}
        assert rule["annotations"]["summary"]
        unknown = metric_names(rule["expr"]) - EXPORTED - PROVIDED_LATER - PROMETHEUS_SERIES
        assert not unknown, f"{rule['alert']} names unknown metrics {unknown}"
        assert set(re.findall(r'job="([^"]*)"', rule["expr"])) <= JOBS, rule["alert"]


def test_only_server_failures_and_outages_page() -> None:
    """The audit found client errors (401 missing_auth, 429, 400 ...) paging the operator, and no
    alert at all for a stopped web, worker or beat (docs/operations.md, "Alerts"); the promtool
    unit tests (alerts.test.yml) hold each rule's firing and silence."""
    by_name = {rule["alert"]: rule for rule in alert_rules()}
    scraped = {
        job["job_name"]
        for job in yaml.safe_load((DOCKER / "prometheus" / "prometheus.yml").read_text())["scrape_configs"]
    }

    assert scraped == JOBS
    assert 'ingest_requests_total{status=~"5.."}' in by_name["SequencerIngestErrorRatioHigh"]["expr"]
    assert "ingest_errors_total" not in by_name["SequencerIngestErrorRatioHigh"]["expr"]
    assert by_name["SequencerIngestClientErrorRatioHigh"]["labels"]["severity"] == "warning"
    assert by_name["SequencerWebDown"]["expr"] == 'up{job="sequencer"} == 0'
    assert by_name["SequencerWorkerDown"]["expr"] == 'up{job="sequencer-worker"} == 0'
    for name in ("SequencerWebDown", "SequencerWorkerDown", "SequencerBackgroundLagMissing"):
        assert by_name[name]["labels"]["severity"] == "page"
    assert "absent(sequencer_commitment_lag_events)" in by_name["SequencerBackgroundLagMissing"]["expr"]
    assert "sequencer_pool_utilization" in by_name["SequencerDbPoolSaturated"]["expr"]
    assert "sum(db_pool" not in by_name["SequencerDbPoolSaturated"]["expr"]  # sums hid one full process
    # Every rule is unit-tested: promtool tests name each alert at least once.
    tests = yaml.safe_load((DOCKER / "prometheus" / "alerts.test.yml").read_text())["tests"]
    tested = {case["alertname"] for test in tests for case in test["alert_rule_test"]}
    changed = {
        "SequencerIngestErrorRatioHigh", "SequencerIngestClientErrorRatioHigh", "SequencerIngestRateLow",
        "SequencerWebDown", "SequencerWorkerDown", "SequencerBackgroundLagMissing", "SequencerDbPoolSaturated",
    }  # fmt: skip
    assert changed <= tested


def test_promtool_accepts_the_rules_and_their_unit_tests(tmp_path: Path) -> None:
    promtool = shutil.which("promtool") or "promtool"
    checked = subprocess.run(  # noqa: S603
        [promtool, "check", "rules", str(DOCKER / "prometheus" / "alerts.yml")], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = subprocess.run(  # noqa: S603
        [promtool, "test", "rules", "alerts.test.yml"], cwd=DOCKER / "prometheus", capture_output=True, text=True
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
    config = (DOCKER / "prometheus" / "prometheus.yml").read_text()
    (tmp_path / "key").write_text("ss_test")
    shutil.copy(DOCKER / "prometheus" / "alerts.yml", tmp_path / "alerts.yml")
    local = config.replace("/etc/prometheus/alerts.yml", str(tmp_path / "alerts.yml")).replace(
        "/run/secrets/metrics_api_key", str(tmp_path / "key")
    )
    (tmp_path / "prometheus.yml").write_text(local)
    config_checked = subprocess.run(  # noqa: S603
        [promtool, "check", "config", str(tmp_path / "prometheus.yml")], capture_output=True, text=True
    )
    assert config_checked.returncode == 0, config_checked.stdout + config_checked.stderr


def test_the_grafana_dashboard_is_importable_and_queries_exported_metrics() -> None:
    dashboard = json.loads((DOCKER / "grafana" / "sequencer-dashboard.json").read_text())

    assert dashboard["uid"] == "stateset-sequencer"
    assert dashboard["title"]
    assert isinstance(dashboard["schemaVersion"], int)
    assert dashboard["templating"]["list"][0]["type"] == "datasource"
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    queried: set[str] = set()
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == "${datasource}"
        assert {"x", "y", "w", "h"} <= set(panel["gridPos"])
        for target in panel["targets"]:
            queried |= metric_names(target["expr"])
    assert not queried - EXPORTED - PROVIDED_LATER
    assert {"ingest_duration_seconds_bucket", "ingest_events_total", "db_pool_active_connections"} <= queried


def test_compose_runs_the_readme_commands_with_graceful_stop_periods() -> None:
    compose = yaml.safe_load((DOCKER / "compose.yml").read_text())
    services = compose["services"]
    run_script = (ROOT / "scripts" / "run.sh").read_text()

    assert {"web", "worker", "beat", "postgres", "redis", "prometheus", "grafana"} <= set(services)
    assert services["web"]["command"] == ["bash", "scripts/web.sh"]
    assert "bash scripts/web.sh" in run_script
    worker = services["worker"]["command"]
    assert worker[:4] == ["celery", "-A", "sequencer_project", "worker"]
    assert worker[worker.index("-Q") + 1] == "commitments,projections,payments,maintenance"
    assert "-Q commitments,projections,payments,maintenance" in run_script
    # Every projection shard's tick can run while a process is left for commitments and payments.
    concurrency = int(worker[worker.index("--concurrency") + 1])
    assert f"--concurrency {concurrency} " in run_script
    assert concurrency > settings.PROJECTION_SHARDS
    assert services["beat"]["command"][:4] == ["celery", "-A", "sequencer_project", "beat"]
    assert int(services["web"]["stop_grace_period"].rstrip("s")) > int(
        services["web"]["environment"]["WEB_GRACEFUL_TIMEOUT"]
    )
    assert int(services["worker"]["stop_grace_period"].rstrip("s")) > 90  # CELERY_TASK_TIME_LIMIT
    for name in ("web", "worker", "beat"):
        env = services[name]["environment"]
        assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "BOOTSTRAP_ADMIN_API_KEY"} <= set(env)
    settings_flags = services["postgres"]["command"]
    assert settings_flags[0] == "postgres"
    assert {flag.split("=")[0] for flag in settings_flags[2::2]} == {"shared_buffers", "max_wal_size"}
    assert all(flag == "-c" for flag in settings_flags[1::2])
    mounted = " ".join(services["prometheus"]["volumes"] + services["grafana"]["volumes"])
    for path in re.findall(r"\./([\w./-]+):", mounted):
        assert (DOCKER / path).exists(), path


def test_the_dockerfile_copies_every_package_and_runs_gunicorn_as_a_non_root_user() -> None:
    dockerfile = (DOCKER / "Dockerfile").read_text()
    pyproject = (ROOT / "pyproject.toml").read_text()
    packages = re.search(r"include = \[([^\]]*)\]", pyproject)
    assert packages is not None
    ves_distribution = tomllib.loads((ROOT / "stateset-ves" / "pyproject.toml").read_text())

    for package in re.findall(r'"(\w+)\*"', packages.group(1)) + ves_distribution["tool"]["setuptools"]["packages"]:
        assert f"COPY {package} ./{package}" in dockerfile
    # Both distributions are installed: the server depends on stateset-ves (ADR 0023).
    assert "COPY stateset-ves ./stateset-ves" in dockerfile
    assert "pip install --no-deps ./stateset-ves ." in dockerfile
    assert "USER app" in dockerfile
    assert 'CMD ["bash", "scripts/web.sh"]' in dockerfile
    assert "COPY scripts/web.sh ./scripts/web.sh" in dockerfile


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("server", ["gunicorn", "granian"])
def test_the_web_launcher_serves_the_application_under_either_server(server: str, tmp_path: Path) -> None:
    """scripts/web.sh as `make run` and the image use it: /health answers, /metrics merges the
    workers' multiprocess files from a directory the launcher emptied first, and the server runs
    at WEB_NICE above the launcher's niceness (ADR 0030)."""
    port = _free_port()
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_stale.db").write_bytes(b"left over from an earlier run")
    env = {
        **os.environ,
        "WEB_SERVER": server,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_WORKERS": "1",
        "WEB_THREADS": "2",
        "WEB_NICE": "7",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "DATABASE_URL": child_database_url(),
    }
    process = subprocess.Popen(["bash", "scripts/web.sh"], cwd=ROOT, env=env, start_new_session=True)  # noqa: S607
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.2)
        assert health.status_code == 200
        metrics = httpx.get(
            f"http://127.0.0.1:{port}/metrics",
            headers={"Authorization": f"ApiKey {os.environ['BOOTSTRAP_ADMIN_API_KEY']}"},
            timeout=5,
        )
        assert metrics.status_code == 200, metrics.text[:300]
        assert 'sequencer_http_requests_total{method="GET",path="/health",status="200"}' in metrics.text
        assert not (metrics_dir / "counter_stale.db").exists()
        # bash execs the server, so the launcher's pid is the server's (master or main process)
        assert os.getpriority(os.PRIO_PROCESS, process.pid) - os.getpriority(os.PRIO_PROCESS, 0) == 7
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=40)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _gunicorn_conf(monkeypatch: pytest.MonkeyPatch, env: dict[str, str | None], prints: str) -> str:
    """What ``prints`` (a Python expression over ``c``, the config's namespace, and ``before``, the
    niceness before it ran) prints after ``docker/gunicorn.conf.py`` runs in a fresh interpreter
    with ``env`` set (``None``: unset)."""
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    script = (
        f"import os, runpy, sys; before = os.nice(0); c = runpy.run_path('docker/gunicorn.conf.py'); print({prints})"
    )
    out = subprocess.run(  # noqa: S603  (our interpreter, our script)
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


@pytest.mark.parametrize(("setting", "interval"), [(None, 0.005), ("1", 0.001)])
def test_gunicorn_workers_inherit_the_configured_gil_switch_interval(
    setting: str | None, interval: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The master sets it before forking: a thread back from PostgreSQL waits at most this long
    for the GIL behind a busy request thread (Python's 5 ms unless set)."""
    printed = _gunicorn_conf(monkeypatch, {"WEB_GIL_SWITCH_INTERVAL_MS": setting}, "sys.getswitchinterval()")

    assert float(printed) == pytest.approx(interval)


@pytest.mark.parametrize(("setting", "niceness"), [(None, 10), ("3", 3), ("0", 0)])
def test_gunicorn_workers_inherit_the_configured_niceness(
    monkeypatch: pytest.MonkeyPatch, setting: str | None, niceness: int
) -> None:
    """By default the web runs 10 below the worker and PostgreSQL on shared cores (ADR 0030)."""
    assert _gunicorn_conf(monkeypatch, {"WEB_NICE": setting}, "os.nice(0) - before") == str(niceness)


@pytest.mark.parametrize(("setting", "jitter", "expected"), [(None, None, "0 0"), ("500000", "50000", "500000 50000")])
def test_gunicorn_recycles_workers_only_when_asked(
    monkeypatch: pytest.MonkeyPatch, setting: str | None, jitter: str | None, expected: str
) -> None:
    """A recycled worker's replacement starts for ~0.7 s of CPU before it accepts; with both
    workers recycling in that time nobody accepts (docs/performance.md, "Workers not recycled")."""
    env = {"WEB_MAX_REQUESTS": setting, "WEB_MAX_REQUESTS_JITTER": jitter}
    assert _gunicorn_conf(monkeypatch, env, "c['max_requests'], c['max_requests_jitter']") == expected


@pytest.mark.parametrize(
    ("path", "expected"), [(None, "True None"), ("/run/sequencer/web.ctl", "False /run/sequencer/web.ctl")]
)
def test_gunicorns_control_socket_is_off_unless_a_path_is_given(
    monkeypatch: pytest.MonkeyPatch, path: str | None, expected: str
) -> None:
    """Every gunicorn of a user shared $HOME/.gunicorn/gunicorn.ctl: a test's server took the
    running service's."""
    printed = _gunicorn_conf(
        monkeypatch, {"WEB_CONTROL_SOCKET": path}, "c['control_socket_disable'], c.get('control_socket')"
    )

    assert printed == expected


def test_the_server_pins_every_dependency_and_the_library_bounds_each_one() -> None:
    """The server installs exactly what the suite ran on; ``stateset-ves``, a library installed
    beside other packages, takes ranges with an upper bound (pyproject.toml's comments)."""
    server = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    library = tomllib.loads((ROOT / "stateset-ves" / "pyproject.toml").read_text())["project"]
    extras = server["optional-dependencies"]
    requirements = server["dependencies"] + extras["local-chain"] + extras["dev"]

    unpinned = [r for r in requirements if not re.fullmatch(r"[\w.-]+(\[[\w,-]+\])?==[\w.]+", r)]
    assert unpinned == ["stateset-sequencer[local-chain]"]  # the project's own extra
    for requirement in library["dependencies"]:
        assert re.fullmatch(r"[\w.-]+>=[\w.]+,<[\w.]+", requirement), requirement
    names = {re.split(r"[\[=]", r)[0].lower() for r in server["dependencies"]}
    assert {re.split(r"[>\[]", r)[0].lower() for r in library["dependencies"]} <= names


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WEB_WORKERS", "0"),
        ("WEB_THREADS", "abc"),
        ("WEB_NICE", "x"),
        ("WEB_TIMEOUT", "-1"),
        ("WEB_GIL_SWITCH_INTERVAL_MS", "0"),
        ("WEB_GIL_SWITCH_INTERVAL_MS", "nan"),
        ("WEB_LIMIT_REQUEST_LINE", "9000"),
    ],
)
def test_a_server_setting_out_of_its_range_stops_the_server_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    # A master with no worker listens and never answers; int() failing showed only a traceback.
    monkeypatch.setenv(name, value)
    ran = subprocess.run(
        [sys.executable, "-c", "import runpy; runpy.run_path('docker/gunicorn.conf.py')"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ran.returncode == 1
    assert ran.stderr.strip().startswith(f"{name} must be"), ran.stderr
    assert repr(value) in ran.stderr
    assert "Traceback" not in ran.stderr


def test_the_web_launcher_refuses_to_serve_what_the_system_checks_refuse() -> None:
    # The image's command is scripts/web.sh: started without a migrate step (which also runs the
    # checks), it served Django's debug pages in production.
    port = _free_port()
    env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_WORKERS": "1",
        "DJANGO_SETTINGS_MODULE": "sequencer_project.settings",
        "SEQUENCER_DOTENV": "",
        "SEQUENCER_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),  # production's bar, so DEBUG is what is refused
        "DEBUG": "true",
        "DATABASE_URL": child_database_url(),
    }
    process = subprocess.Popen(
        ["bash", "scripts/web.sh"],  # noqa: S607  (bash of the system, our script)
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:  # it served: stop it before failing
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=40)
    ran = subprocess.CompletedProcess(process.args, process.returncode, "", stderr)
    assert ran.returncode != 0
    assert "sequencer.E004" in ran.stderr, ran.stderr[-2000:]
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0  # nothing listened
