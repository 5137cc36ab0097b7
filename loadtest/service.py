"""``--start-service``: a scratch database, a fresh tenant and key, gunicorn with the project's config.

The service is started exactly as production starts it (``gunicorn -c docker/gunicorn.conf.py
sequencer_project.wsgi``), so whatever worker class and counts that file chooses on main are
what gets measured. Only the port, bind address and database differ. The k6 scenario runs start
no Celery worker (they measure the web path); capacity runs (``background=True``) also start
the Celery worker and beat with the commands of ``scripts/run.sh``, as deployed. ``--server
granian`` serves the same WSGI application with granian at the worker and thread counts that
``docker/gunicorn.conf.py`` resolves to. As with ``make run``, receipts are signed and payloads
sealed at rest, with fresh keys unless ``VES_SEQUENCER_SIGNING_KEY`` / ``PAYLOAD_ENCRYPTION_KEYS``
are set.

``anchor_server`` serves the bare-insert anchor (``loadtest/anchor``) with the same server and
settings on its own database.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]


SERVERS = ("gunicorn", "granian")


@dataclass(frozen=True, slots=True)
class Service:
    url: str
    api_key: str
    tenant_id: uuid.UUID
    database_url: str
    pid: int | None  # gunicorn master (None: a service we did not start)
    config: str = ""  # worker class, workers, threads as docker/gunicorn.conf.py resolved them
    worker_pid: int | None = None  # celery worker (capacity runs with background=True)
    beat_pid: int | None = None  # celery beat
    server: str = "gunicorn"


def with_database(database_url: str, name: str) -> str:
    """``database_url`` pointing at database ``name``."""
    parts = urlsplit(database_url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def database_name(database_url: str) -> str:
    return urlsplit(database_url).path.lstrip("/")


def scratch_name(database_url: str) -> str:
    """The scratch database of a run: ``<your database>_lt`` (never someone else's)."""
    return f"{database_name(database_url)}_lt"


def _recreate_database(database_url: str, name: str) -> None:
    with psycopg.connect(with_database(database_url, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(database_url: str, name: str) -> None:
    with psycopg.connect(with_database(database_url, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _manage(env: dict[str, str], *args: str, root: Path = ROOT) -> str:
    done = subprocess.run(  # noqa: S603  (our interpreter, fixed arguments)
        [sys.executable, "manage.py", *args], cwd=root, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {args[0]} failed:\n{done.stderr[-3000:]}")
    return done.stdout.strip()


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def server_settings(env: dict[str, str]) -> dict[str, Any]:
    """``worker_class``, ``workers``, ``threads`` and ``timeout`` of ``docker/gunicorn.conf.py`` under ``env``."""
    code = (
        "import json, runpy; c = runpy.run_path('docker/gunicorn.conf.py'); "
        "print(json.dumps({k: c[k] for k in ('worker_class', 'workers', 'threads', 'timeout')}))"
    )
    done = subprocess.run(  # noqa: S603  (our interpreter, fixed code)
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    try:
        settings: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return {}
    return settings


def gunicorn_settings(env: dict[str, str]) -> str:
    """``worker_class``, ``workers`` and ``threads`` of ``docker/gunicorn.conf.py`` under ``env``."""
    c = server_settings(env)
    if not c:
        return "unknown (docker/gunicorn.conf.py did not load)"
    return f"{c['worker_class']} workers, {c['workers']} x {c['threads']} thread(s)"


def describe_server(server: str, env: dict[str, str]) -> str:
    """What ``server_command`` runs, for the report."""
    if server == "gunicorn":
        return gunicorn_settings(env)
    c = server_settings(env)
    return f"granian wsgi, {c.get('workers', '?')} workers x {c.get('threads', '?')} blocking thread(s)"


def server_command(server: str, app: str, env: dict[str, str], root: Path = ROOT) -> list[str]:
    """The command serving WSGI module ``app`` (its ``application``) on HOST:PORT of ``env``:
    ``scripts/web.sh`` of the checkout ``root``, the launcher ``make run`` and the image use, with
    ``WEB_SERVER`` and ``WEB_APP`` set in ``env`` (so the multiprocess metrics set-up is the
    deployed one too)."""
    if server not in SERVERS:
        raise ValueError(f"unknown server {server!r}")
    env["WEB_SERVER"], env["WEB_APP"] = server, app
    return ["bash", str(root / "scripts" / "web.sh")]


def start_logged(
    command: list[str], env: dict[str, str], name: str, root: Path = ROOT
) -> tuple[subprocess.Popen[bytes], Any]:
    """Start ``command`` in the checkout ``root`` with its output in a temporary log file."""
    log = tempfile.NamedTemporaryFile(prefix=f"loadtest-{name}-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    return process, log


def wait_ready(url: str, timeout: float = 90.0, process: subprocess.Popen[bytes] | None = None) -> None:
    """Poll ``url``/ready until 200; give up after ``timeout`` or when ``process`` has exited."""
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server for {url} exited with {process.returncode} before it was ready")
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the service at {url} did not become ready in {timeout:.0f} s")
        time.sleep(0.25)


def worker_commands(schedule: Path) -> tuple[list[str], list[str]]:
    """The Celery worker and beat exactly as ``scripts/run.sh`` starts them (beat's schedule file apart)."""
    celery = str(Path(sys.executable).with_name("celery"))
    worker = [
        celery,
        "-A",
        "sequencer_project",
        "worker",
        "-Q",
        "commitments,projections,payments,maintenance",
        "--concurrency",
        "3",  # as docker/compose.yml: two projection shards and commitments run side by side
        "--loglevel",
        "WARNING",
    ]
    beat = [celery, "-A", "sequencer_project", "beat", "--loglevel", "WARNING", "--schedule", str(schedule)]
    return worker, beat


@contextlib.contextmanager
def scratch_service(
    database_url: str,
    port: int,
    *,
    keep_database: bool = False,
    background: bool = False,
    server: str = "gunicorn",
    root: Path = ROOT,
    settings: Mapping[str, str] | None = None,
) -> Iterator[Service]:
    """Migrate a scratch database, mint a tenant and an admin key, run the web server; stop it after.

    ``background``: the Celery worker and beat run too (``scripts/run.sh``'s commands).
    ``root``: the checkout whose code serves (its own directory and ``PYTHONPATH``: a side-by-side
    run serves two commits at once); ``settings``: environment variables on top of this one's.
    """
    if port_in_use(port):
        raise SystemExit(f"port {port} is already in use; pick another with --port")
    name = scratch_name(database_url)
    scratch_url = with_database(database_url, name)
    _recreate_database(database_url, name)
    env = {
        **os.environ,
        "DATABASE_URL": scratch_url,
        "DJANGO_SETTINGS_MODULE": "sequencer_project.settings",
        # As `make run` and production: receipts signed, payloads sealed at rest (fresh keys).
        "VES_SEQUENCER_SIGNING_KEY": os.environ.get("VES_SEQUENCER_SIGNING_KEY") or os.urandom(32).hex(),
        "PAYLOAD_ENCRYPTION_KEYS": os.environ.get("PAYLOAD_ENCRYPTION_KEYS") or f"1:{os.urandom(32).hex()}",
        # With a keyring the default mode already seals; `required` makes a missing key an error.
        "PAYLOAD_ENCRYPTION_MODE": os.environ.get("PAYLOAD_ENCRYPTION_MODE") or "required",
        **(settings or {}),
    }
    if root != ROOT:  # the checkout's code before any other (celery's entry point puts its own directory first)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(root), env.get("PYTHONPATH", ""))))
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # gunicorn.conf.py picks a per-port directory
    _manage(env, "migrate", "--no-input", "-v", "0", root=root)
    tenant_id = uuid.UUID(_manage(env, "create_tenant", "--name", "loadtest", root=root).splitlines()[-1])
    key = _manage(
        env,
        "create_api_key",
        "--tenant",
        str(tenant_id),
        "--name",
        "loadtest",
        "--permissions",
        "read,write,admin",
        root=root,
    ).splitlines()[-1]
    url = f"http://127.0.0.1:{port}"
    web_env = {**env, "HOST": "127.0.0.1", "PORT": str(port), "WEB_LOG_LEVEL": "warning"}
    started: list[tuple[subprocess.Popen[bytes], Any]] = []
    with tempfile.TemporaryDirectory(prefix="loadtest-beat-") as beat_dir:
        try:
            web, log = start_logged(
                server_command(server, "sequencer_project.wsgi", web_env, root), web_env, f"{server}-{port}", root
            )
            started.append((web, log))
            worker_pid = beat_pid = None
            if background:
                worker_command, beat_command = worker_commands(Path(beat_dir) / "celerybeat-schedule")
                worker, worker_log = start_logged(worker_command, env, "celery-worker", root)
                started.append((worker, worker_log))
                beat, beat_log = start_logged(beat_command, env, "celery-beat", root)
                started.append((beat, beat_log))
                worker_pid, beat_pid = worker.pid, beat.pid
            try:
                wait_ready(url, process=web)
            except RuntimeError as exc:
                raise RuntimeError(f"{exc}; {server} log: {log.name}") from exc
            yield Service(
                url,
                key,
                tenant_id,
                scratch_url,
                web.pid,
                describe_server(server, web_env),
                worker_pid=worker_pid,
                beat_pid=beat_pid,
                server=server,
            )
        finally:
            for process, handle in reversed(started):
                stop_process(process)
                handle.close()
            if not keep_database:
                drop_database(database_url, name)


def bench_name(database_url: str) -> str:
    """The database of a capacity run's ceiling and anchor: ``<your database>_lt_bench``."""
    return f"{database_name(database_url)}_lt_bench"


@contextlib.contextmanager
def bench_database(database_url: str, *, keep_database: bool = False) -> Iterator[str]:
    """A fresh, migrated ``<database>_lt_bench`` with the anchor's table; dropped afterwards.

    The write ceilings and the anchor write there, not in the service's database, so the
    service's Celery worker never projects or commits their rows while they are measured.
    """
    from loadtest.anchor.sql import CREATE_TABLE

    name = bench_name(database_url)
    url = with_database(database_url, name)
    _recreate_database(database_url, name)
    try:
        env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "sequencer_project.settings"}
        _manage(env, "migrate", "--no-input", "-v", "0")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(CREATE_TABLE)
        yield url
    finally:
        if not keep_database:
            drop_database(database_url, name)


@contextlib.contextmanager
def anchor_server(bench_url: str, port: int, *, server: str = "gunicorn") -> Iterator[tuple[str, int, str]]:
    """Serve ``loadtest.anchor.wsgi`` on ``port`` with the service's server settings: (url, pid, settings)."""
    if port_in_use(port):
        raise SystemExit(f"port {port} (the anchor's) is already in use; pick another with --anchor-port")
    env = {
        **os.environ,
        "ANCHOR_DATABASE_URL": bench_url,
        "DJANGO_SETTINGS_MODULE": "loadtest.anchor.settings",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_LOG_LEVEL": "warning",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    process, log = start_logged(server_command(server, "loadtest.anchor.wsgi", env), env, f"anchor-{port}")
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_ready(url, timeout=60, process=process)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}; anchor log: {log.name}") from exc
        yield url, process.pid, describe_server(server, env)
    finally:
        stop_process(process)
        log.close()


def stop_process(process: subprocess.Popen[bytes], grace: float = 45.0) -> None:
    """SIGTERM (gunicorn's graceful stop), then SIGKILL after ``grace`` seconds."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
