"""Contract: ``/health/detailed`` as the reference's ``DetailedHealthResponse``
(``src/api/handlers/health.rs``), and the seed's operator commands
(``docs/PERFORMANCE_BENCHMARKS.md`` of the reference): ``jq '.circuit_breakers'``,
``SELECT COUNT(*) FROM rejected_events_log`` and the metric names it lists for ``/metrics``.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from sequencer_project.resilience import get_breaker
from tests.conftest import IngestPoster, Persona, api_client, legacy_event

pytestmark = pytest.mark.django_db

RFC3339_PLUS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3}|\.\d{6})?\+00:00$")
STATUSES = {"healthy", "degraded", "unhealthy"}

# The "Key Metrics" list of the seed, every name of which /metrics must expose.
SEED_METRICS = [
    "ingest_requests_total", "ingest_duration_seconds", "ingest_events_total", "ingest_errors_total",
    "db_pool_active_connections", "db_pool_idle_connections", "db_query_duration_seconds",
    "db_transaction_duration_seconds", "system_cpu_usage_percent", "system_memory_usage_bytes",
    "system_disk_io_bytes",
]  # fmt: skip


def is_uint(value: Any) -> bool:
    return type(value) is int and value >= 0


def detailed(client: APIClient) -> dict[str, Any]:
    response = client.get("/health/detailed")
    assert response.status_code == 200, response.content[:300]
    body: dict[str, Any] = response.json()
    return body


def test_health_detailed_has_every_member_of_the_reference_with_its_type(admin_client: APIClient) -> None:
    body = detailed(admin_client)

    assert body["status"] in STATUSES
    assert body["service"] == "stateset-sequencer"
    assert isinstance(body["version"], str)
    assert RFC3339_PLUS.match(body["timestamp"]), body["timestamp"]
    database = body["components"]["database"]
    assert (database["name"], database["status"]) == ("postgresql", "healthy")
    assert is_uint(database["response_time_ms"])
    assert "message" not in database  # the reference writes it only on failure
    pool = body["components"]["pool"]
    assert pool["status"] in STATUSES
    for name in ("total_connections", "active_connections", "idle_connections", "max_connections"):
        assert is_uint(pool[name]), (name, pool[name])
    assert pool["max_connections"] >= 1
    assert pool["active_connections"] + pool["idle_connections"] == pool["total_connections"]
    assert type(pool["utilization_percent"]) in (int, float)
    assert 0 <= pool["utilization_percent"] <= 100
    assert isinstance(body["components"]["circuit_breakers"], list)
    assert is_uint(body["system"]["uptime_secs"])
    # Ours beside them.
    assert {"redis", "celery"} <= set(body["components"])
    assert isinstance(body["gauges"], dict)


def test_circuit_breakers_are_a_list_in_components_and_a_map_at_the_top(admin_client: APIClient) -> None:
    name = f"contract_{uuid.uuid4().hex[:8]}"
    breaker = get_breaker(name, failure_threshold=1, reset_timeout=60.0)
    assert breaker.call(lambda: 1) == 1
    with pytest.raises(OSError, match="down"):
        breaker.call(lambda: (_ for _ in ()).throw(OSError("down")))
    with pytest.raises(Exception, match="open"):
        breaker.call(lambda: 1)

    body = detailed(admin_client)

    (listed,) = [b for b in body["components"]["circuit_breakers"] if b["name"] == name]
    assert listed == {"name": name, "state": "open", "successes": 1, "failures": 1, "rejected": 1}
    top = body["circuit_breakers"][name]  # the seed's `jq '.circuit_breakers'`
    assert (top["state"], top["successes"], top["failures"], top["rejected"]) == ("open", 1, 1, 1)
    assert {b["name"] for b in body["components"]["circuit_breakers"]} == set(body["circuit_breakers"])
    assert body["status"] == "degraded"  # an open breaker degrades, as in the reference
    breaker.reset()


def test_the_anchor_service_appears_only_when_anchoring_is_configured(admin_client: APIClient, settings: Any) -> None:
    assert "anchor_service" not in detailed(admin_client)["components"]

    settings.ANCHOR_RPC_URL = "eth-tester://"
    settings.ANCHOR_PRIVATE_KEY = "0x" + "11" * 32

    anchor = detailed(admin_client)["components"]["anchor_service"]
    assert anchor["name"] == "anchor_service"
    assert anchor["status"] in STATUSES
    assert isinstance(anchor["message"], str)


def test_health_detailed_needs_an_admin_credential(member: Persona) -> None:
    anonymous = api_client().get("/health/detailed")
    refused = member.client.get("/health/detailed")

    assert anonymous.status_code == 401
    assert refused.status_code == 403
    for response in (anonymous, refused):
        assert response["Content-Type"].startswith("application/problem+json")
        assert response.json()["status"] == response.status_code
    assert refused.json()["code"] == "permission_denied"


def _rejected_log_count(tenant_id: uuid.UUID | None = None) -> int:
    with connection.cursor() as cursor:
        if tenant_id is None:
            cursor.execute("SELECT COUNT(*) FROM rejected_events_log")  # the seed's command, as written
        else:
            cursor.execute("SELECT COUNT(*) FROM rejected_events_log WHERE tenant_id = %s", [tenant_id])
        (count,) = cursor.fetchone()
    return int(count)


def test_rejected_events_log_counts_rejections_made_through_the_api(owner: Persona, post_ingest: IngestPoster) -> None:
    before = _rejected_log_count()
    conflict = legacy_event(owner.tenant_id, owner.store_id, base_version=3)
    nul = legacy_event(owner.tenant_id, owner.store_id, payload={"note": "a\u0000b"})

    body = post_ingest(owner.client, {"events": [conflict, nul]}).json()

    assert body["events_rejected"] == 2
    assert _rejected_log_count() == before + 2
    assert _rejected_log_count(owner.tenant_id) == 2
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT event_id, sequence_number, entity_type, entity_id, reason, expected_version, actual_version"
            " FROM rejected_events_log WHERE tenant_id = %s ORDER BY id",
            [owner.tenant_id],
        )
        rows = cursor.fetchall()
    (c_id, c_seq, c_type, c_entity, c_reason, expected, actual), nul_row = rows
    assert (str(c_id), c_seq, c_type, c_entity) == (conflict["event_id"], None, "order", conflict["entity_id"])
    assert (c_reason, expected, actual) == ("VersionConflict", 3, 0)
    # A body jsonb cannot hold (U+0000) is still listed, with the entity it named.
    assert (str(nul_row[0]), nul_row[2], nul_row[3]) == (nul["event_id"], "order", nul["entity_id"])


def test_metrics_exposes_every_metric_the_seed_lists(admin_client: APIClient) -> None:
    response = admin_client.get("/metrics")

    assert response.status_code == 200
    text = response.content.decode()
    families = set(re.findall(r"^# TYPE (\S+) ", text, flags=re.MULTILINE))
    samples = set(re.findall(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{| )", text, flags=re.MULTILINE))
    for name in SEED_METRICS:
        assert name in families or name in samples, name
    assert "# TYPE system_disk_io_bytes untyped" in text
    reads = re.search(r'^system_disk_io_bytes\{direction="read"\} (\S+)$', text, flags=re.MULTILINE)
    writes = re.search(r'^system_disk_io_bytes\{direction="write"\} (\S+)$', text, flags=re.MULTILINE)
    assert reads is not None
    assert writes is not None
    assert float(reads.group(1)) > 0
    assert float(writes.group(1)) >= 0
