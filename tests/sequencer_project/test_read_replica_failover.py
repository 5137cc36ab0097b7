"""A read replica that dies, lags or fails a statement costs neither a 503 nor a pool timeout
(sequencer_project/db/replica.py, docs/operations.md "Read replica").

CI has one PostgreSQL, so the "replica" here is a second alias on the test database (a kept
replica connection is killed with ``pg_terminate_backend``, a statement is failed by a 1 ms
``statement_timeout``) or a closed port (a replica that is down). Lag needs a real streaming
replica: ``test_reads_leave_a_replica_whose_replay_is_paused`` runs only when
``SEQUENCER_TEST_REPLICA_URL`` (a hot standby of ``SEQUENCER_TEST_PRIMARY_URL``, both migrated)
is set, and is skipped otherwise.
"""

from __future__ import annotations

import os

import pytest

from sequencer_project.db.replica import ReplicaLag
from tests.sequencer_project.ops_helpers import child_database_url, closed_port, run_django

pytestmark = pytest.mark.django_db

_AUTH = 'auth = {"HTTP_AUTHORIZATION": "ApiKey test-bootstrap-admin"}\n'


def test_a_replica_that_is_down_costs_one_short_wait_per_breaker_period() -> None:
    """Head, event-by-id and entity-state reads for 6.5 s with the replica's port closed: every
    one answers (from the primary), and only two waited the replica's 0.5 s checkout timeout (the
    first read, and the breaker's probe 5 s later), never the primary pool's 10 s."""
    code = (
        _AUTH
        + """
import json, time, uuid
from django.test import Client
from sequencer_project.db.replica import replica_breaker
t, s, e = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
paths = [f"/api/v1/head?tenant_id={t}&store_id={s}", f"/api/v1/events/{e}?tenant_id={t}&store_id={s}",
         f"/api/v1/entities/order/o-1/state?tenant_id={t}&store_id={s}"]
client, statuses, slow, started = Client(), [], [], time.monotonic()
while time.monotonic() - started < 6.5:
    for path in paths:
        before = time.perf_counter()
        statuses.append(client.get(path, **auth).status_code)
        if time.perf_counter() - before > 0.3:
            slow.append(round(time.perf_counter() - before, 3))
    time.sleep(0.05)
print(json.dumps({"statuses": sorted(set(statuses)), "slow": slow, "breaker": replica_breaker().snapshot()}))
"""
    )
    result = run_django(
        code,
        {
            "DATABASE_URL": child_database_url(),
            "DATABASE_READ_URL": f"postgres://postgres@127.0.0.1:{closed_port()}/replica",
        },
    )

    assert result["statuses"] == [200, 404]  # the event and the entity do not exist: 404, never 503
    assert len(result["slow"]) == 2, result["slow"]
    assert max(result["slow"]) < 1.5
    assert result["breaker"]["state"] == "open"
    assert result["breaker"]["failures"] == 2  # the first read and one probe


_STAND_IN = """
import json, time, uuid
from django.db import connections
from sequencer_project.db.replica import read_alias, read_cursor, read_fetch, replica_breaker
from events.selectors import stream_head_get
t, s = uuid.uuid4(), uuid.uuid4()
breaker = replica_breaker()
def warm():
    breaker.reset()
    assert read_alias() == "replica"
    assert stream_head_get(tenant_id=t, store_id=s) == 0
    return connections["replica"].connection.info.backend_pid
"""


def test_a_killed_kept_replica_connection_is_dropped_and_the_read_goes_to_the_primary() -> None:
    """The audit's first 503: the thread's kept replica connection was dead and the read used it."""
    code = (
        _STAND_IN
        + """
pid = warm()
with connections["default"].cursor() as cursor:
    cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
time.sleep(0.2)  # the termination notice reaches the kept connection's socket
started = time.perf_counter()
head = stream_head_get(tenant_id=t, store_id=s)
took = time.perf_counter() - started
print(json.dumps({"head": head, "took": took, "breaker": breaker.state.value,
                  "dropped": connections["replica"].connection is None}))
"""
    )
    url = child_database_url()
    result = run_django(code, {"DATABASE_URL": url, "DATABASE_READ_URL": url})

    assert result["head"] == 0
    assert result["took"] < 0.1
    assert result["breaker"] == "open"
    assert result["dropped"] is True


def test_the_breaker_probe_makes_a_round_trip_on_the_replica() -> None:
    """A half-open probe used to "succeed" on a kept connection without touching the replica."""
    code = (
        _STAND_IN
        + """
warm()
breaker.on_failure()  # open (one failure opens the replica's breaker)
real_clock = breaker._clock
breaker._clock = lambda: real_clock() + 60  # past the reset timeout: the next read is the probe
replica = connections["replica"]
replica.force_debug_cursor = True
replica.queries_log.clear()
alias = read_alias()
probe_sql = [q["sql"] for q in replica.queries_log]
print(json.dumps({"alias": alias, "probe_sql": probe_sql, "breaker": breaker.state.value}))
"""
    )
    url = child_database_url()
    result = run_django(code, {"DATABASE_URL": url, "DATABASE_READ_URL": url})

    assert result["alias"] == "replica"
    assert any("pg_last_wal_replay_lsn" in sql for sql in result["probe_sql"]), result["probe_sql"]
    assert result["breaker"] == "closed"


