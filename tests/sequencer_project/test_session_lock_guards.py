"""Session-level advisory locks (singleton jobs, the EVM sender) need every statement of their
holder on one PostgreSQL session, which a pooler in transaction mode does not give. The worker
therefore connects directly or through session pooling (docs/scaling.md "Connections"), and two
guards catch a deployment that does not (``sequencer_project/db/locks.py``): an unlock that finds
its lock not held, and a probe of server backends when a worker starts. Both log an ERROR and
count ``session_lock_violations_total{check}``.

The probe is run against a real PgBouncer in transaction mode when one is installed."""

from __future__ import annotations

import copy
import logging
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from django.db import connection
from django.db.backends.postgresql.base import DatabaseWrapper

from sequencer_project.db.locks import (
    LockNamespace,
    job_lock_key,
    session_continuity_problem,
    session_lock_release,
)
from sequencer_project.metrics import SESSION_LOCK_VIOLATIONS

pytestmark = pytest.mark.django_db

LOGGER = "sequencer_project.db.locks"


def _violations(check: str) -> float:
    return float(SESSION_LOCK_VIOLATIONS.labels(check=check)._value.get())


def test_a_direct_connection_keeps_its_session(caplog: pytest.LogCaptureFixture) -> None:
    before = _violations("startup_probe")

    assert session_continuity_problem() is None

    assert _violations("startup_probe") == before
    assert [r for r in caplog.records if r.name == LOGGER] == []


def test_an_unlock_that_finds_its_lock_not_held_is_an_error(caplog: pytest.LogCaptureFixture) -> None:
    """What the holder sees when its unlock lands on another server backend than its lock."""
    before = _violations("unlock")
    key = job_lock_key("tests.guard.not-held")

    with caplog.at_level(logging.ERROR, logger=LOGGER):
        session_lock_release(connection, LockNamespace.PERIODIC_JOB, key, what="singleton job tests.guard")

    assert _violations("unlock") == before + 1
    [record] = [r for r in caplog.records if r.name == LOGGER]
    assert record.levelno == logging.ERROR
    assert "singleton job tests.guard: the unlock found the lock not held" in record.getMessage()
    assert 'docs/scaling.md "Connections"' in record.getMessage()
    assert connection.is_usable()  # the session is kept: nothing of it was wrong


def test_an_unlock_of_a_held_lock_is_quiet(caplog: pytest.LogCaptureFixture) -> None:
    before = _violations("unlock")
    key = job_lock_key("tests.guard.held")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [int(LockNamespace.PERIODIC_JOB), key])

    session_lock_release(connection, LockNamespace.PERIODIC_JOB, key, what="singleton job tests.guard")

    assert _violations("unlock") == before
    assert [r for r in caplog.records if r.name == LOGGER] == []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def transaction_pooler(tmp_path: Path) -> Iterator[DatabaseWrapper]:
    """A PgBouncer of this test's own in transaction mode in front of the test database; a
    Django connection to it that sends no startup options (PgBouncer refuses them)."""
    binary = shutil.which("pgbouncer") or ("/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None)
    assert binary is not None, "PgBouncer is not installed: scripts/services.sh installs it (Debian 'pgbouncer')"
    db = connection.settings_dict
    port = _free_port()
    ini = tmp_path / "pgbouncer.ini"
    ini.write_text(
        "[databases]\n"
        f"{db['NAME']} = host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432} user={db['USER'] or 'postgres'}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        "auth_type = any\npool_mode = transaction\ndefault_pool_size = 4\n"
    )
    log = tmp_path / "pgbouncer.log"
    as_user = ["-u", "postgres"] if os.geteuid() == 0 else []  # PgBouncer refuses to run as root
    with log.open("wb") as sink:
        process = subprocess.Popen([binary, *as_user, str(ini)], stdout=sink, stderr=sink)  # noqa: S603
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                psycopg.connect(host="127.0.0.1", port=port, user=db["USER"] or "postgres", dbname=db["NAME"]).close()
                break
            except psycopg.OperationalError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        settings_dict = copy.deepcopy(db)
        settings_dict.update(HOST="127.0.0.1", PORT=str(port))
        settings_dict["OPTIONS"].pop("options", None)
        settings_dict["OPTIONS"].pop("pool", None)
        yield DatabaseWrapper(settings_dict, alias="through_pgbouncer")
    finally:
        process.terminate()
        process.wait(10)


def test_the_startup_probe_finds_a_pooler_in_transaction_mode(
    transaction_pooler: DatabaseWrapper, caplog: pytest.LogCaptureFixture
) -> None:
    before = _violations("startup_probe")

    with caplog.at_level(logging.ERROR, logger=LOGGER):
        problem = session_continuity_problem(transaction_pooler)

    assert problem is not None
    assert _violations("startup_probe") == before + 1
    [record] = [r for r in caplog.records if r.name == LOGGER]
    assert record.getMessage().startswith("database through_pgbouncer: ")
