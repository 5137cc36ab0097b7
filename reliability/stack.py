"""The system under test: a private PostgreSQL and Redis, and the project's own processes.

Everything runs on private ports so faults never touch shared services:

* PostgreSQL 15 on 5440, a fresh ``initdb`` in a temporary directory (owned by ``postgres``
  when we run as root: PostgreSQL refuses to run as root), stopped and removed at the end;
* ``redis-server`` on 6390 without persistence;
* gunicorn with the project's ``docker/gunicorn.conf.py`` on 8140 (so whatever worker class
  main ships is what gets tested), a Celery worker on every queue, and beat.

Every process is started here and stopped here by its own pid; ``kill9_*`` inject crashes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import redis

ROOT = Path(__file__).resolve().parents[1]
PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_PORT = 5440
REDIS_PORT = 6390
WEB_PORT = 8140
DATABASE = "sequencer_reliability"
ADMIN_KEY = "reliability-bootstrap-admin"
BASE_URL = f"http://127.0.0.1:{WEB_PORT}"
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def _as_postgres(argv: list[str]) -> list[str]:
    """PostgreSQL will not run as root: drop to the ``postgres`` user when we are root."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


class PrivatePostgres:
    """A throwaway PostgreSQL cluster on ``PG_PORT`` (trust auth, loopback only)."""

    def __init__(self, workdir: Path) -> None:
        self.root = workdir / "pg"
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{PG_PORT}/{DATABASE}"

    def create(self) -> None:
        self.root.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        subprocess.run(  # noqa: S603  (fixed arguments)
            _as_postgres([str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync"]),
            check=True,
            capture_output=True,
        )
        self.start()
        with psycopg.connect(f"postgres://postgres@127.0.0.1:{PG_PORT}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{DATABASE}"')

    def start(self) -> None:
        # fsync off: the machine never crashes here, only PostgreSQL does (immediate stop), and
        # crash recovery from the OS cache is exactly what a PostgreSQL crash exercises.
        options = f"-p {PG_PORT} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root} -c fsync=off"
        subprocess.run(  # noqa: S603
            _as_postgres(
                [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start"]
            ),
            check=True,
            capture_output=True,
        )

    def stop(self, mode: str = "fast") -> None:
        subprocess.run(  # noqa: S603
            _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"]),
            check=False,
            capture_output=True,
        )

    def connect(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.url, autocommit=True)


class PrivateRedis:
    """``redis-server`` on ``REDIS_PORT``, no persistence: a restart loses every queued message."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{REDIS_PORT}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603
            [REDIS_SERVER, "--port", str(REDIS_PORT), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while True:
            try:
                redis.Redis(port=REDIS_PORT, socket_timeout=0.2).ping()
                return
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


@dataclass
class Service:
    """One project process (web, worker or beat) with its log file."""

    name: str
    argv: list[str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0

    def start(self, env: dict[str, str]) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(  # noqa: S603  (our own interpreter and entry points)
                self.argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        if not self.alive():
            return
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def children(self) -> list[int]:
        """Pids of the direct children (gunicorn workers, Celery pool processes)."""
        if not self.alive():
            return []
        assert self.process is not None
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()]


@dataclass
class Stack:
    """The private services and the project's processes, with crash and restart helpers."""

    workdir: Path
    postgres: PrivatePostgres = field(init=False)
    redis: PrivateRedis = field(default_factory=PrivateRedis)
    services: dict[str, Service] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.postgres = PrivatePostgres(self.workdir)
        celery = [str(Path(sys.executable).parent / "celery"), "-A", "sequencer_project"]
        gunicorn = [str(Path(sys.executable).parent / "gunicorn"), "-c", "docker/gunicorn.conf.py"]
        logs = self.workdir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        self.services = {
            "web": Service(
                "web",
                [*gunicorn, "sequencer_project.wsgi"],
                logs / "web.log",
            ),
            "worker": Service(
                "worker",
                [
                    *celery,
                    "worker",
                    "-Q",
                    "commitments,projections,payments,maintenance",
                    "-c",
                    "3",
                    "--loglevel",
                    "INFO",
                ],
                logs / "worker.log",
            ),
            "beat": Service(
                "beat",
                [*celery, "beat", "--loglevel", "INFO", "--schedule", str(self.workdir / "celerybeat-schedule")],
                logs / "beat.log",
            ),
        }

    def env(self) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "DB_", "PROMETHEUS_"))}
        return {
            **keep,
            "DJANGO_SETTINGS_MODULE": "sequencer_project.settings",
            "DATABASE_URL": self.postgres.url,
            "REDIS_URL": self.redis.url,
            "SECRET_KEY": "reliability-only",
            "BOOTSTRAP_ADMIN_API_KEY": ADMIN_KEY,
            "HOST": "127.0.0.1",
            "PORT": str(WEB_PORT),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            # Background work on a fast cadence so catch-up is visible within a short run.
            "COMMITMENT_INTERVAL_SECONDS": "1",
            "PROJECTION_RUN_INTERVAL_SECONDS": "1",
            "X402_BATCH_INTERVAL_SECONDS": "1",
            "X402_BATCH_MAX_WAIT_SECONDS": "1",
            "LOG_FORMAT": "plain",
        }

    def up(self) -> None:
        self.postgres.create()
        self.redis.start()
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=self.env(), check=True
        )
        for service in self.services.values():
            self.start(service.name)
        self.wait_until_serving()

    def start(self, name: str) -> None:
        env = self.env()
        if name == "web":  # gunicorn's multiprocess metrics directory (emptied by its master)
            env["PROMETHEUS_MULTIPROC_DIR"] = str(self.workdir / "prometheus")
        self.services[name].start(env)

    def manage(self, *args: str) -> str:
        done = subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env(), check=True, capture_output=True, text=True
        )
        return done.stdout.strip()

    def mint_key(self, tenant_id: str) -> str:
        """A new tenant and a read/write/admin key with a (never reached) per-key rate limit."""
        self.manage("create_tenant", "--name", f"reliability {tenant_id[:8]}", "--id", tenant_id)
        output = self.manage(
            "create_api_key", "--tenant", tenant_id, "--permissions", "read,write,admin", "--rate-limit", "100000000"
        )
        return output.splitlines()[-1].strip()

    def wait_until_serving(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.services["web"].alive():
                raise RuntimeError("gunicorn exited: " + self.services["web"].log.read_text()[-3000:])
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{BASE_URL}/ready", timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not become ready")

    def kill9_child(self, name: str) -> int:
        """``kill -9`` one child process of ``name`` (a gunicorn worker, a Celery pool process)."""
        pid = self.services[name].children()[0]
        os.kill(pid, signal.SIGKILL)
        return pid

    def kill9(self, name: str) -> int:
        """``kill -9`` the whole process group of ``name`` (master and children) at once."""
        process = self.services[name].process
        assert process is not None
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        return process.pid

    def down(self) -> None:
        for service in self.services.values():
            service.stop()
        self.redis.stop()
        self.postgres.stop("fast")


@contextlib.contextmanager
def running_stack(keep: bool = False) -> Iterator[Stack]:
    """A stack in a temporary directory; everything stopped and removed afterwards."""
    workdir = Path(tempfile.mkdtemp(prefix="sequencer-reliability-"))
    workdir.chmod(0o755)  # the postgres user must reach its data directory inside
    stack = Stack(workdir)
    try:
        stack.up()
        yield stack
    finally:
        stack.down()
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