_STATEMENT_FAILS = """
out = {}
for name in ("read_fetch", "read_cursor"):
    warm()
    with connections["replica"].cursor() as cursor:
        cursor.execute("SET statement_timeout = 1")
    if name == "read_fetch":
        rows = read_fetch("SELECT 7 FROM pg_sleep(0.05)", {})
    else:
        with read_cursor() as cursor:
            cursor.execute("SELECT 7 FROM pg_sleep(0.05)")
            rows = cursor.fetchall()
    out[name] = {"rows": rows, "breaker": breaker.state.value}
print(json.dumps(out))
"""


def test_a_statement_the_replica_fails_runs_again_on_the_primary() -> None:
    """``read_fetch`` and ``read_cursor``: an OperationalError on the replica (here a statement
    timeout) is the replica's failure, and the statement answers from the primary."""
    code = _STAND_IN + _STATEMENT_FAILS
    url = child_database_url()
    result = run_django(code, {"DATABASE_URL": url, "DATABASE_READ_URL": url})

    for name in ("read_fetch", "read_cursor"):
        assert result[name] == {"rows": [[7]], "breaker": "open"}, name


_HEALTH = (
    _AUTH
    + """
import json, re
from django.test import Client
client = Client()
report = client.get("/health/detailed", **auth).json()
metrics = client.get("/metrics", **auth).content.decode()
gauge = re.search(r"^db_replica_lag_seconds (\\S+)", metrics, re.M)
print(json.dumps({"replica": report["components"].get("replica"), "gauge": gauge and float(gauge.group(1))}))
"""
)


def test_health_detailed_reports_the_replica_and_metrics_its_lag() -> None:
    url = child_database_url()
    up = run_django(_HEALTH, {"DATABASE_URL": url, "DATABASE_READ_URL": url})
    down = run_django(
        _HEALTH, {"DATABASE_URL": url, "DATABASE_READ_URL": f"postgres://postgres@127.0.0.1:{closed_port()}/replica"}
    )
    without = run_django(_HEALTH, {"DATABASE_URL": url, "DATABASE_READ_URL": ""})

    assert up["replica"]["status"] == "healthy"
    assert up["replica"]["in_recovery"] is False  # an alias of a primary: no lag to measure
    assert up["replica"]["lag_seconds"] == 0.0
    assert up["replica"]["reads_from"] == "replica"
    assert up["gauge"] == 0.0
    assert down["replica"]["status"] == "degraded"
    assert down["replica"]["reads_from"] == "primary"
    assert without["replica"] is None


@pytest.mark.parametrize(
    ("lag", "limit", "too_far"),
    [
        (ReplicaLag(True, False, 0, 0.0, 0.0), 5.0, False),
        (ReplicaLag(True, False, 4096, 4.9, 0.0), 5.0, False),
        (ReplicaLag(True, True, 4096, 5.1, 0.0), 5.0, True),
        (ReplicaLag(True, False, 4096, None, 0.0), 5.0, True),  # behind by an unknown time
        (ReplicaLag(True, True, 4096, 600.0, 0.0), 0.0, False),  # 0: never route by lag
        (ReplicaLag(False, False, None, 0.0, 0.0), 5.0, False),  # not a standby
    ],
)
def test_too_far_behind(lag: ReplicaLag, limit: float, too_far: bool) -> None:
    assert lag.too_far_behind(limit) is too_far


@pytest.mark.skipif(
    not os.environ.get("SEQUENCER_TEST_REPLICA_URL"), reason="needs a streaming replica (SEQUENCER_TEST_REPLICA_URL)"
)
def test_reads_leave_a_replica_whose_replay_is_paused() -> None:
    code = """
import json, time, uuid
from django.db import connections
from sequencer_project.db.replica import last_lag, read_alias
from sequencer_project.db.kept_cursor import fetch
fetch("SELECT pg_wal_replay_resume()", {}, alias="replica")
time.sleep(1.1)
before = read_alias()
fetch("SELECT pg_wal_replay_pause()", {}, alias="replica")
with connections["default"].cursor() as cursor:  # WAL the paused replica does not replay
    cursor.execute("SELECT pg_logical_emit_message(true, 'replica-test', 'x')")
time.sleep(2.5)
read_alias()  # samples: behind for over a second
during, lag = read_alias(), last_lag()
fetch("SELECT pg_wal_replay_resume()", {}, alias="replica")
time.sleep(1.5)
read_alias()
after = read_alias()
print(json.dumps({"before": before, "during": during, "after": after, "paused": lag.paused,
                  "bytes": lag.bytes, "seconds": lag.seconds}))
"""
    result = run_django(
        code,
        {
            "DATABASE_URL": os.environ["SEQUENCER_TEST_PRIMARY_URL"],
            "DATABASE_READ_URL": os.environ["SEQUENCER_TEST_REPLICA_URL"],
            "DATABASE_READ_MAX_LAG_SECONDS": "1",
        },
    )

    assert result["before"] == "replica"
    assert result["during"] == "default"
    assert result["paused"] is True
    assert result["bytes"] > 0
    assert result["seconds"] > 1
    assert result["after"] == "replica"
