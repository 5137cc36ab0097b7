"""Helpers for operations tests: throwaway Redis servers, Django code in a child process."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import redis
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def closed_port() -> int:
    """A local port nothing listens on (bound and released)."""
    return free_port()


@contextlib.contextmanager
def throwaway_redis(port: int | None = None) -> Iterator[int]:
    """A private redis-server on its own port, stopped (by pid) afterwards."""
    port = port or free_port()
    process = subprocess.Popen(  # noqa: S603  (fixed arguments)
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_redis(port)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def wait_for_redis(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            redis.Redis(port=port, socket_timeout=0.2).ping()
            return
        except redis.RedisError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def stop_process(process: subprocess.Popen[Any], timeout: float = 30) -> None:
    """Stop a child server or worker: SIGTERM (its graceful shutdown), SIGKILL if it has not
    exited within ``timeout``, and reap it."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def child_database_url() -> str:
    """The pytest-django test database, as a URL a child process can use."""
    params = connection.settings_dict
    host = params.get("HOST") or "127.0.0.1"
    port = params.get("PORT") or 5432
    return f"postgres://{params.get('USER') or 'postgres'}@{host}:{port}/{params['NAME']}"


def server_env(port: int, **settings: str) -> dict[str, str]:
    """The environment of a web server a test starts on ``port``: this one, the test database,
    127.0.0.1, and ``settings`` (``WEB_WORKERS="2"``, ...)."""
    return {**os.environ, "DATABASE_URL": child_database_url(), "HOST": "127.0.0.1", "PORT": str(port), **settings}


def start_gunicorn(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """gunicorn as deployed (``docker/gunicorn.conf.py``) serving ``sequencer_project.wsgi`` in
    its own session, its output in ``log``."""
    with log.open("wb") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "docker/gunicorn.conf.py", "sequencer_project.wsgi"],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_until_serving(base_url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> None:
    """Until the server at ``base_url`` answers ``/health`` with 200; fails with its log's tail if
    it exits or does not answer within ``timeout``.

    Each probe waits as long as is left: a worker still importing the application answers late,
    and one that serves a single request (``WEB_MAX_REQUESTS=1``) spends it on the probe, so a
    probe that gave up early would leave every worker's answer unread on a slow machine."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            if httpx.get(f"{base_url}/health", timeout=max(left, 1)).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("the server did not start: " + log.read_text()[-3000:])


@contextlib.contextmanager
def serving_gunicorn(tmp_path: Path, **settings: str) -> Iterator[tuple[int, Path]]:
    """gunicorn as deployed on a free port with ``settings`` in its environment (its own metrics
    directory under ``tmp_path``; ``WEB_WORKER_CLASS`` left to the configuration), serving once
    ``/health`` answers: yields the port and the server's log, stops the server after."""
    port = free_port()
    log = tmp_path / "gunicorn.log"
    env = server_env(port, PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"), **settings)
    env.pop("WEB_WORKER_CLASS", None)
    server = start_gunicorn(env, log)
    try:
        wait_until_serving(f"http://127.0.0.1:{port}", server, log)
        yield port, log
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=40)


def start_probe_worker(broker_url: str, log: Path, pool: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A real ``celery worker`` on the ``maintenance`` queue with the probe tasks loaded
    (``celery_probe.py``), its output appended to ``log``; ``pool`` is e.g. ``["--pool", "solo"]``.
    The test run's ``PROMETHEUS_MULTIPROC_DIR`` is not passed on; ``env`` may set one."""
    child_env = {**os.environ, "REDIS_URL": broker_url, "CELERY_BROKER_URL": broker_url}
    child_env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    child_env.update(env)
    with log.open("ab") as sink:
        return subprocess.Popen(  # noqa: S603  (this interpreter's celery)
            [
                sys.executable, "-m", "celery", "-A", "sequencer_project", "worker",
                "-I", "tests.sequencer_project.celery_probe", "-Q", "maintenance", *pool,
                "--loglevel", "INFO", "-n", f"probe-{uuid.uuid4().hex[:6]}@%h",
            ],
            cwd=ROOT, env=child_env, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip


def bare_interpreter_collector() -> tuple[int, int]:
    """Python's own collector settings in a fresh interpreter of this Python: the youngest
    generation's threshold (700 up to 3.12, 2,000 on 3.13) and the objects it holds frozen before
    any import (none, but a few hundred of its own on 3.12)."""
    done = subprocess.run(
        [sys.executable, "-c", "import gc; print(gc.get_threshold()[0], gc.get_freeze_count())"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    threshold, frozen = done.stdout.split()
    return int(threshold), int(frozen)


def run_django(code: str, env: dict[str, str], timeout: float = 60) -> Any:
    """Run ``code`` after ``django.setup()`` in a child process; it prints one JSON line last."""
    script = "import django\ndjango.setup()\n" + code
    child_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sequencer_project.settings",
        "ALLOWED_HOSTS": "testserver",
        **env,
    }
    child_env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    done = subprocess.run(  # noqa: S603  (our own interpreter and code)
        [sys.executable, "-c", script], env=child_env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def get_as_sent(port: int, target: str, key: str) -> tuple[int, Any]:
    """GET ``target`` byte for byte as given (``http.client`` escapes nothing), with an API key;
    the status and the JSON answer."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", target, headers={"Authorization": f"ApiKey {key}"})
        response = connection.getresponse()
        return response.status, orjson.loads(response.read())
    finally:
        connection.close()


def parent_pid(pid: int) -> int | None:
    """The parent of process ``pid`` (from /proc), ``None`` once it has exited."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def running_pids() -> list[int]:
    """Every process id /proc lists now."""
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]
