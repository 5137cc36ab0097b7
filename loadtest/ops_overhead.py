"""CPU cost of the operations layer per single-event ingest, in-process (docs/performance.md).

    VARIANT=baseline|full|ratelimited DJANGO_SETTINGS_MODULE=sequencer_project.settings \\
        ALLOWED_HOSTS=testserver .venv/bin/python -m loadtest.ops_overhead

``baseline`` removes the operations middleware, gzip, the rate-limit throttle and the DB
execute wrapper; ``full`` is the service as shipped with a key without a limit;
``ratelimited`` gives the key a (never reached) limit so every request makes the Redis round
trip. It creates a tenant and writes events into the database named by DATABASE_URL: point
it at a scratch database. Prints the median and minimum CPU ms per request over 5 runs.
"""

from __future__ import annotations

import os
import statistics
import time
import uuid

import django
import orjson


def main() -> None:
    variant = os.environ.get("VARIANT", "full")
    django.setup()
    from django.conf import settings
    from django.db.backends.signals import connection_created
    from django.test import Client
    from rest_framework import settings as drf_settings
    from rest_framework.views import APIView

    from tenants.credentials import api_key_hash
    from tenants.models import ApiKey, Tenant
    from tenants.services import api_key_create

    if variant == "baseline":
        settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "operations" not in m and "compression" not in m]
        settings.REST_FRAMEWORK.pop("DEFAULT_THROTTLE_CLASSES", None)
        connection_created.disconnect(dispatch_uid="sequencer_db_query_metrics")
        drf_settings.api_settings.reload()
        APIView.throttle_classes = []
    tenant = Tenant.objects.create(name=f"ops-overhead-{variant}")
    key = api_key_create(
        tenant=tenant, can_read=True, can_write=True, can_admin=False, store_ids=(), agent_id=None, actor="loadtest"
    ).key
    if variant == "ratelimited":
        ApiKey.objects.filter(key_hash=api_key_hash(key)).update(rate_limit=1_000_000_000)
    client = Client()
    store = uuid.uuid4()

    def body() -> bytes:
        event = {
            "event_id": str(uuid.uuid4()),
            "tenant_id": str(tenant.id),
            "store_id": str(store),
            "entity_type": "order",
            "entity_id": "o-1",
            "event_type": "order.created",
            "payload": {"total": 42},
            "created_at": "2026-01-01T00:00:00Z",
        }
        return orjson.dumps({"events": [event]})

    def post(data: bytes) -> int:
        response = client.post(
            "/api/v1/events/ingest", data=data, content_type="application/json", HTTP_AUTHORIZATION=f"ApiKey {key}"
        )
        return int(response.status_code)

    for _ in range(200):  # warm-up: connections, prepared statements, caches
        assert post(body()) == 200
    runs = []
    for _ in range(5):
        bodies = [body() for _ in range(400)]
        started = time.process_time()
        for data in bodies:
            post(data)
        runs.append((time.process_time() - started) / len(bodies) * 1000)
    print(f"{variant}: ingest CPU ms/request median {statistics.median(runs):.3f} min {min(runs):.3f}")


if __name__ == "__main__":
    main()
