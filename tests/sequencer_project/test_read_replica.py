"""``DATABASE_READ_URL``: query endpoints read from the replica, and from the primary when it is down."""

from __future__ import annotations

import os
import subprocess
import sys

import orjson
import pytest

from tests.sequencer_project.ops_helpers import ROOT, child_database_url, closed_port, run_django

pytestmark = pytest.mark.django_db

_READ = """
import json, time, uuid
from django.test import Client
from sequencer_project.db.replica import read_alias, replica_breaker
from sequencer_project.db.routers import ReadReplicaRouter
from tenants.models import Tenant
auth = {"HTTP_AUTHORIZATION": "ApiKey test-bootstrap-admin"}
t, s = uuid.uuid4(), uuid.uuid4()
alias = read_alias()
timings, statuses = [], []
for _ in range(5):
    started = time.perf_counter()
    statuses.append(Client().get(f"/api/v1/head?tenant_id={t}&store_id={s}", **auth).status_code)
    timings.append(time.perf_counter() - started)
router = ReadReplicaRouter()
print(json.dumps({"alias": alias, "statuses": statuses, "timings": timings,
                  "breaker": replica_breaker().state.value,
                  "migrate_replica": router.allow_migrate("replica", "events"),
                  "write": router.db_for_write(Tenant)}))
"""


def test_reads_go_to_the_replica_when_it_answers() -> None:
    url = child_database_url()
    result = run_django(_READ, {"DATABASE_URL": url, "DATABASE_READ_URL": url})

    assert result["alias"] == "replica"
    assert result["statuses"] == [200] * 5
    assert result["migrate_replica"] is False
    assert result["write"] == "default"


def test_reads_fall_back_to_the_primary_when_the_replica_is_down() -> None:
    result = run_django(
        _READ,
        {
            "DATABASE_URL": child_database_url(),
            "DATABASE_READ_URL": f"postgres://postgres@127.0.0.1:{closed_port()}/replica",
            "DB_POOL_TIMEOUT_SECONDS": "1",
        },
    )

    assert result["alias"] == "default"
    assert result["statuses"] == [200] * 5
    assert result["breaker"] == "open"  # later reads skip the replica without waiting
    assert max(result["timings"][-2:]) < 0.5


def test_json_logs_in_a_real_process() -> None:
    script = "import django, logging\ndjango.setup()\nlogging.getLogger('sequencer.test').warning('structured %d', 1)\n"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "sequencer_project.settings", "LOG_FORMAT": "json"}

    done = subprocess.run(  # noqa: S603  (our interpreter, our code)
        [sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )

    line = next(x for x in done.stderr.splitlines() if "structured" in x)
    entry = orjson.loads(line)
    assert entry["message"] == "structured 1"
    assert entry["logger"] == "sequencer.test"
