"""A bundle reads its event where it reads its commitment, the primary, even with a lagging
read replica (``DATABASE_READ_URL``; commitments/bundles.py).

The replica is a second alias on the test database held on a REPEATABLE READ snapshot taken
before the event was ingested: it sees the store as a replica that has not replayed that ingest
yet (CI has no streaming replica). Django's request signals, which would end that transaction,
are disconnected in the child process.
"""

from __future__ import annotations

import pytest

from tests.sequencer_project.ops_helpers import child_database_url, run_django

pytestmark = pytest.mark.django_db

_LAGGING = """
import json, uuid
import orjson
from django.core import signals
from django.db import close_old_connections, connections, transaction
from django.test import Client
signals.request_started.disconnect(close_old_connections)
signals.request_finished.disconnect(close_old_connections)
auth = {"HTTP_AUTHORIZATION": "ApiKey test-bootstrap-admin"}
client = Client()
t, s = str(uuid.uuid4()), str(uuid.uuid4())
def post(path, body):
    return client.post(path, data=orjson.dumps(body), content_type="application/json", **auth)
def event():
    return {"event_id": str(uuid.uuid4()), "tenant_id": t, "store_id": s, "entity_type": "order",
            "entity_id": "o-1", "event_type": "order.created", "payload": {"total": 1},
            "created_at": "2026-01-01T00:00:00Z"}
assert post("/api/v1/events/ingest", {"events": [event()]}).status_code == 200
out = {}
with transaction.atomic(using="replica"):
    with connections["replica"].cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        cursor.execute("SELECT 1")  # the replica's snapshot: one event
    second = event()
    assert post("/api/v1/events/ingest", {"events": [second]}).status_code == 200
    bundle = f"/api/v1/events/{second['event_id']}/bundle?tenant_id={t}&store_id={s}"
    out["replica_head"] = client.get(f"/api/v1/head?tenant_id={t}&store_id={s}", **auth).json()["head_sequence"]
    response = client.get(bundle, **auth)
    out["before_commit"] = [response.status_code, response.json().get("code")]
    body = {"tenant_id": t, "store_id": s, "sequence_start": 1, "sequence_end": 2}
    out["commit"] = post("/api/v1/commitments", body).status_code
    response = client.get(bundle, **auth)
    out["after_commit"] = [response.status_code, response.json().get("event", {}).get("sequence_number")]
print(json.dumps(out))
"""


def test_a_just_ingested_event_has_its_bundle_while_the_replica_lags() -> None:
    url = child_database_url()
    result = run_django(_LAGGING, {"DATABASE_URL": url, "DATABASE_READ_URL": url})

    assert result["replica_head"] == 1  # the replica lags: it has not seen the second event
    # Was 404 event_not_found (the event read from the replica), which wait_for_bundle gives up on.
    assert result["before_commit"] == [409, "event_not_committed"]
    assert result["commit"] in (200, 201)
    assert result["after_commit"][0] == 200
