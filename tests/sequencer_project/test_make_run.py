"""``make run``'s deployment, tried as a newcomer tries it.

``scripts/run.sh`` (what ``make run`` runs after installing) starts on a scratch database, a
Redis database of its own, a free port and a temporary env file, with none of the test run's
variables: it writes its own secrets, payload key and signing key like on a fresh clone. Then
the three commands it prints are run exactly as printed, the Python examples of the README and of
``docs/sdk.md`` exactly as written (only the URL and the key filled in, as their comments say),
and the README's ``ves verify`` command with the sequencer key ``make run`` printed. Payloads must be sealed at
rest, receipts signed, and the worker and beat must project and commit within seconds.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
import pytest

from tests.sequencer_project.ops_helpers import free_port, parent_pid, running_pids

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SDK_DOC = ROOT / "docs" / "sdk.md"
# What the test run fixes (tests/settings.py) must not leak into the deployment under test.
TEST_ONLY = (
    "DJANGO_SETTINGS_MODULE",
    "SEQUENCER_DOTENV",
    "SECRET_KEY",
    "BOOTSTRAP_ADMIN_API_KEY",
    "PAYLOAD_ENCRYPTION_MODE",
    "PAYLOAD_ENCRYPTION_KEYS",
    "PAYLOAD_ENCRYPTION_KEYS_BY_TENANT",
    "VES_SEQUENCER_SIGNING_KEY",
    "PROMETHEUS_MULTIPROC_DIR",
)
BASH = shutil.which("bash") or "/bin/bash"
MAKE_RUN_REDIS_DB = 14  # apart from the test broker: its worker must not take other tests' tasks
DEMO_TENANT = "00000000-0000-0000-0000-000000000001"


@dataclass(frozen=True)
class Deployment:
    url: str
    key: str
    sequencer_key: str
    commands: list[str]
    database_url: str
    env_file: Path
    output: str


def _url_with(url: str, *, path: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path=path))


def _printed_commands(output: str) -> list[str]:
    """The shell commands ``make run`` printed: lines from ``curl`` to the last continuation."""
    commands: list[str] = []
    lines = output.splitlines()
    for index, line in enumerate(lines):
        if line.strip().startswith("curl "):
            command = [line.strip()]
            while command[-1].endswith("\\"):
                index += 1
                command.append(lines[index].strip())
            commands.append("\n".join(command))
    return commands


def _run_env(database_url: str, port: int, tmp_path: Path) -> dict[str, str]:
    """``run.sh``'s environment: none of the test run's variables, its own database, Redis
    database, ports, env file and beat schedule."""
    env = {key: value for key, value in os.environ.items() if key not in TEST_ONLY}
    env.pop("CELERY_BROKER_URL", None)
    env.update(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": _url_with(os.environ["REDIS_URL"], path=f"/{MAKE_RUN_REDIS_DB}"),
            "PORT": str(port),
            "WORKER_METRICS_PORT": str(free_port()),
            "SEQUENCER_DOTENV": str(tmp_path / ".env"),
            "CELERY_BEAT_SCHEDULE": str(tmp_path / "celerybeat-schedule"),
            "WEB_WORKERS": "1",
        }
    )
    return env


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    name = f"makerun_{uuid.uuid4().hex[:10]}"
    database_url = _url_with(os.environ["DATABASE_URL"], path=f"/{name}")
    admin_url = _url_with(os.environ["DATABASE_URL"], path="/postgres")
    port = free_port()
    env = _run_env(database_url, port, tmp_path)
    log = tmp_path / "make-run.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(  # noqa: S603  (our own script)
            [BASH, "scripts/run.sh"], cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            output = log.read_text(errors="replace")
            if "operator admin" in output and _ready(url):
                break
            assert process.poll() is None, f"make run stopped:\n{output[-4000:]}"
            assert time.monotonic() < deadline, f"make run did not come up:\n{output[-4000:]}"
            time.sleep(0.25)
        key = re.search(r"API key\s+: (\S+)", output)
        sequencer_key = re.search(r"sequencer key : ([0-9a-f]{64})", output)
        assert key is not None, output
        assert sequencer_key is not None, output
        yield Deployment(
            url, key[1], sequencer_key[1], _printed_commands(output), database_url, tmp_path / ".env", output
        )
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _text(url: str) -> str:
    try:
        return httpx.get(url, timeout=2).text
    except httpx.HTTPError:
        return ""


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _sh(command: str, **env: str) -> Any:
    done = subprocess.run(  # noqa: S603  (the commands make run printed)
        [BASH, "-c", command], capture_output=True, text=True, timeout=30, env={**os.environ, **env}
    )
    assert done.returncode == 0, done.stderr
    return orjson.loads(done.stdout)


def _until(what: str, check: Any, seconds: float = 20) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} did not happen within {seconds} s"
        time.sleep(0.25)


def _python_example(document: Path) -> str:
    section = document.read_text(encoding="utf-8").split("## Use it from Python", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def _readme_verify_command() -> str:
    lines = [
        line for line in README.read_text(encoding="utf-8").splitlines() if line.startswith(".venv/bin/ves verify")
    ]
    assert len(lines) == 1, lines
    return lines[0]


def test_the_printed_commands_sequence_seal_and_project_an_event(deployment: Deployment) -> None:
    ingest, head, state = deployment.commands
    assert "127.0.0.1" in ingest
    assert deployment.key in ingest

    accepted = _sh(ingest)
    assert (accepted["events_accepted"], accepted["head_sequence"]) == (1, 1)
    assert _sh(head) == {"head_sequence": 1}
    projected = _until("projection", lambda: _sh(state).get("state"))
    assert projected == {"total": 42}

    # The worker's own /metrics, printed by make run: the singleton jobs its tasks ran.
    worker_metrics = re.search(r"worker: (http://\S+/metrics)", deployment.output)
    assert worker_metrics is not None, deployment.output
    ran_jobs = re.compile(r'^singleton_job_runs_total\{job="([^"]+)",outcome="ran"\} [1-9]', re.MULTILINE)
    ran = _until("worker metrics", lambda: ran_jobs.findall(_text(worker_metrics[1])))
    assert any(job.startswith("events.projection_run") for job in ran), ran
    # The worker is named after the port: two deployments on one host are two workers, not one name twice.
    admin_key = re.search(r"^BOOTSTRAP_ADMIN_API_KEY=(\S+)", deployment.env_file.read_text(), re.MULTILINE)
    assert admin_key is not None
    health = httpx.get(
        f"{deployment.url}/health/detailed", headers={"Authorization": f"ApiKey {admin_key[1]}"}, timeout=10
    ).json()
    port = urllib.parse.urlsplit(deployment.url).port
    assert [name.partition("@")[0] for name in health["components"]["celery"]["worker_names"]] == [f"sequencer-{port}"]

    with psycopg.connect(deployment.database_url) as connection:
        formats = connection.execute("SELECT payload_format, payload FROM events").fetchall()
    assert [fmt for fmt, _ in formats] == [1]  # sealed at rest (SSE1)
    assert b"42" not in bytes(formats[0][1])
    assert oct(deployment.env_file.stat().st_mode & 0o777) == "0o600"
    written = deployment.env_file.read_text()
    for name in ("SECRET_KEY", "BOOTSTRAP_ADMIN_API_KEY", "PAYLOAD_ENCRYPTION_KEYS", "VES_SEQUENCER_SIGNING_KEY"):
        assert re.search(rf"^{name}=\S+", written, re.MULTILINE), name


def test_the_python_examples_and_ves_verify_run_as_written(
    deployment: Deployment, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")  # as if run from the checkout, like `make run`
    # docs/sdk.md's whole tour first, twice (a user runs it again: its x402 payer's nonce once
    # failed every run after the first); the README's example then writes the bundle verified below.
    for document in (SDK_DOC, SDK_DOC, README):
        code = _python_example(document)
        placeholder = 'URL, KEY = "http://127.0.0.1:8080", "ss_…"'
        assert placeholder in code, document
        assert f'"{DEMO_TENANT}"' in code, document
        code = code.replace(placeholder, f"URL, KEY = {deployment.url!r}, {deployment.key!r}")
        printed = io.StringIO()

        with contextlib.redirect_stdout(printed):
            exec(compile(code, document.name, "exec"), {})  # noqa: S102  (our own documentation, run as written)

        assert "'signatureAlg': 'ed25519'" in printed.getvalue(), document  # receipts are signed
    verify = _readme_verify_command()
    done = subprocess.run(  # noqa: S603  (the README's command)
        [BASH, "-c", verify],
        cwd=tmp_path,
        env={**os.environ, "SEQUENCER_KEY": deployment.sequencer_key},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.rstrip().endswith("bundle verified"), done.stdout
    assert "PASS" in done.stdout
    assert "FAIL" not in done.stdout
    wrong_key = subprocess.run(  # noqa: S603  (the same command, another key: must fail)
        [BASH, "-c", verify],
        cwd=tmp_path,
        env={**os.environ, "SEQUENCER_KEY": "11" * 32},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert wrong_key.returncode == 1, wrong_key.stdout + wrong_key.stderr
    assert "bundle REJECTED" in wrong_key.stdout
    assert shlex.split(verify)[0] == ".venv/bin/ves"


def test_a_second_start_on_a_port_in_use_changes_nothing(tmp_path: Path) -> None:
    # An earlier start whose terminal was killed leaves web, worker and beat running; a second
    # start revoked the key its clients used, started a second worker and beat, then failed to
    # bind. It now stops before anything changes (no database, no key), naming the port.
    name = f"makerun_{uuid.uuid4().hex[:10]}"
    database_url = _url_with(os.environ["DATABASE_URL"], path=f"/{name}")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env = _run_env(database_url, taken.getsockname()[1], tmp_path)
        port = taken.getsockname()[1]
        done = subprocess.run(  # noqa: S603  (our own script)
            [BASH, "scripts/run.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"Port {port} on 127.0.0.1 is in use" in done.stderr
    assert "API key" not in done.stdout
    admin_url = _url_with(os.environ["DATABASE_URL"], path="/postgres")
    with psycopg.connect(admin_url, autocommit=True) as connection:
        assert connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None


@pytest.mark.parametrize(
    ("table", "name"),
    [
        ("CREATE TABLE events (payload_format smallint); INSERT INTO events VALUES (1)", "PAYLOAD_ENCRYPTION_KEYS"),
        (
            "CREATE TABLE log_checkpoints (tree_size bigint); INSERT INTO log_checkpoints VALUES (3)",
            "VES_SEQUENCER_SIGNING_KEY",
        ),
    ],
    ids=["sealed-payloads", "signed-checkpoints"],
)
def test_a_restored_database_without_its_env_file_is_refused_before_new_keys_are_made(
    tmp_path: Path, table: str, name: str
) -> None:
    # A restore started without the .env that wrote it came up "ready" with new keys under the
    # same ids: every sealed payload answered 500, and payloads sealed meanwhile stayed unreadable
    # once the right key was back; checkpoints were signed by another key.
    database = f"makerun_{uuid.uuid4().hex[:10]}"
    database_url = _url_with(os.environ["DATABASE_URL"], path=f"/{database}")
    admin_url = _url_with(os.environ["DATABASE_URL"], path="/postgres")
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{database}"')
    try:
        with psycopg.connect(database_url, autocommit=True) as connection:
            connection.execute(table)
        env = _run_env(database_url, free_port(), tmp_path)
        env.pop(name, None)
        done = subprocess.run(  # noqa: S603  (our own script)
            [BASH, "scripts/run.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 1, done.stdout + done.stderr
        assert f"has no {name}, but the database at DATABASE_URL already holds" in done.stderr
        assert f"{name}=" not in (tmp_path / ".env").read_text()
    finally:
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _worker_main_pids(port: int) -> set[int]:
    """The deployment's Celery worker main process, a child of make run (its pool children share
    its command line, and those of a killed one live on a moment under another parent)."""
    named = (
        pid for pid in running_pids() if f"sequencer-{port}@" in (command := _cmdline(pid)) and " worker " in command
    )
    return {pid for pid in named if "scripts/run.sh" in _cmdline(parent_pid(pid) or 0)}


def test_a_worker_that_dies_is_started_again_and_the_web_keeps_serving(deployment: Deployment) -> None:
    """A Redis restart can crash the Celery worker (docs/reliability.md); make run used to stop the
    web and beat with it. Now the worker is started again and the deployment goes on."""
    ingest, _head, state = deployment.commands
    port = urllib.parse.urlsplit(deployment.url).port
    assert port is not None
    (worker,) = _until("the worker", lambda: _worker_main_pids(port))

    os.kill(worker, signal.SIGKILL)

    (again,) = _until("the worker started again", lambda: _worker_main_pids(port) - {worker}, seconds=60)
    assert again != worker
    assert _ready(deployment.url)  # the web did not stop with it
    assert _sh(ingest)["events_accepted"] == 1
    assert _until("projection by the new worker", lambda: _sh(state).get("state"), seconds=60) == {"total": 42}
