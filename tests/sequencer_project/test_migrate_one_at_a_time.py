"""Two ``manage.py migrate`` on one fresh database at once, as two nodes started together: both
succeed, one after the other (``sequencer_project/management/commands/migrate.py``). Before, one
of them failed on tables the other was creating."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests.sequencer_project.ops_helpers import child_database_url

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.fixture
def fresh_database() -> Iterator[str]:
    """An empty database of its own on the test server, dropped afterwards."""
    server = child_database_url().rpartition("/")[0]
    name = f"migrate_race_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"{server}/{name}"
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def test_two_migrations_at_once_both_succeed(fresh_database: str) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sequencer_project.settings",
        "SEQUENCER_DOTENV": "",
        "DATABASE_URL": fresh_database,
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "x",
    }
    runs = [
        subprocess.Popen(
            [sys.executable, "manage.py", "migrate", "--no-input", "-v", "1"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=600)[0] for run in runs]

    assert [run.returncode for run in runs] == [0, 0], "\n\n".join(output[-2000:] for output in outputs)
    assert sum("No migrations to apply." in output for output in outputs) == 1  # the second found them done
