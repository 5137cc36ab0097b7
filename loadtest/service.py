"""``--start-service``: a scratch database, a fresh tenant and key, gunicorn with the project's config.

The service is started exactly as production starts it (``gunicorn -c docker/gunicorn.conf.py
sequencer_project.wsgi``), so whatever worker class and counts that file chooses on main are
what gets measured. Only the port, bind address and database differ. No Celery worker runs:
the load test measures the web path (background work would compete for the same cores).
As with ``make run``, receipts are signed and payloads sealed at rest, with fresh keys unless
``VES_SEQUENCER_SIGNING_KEY`` / ``PAYLOAD_ENCRYPTION_KEYS`` are set.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True, slots=True)
class Service:
    url: str
    api_key: str
    tenant_id: uuid.UUID
    database_url: str
    pid: int | None  # gunicorn master (None: a service we did not start)
    config: str = ""  # worker class, workers, threads as docker/gunicorn.conf.py resolved them


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


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(  # noqa: S603  (our interpreter, fixed arguments)
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {args[0]} failed:\n{done.stderr[-3000:]}")
    return done.stdout.strip()


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def gunicorn_settings(env: dict[str, str]) -> str:
    """``worker_class``, ``workers`` and ``threads`` of ``docker/gunicorn.conf.py`` under ``env``."""
    code = (
        "import runpy; c = runpy.run_path('docker/gunicorn.conf.py'); "
        "print(f\"{c['worker_class']} workers, {c['workers']} x {c['threads']} thread(s)\")"
    )
    done = subprocess.run(  # noqa: S603  (our interpreter, fixed code)
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    return done.stdout.strip() or "unknown (docker/gunicorn.conf.py did not load)"


def wait_ready(url: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the service at {url} did not become ready in {timeout:.0f} s")
        time.sleep(0.25)


@contextlib.contextmanager
def scratch_service(database_url: str, port: int, *, keep_database: bool = False) -> Iterator[Service]:
    """Migrate a scratch database, mint a tenant and an admin key, run gunicorn; stop it after."""
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
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # gunicorn.conf.py picks a per-port directory
    _manage(env, "migrate", "--no-input", "-v", "0")
    tenant_id = uuid.UUID(_manage(env, "create_tenant", "--name", "loadtest").splitlines()[-1])
    key = _manage(
        env, "create_api_key", "--tenant", str(tenant_id), "--name", "loadtest", "--permissions", "read,write,admin"
    ).splitlines()[-1]
    url = f"http://127.0.0.1:{port}"
    log = tempfile.NamedTemporaryFile(prefix=f"loadtest-gunicorn-{port}-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(  # noqa: S603
        [str(Path(sys.executable).with_name("gunicorn")), "-c", "docker/gunicorn.conf.py", "sequencer_project.wsgi"],
        cwd=ROOT,
        env={**env, "HOST": "127.0.0.1", "PORT": str(port), "WEB_LOG_LEVEL": "warning"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        try:
            wait_ready(url)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}; gunicorn log: {log.name}") from exc
        yield Service(url, key, tenant_id, scratch_url, process.pid, gunicorn_settings(env))
    finally:
        stop_process(process)
        log.close()
        if not keep_database:
            drop_database(database_url, name)


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
