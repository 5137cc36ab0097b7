"""The ops routes as the Rust reference answers them: ``/metrics`` under the names and labels its
alert rules read (its ``monitoring/prometheus_rules.yaml``: ``sequencer_http_requests_total``,
``sequencer_http_request_latency_seconds_bucket{path="/api/v1/ves/events/ingest"}``,
``sequencer_pool_utilization``, ``sequencer_pool_timed_out_acquisitions``), the probes' compact
bodies and ``/ready``'s types (``src/api/handlers/health.rs``), and the security headers its
request-id middleware puts on every response (``src/server.rs``).

Requests go through the WSGI application gunicorn serves (``tests.wsgi``: the WSGI endpoints and
the lean API handler) and through the test client (the site handler's middleware).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from django.test import Client
from django.urls import resolve
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.parser import text_string_to_metric_families
from psycopg_pool import PoolTimeout

from events.api.entity_history import EntityHistoryEndpoint
from events.api.event_by_id import EventByIdEndpoint
from events.api.event_range import EventRangeEndpoint
from events.api.head import HeadEndpoint
from events.api.ingest_endpoint import LegacyIngestEndpoint
from sequencer_project import metrics
from sequencer_project.api.operations import UNMATCHED_ROUTE, route_template
from sequencer_project.api.wsgi_endpoint import WsgiEndpoint
from tests import wsgi
from tests.conftest import IngestPoster, Persona, legacy_event
from tests.sequencer_project.pool_helpers import default_pool, hold_until

pytestmark = pytest.mark.django_db

Series = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(admin_client: Any) -> tuple[str, Series]:
    response = admin_client.get("/metrics")
    assert response.status_code == 200
    text = response.content.decode()
    series: Series = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    return text, series


def value(series: Series, name: str, **labels: str) -> float:
    return series.get((name, tuple(sorted(labels.items()))), 0.0)


def labels_of(series: Series, name: str) -> Iterator[dict[str, str]]:
    return (dict(labels) for sample, labels in series if sample == name)


def test_metrics_count_and_time_requests_under_the_references_names_and_route_templates(
    owner: Persona, admin_client: Any, post_ingest: IngestPoster
) -> None:
    stream = f"tenant_id={owner.tenant_id}&store_id={owner.store_id}"
    auth: dict[str, Any] = {"HTTP_AUTHORIZATION": f"ApiKey {owner.key}"}
    event_id, unknown_segment = str(uuid.uuid4()), uuid.uuid4().hex
    _, before = scrape(admin_client)

    assert post_ingest(owner.client, {"events": [legacy_event(owner.tenant_id, owner.store_id)]}).status_code == 200
    assert wsgi.call("POST", "/api/v1/ves/events/ingest", body=b"{oops", **auth).status_code == 400
    assert wsgi.call("GET", "/api/v1/events", query=stream, **auth).status_code == 200  # WSGI endpoint
    assert owner.client.get(f"/api/v1/events?{stream}").status_code == 200  # DRF view, site middleware
    assert wsgi.call("GET", f"/api/v1/events/{event_id}", query=stream, **auth).status_code == 404
    assert owner.client.get(f"/api/v1/events/{event_id}?{stream}").status_code == 404
    assert wsgi.call("GET", f"/api/v1/no/such/{unknown_segment}").status_code == 404
    text, after = scrape(admin_client)

    def added(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    requests = "sequencer_http_requests_total"
    assert added(requests, method="POST", path="/api/v1/events/ingest", status="200") == 1
    assert added(requests, method="POST", path="/api/v1/ves/events/ingest", status="400") == 1
    assert added(requests, method="GET", path="/api/v1/events", status="200") == 2
    assert added(requests, method="GET", path="/api/v1/events/:event_id", status="404") == 2
    assert added(requests, method="GET", path=UNMATCHED_ROUTE, status="404") == 1
    assert added(requests, method="GET", path="/metrics", status="200") == 1  # the first scrape
    latency = "sequencer_http_request_latency_seconds"
    ingest = {"method": "POST", "path": "/api/v1/ves/events/ingest", "status": "400"}
    assert added(f"{latency}_count", **ingest) == 1
    assert added(f"{latency}_bucket", **ingest, le="+Inf") == 1
    assert {labels["le"] for labels in labels_of(after, f"{latency}_bucket") if labels["path"] == ingest["path"]} >= {
        "0.005",
        "0.05",
        "0.1",
        "+Inf",
    }
    # Bounded labels: route templates or "unmatched", never a raw id or path.
    paths = {labels["path"] for labels in labels_of(after, requests)}
    assert all(path == UNMATCHED_ROUTE or path.startswith("/") for path in paths), paths
    assert event_id not in text
    assert unknown_segment not in text
    assert "api_requests_total" not in text  # one request metrics layer
    assert 0.0 <= value(after, "sequencer_pool_utilization") <= 1.0
    assert ("sequencer_pool_timed_out_acquisitions", ()) in after  # the reference's name, no _total
    assert ("sequencer_uptime_seconds", ()) in after


@pytest.mark.parametrize(
    ("endpoint", "path"),
    [
        (LegacyIngestEndpoint, "/api/v1/events/ingest"),
        (HeadEndpoint, "/api/v1/head"),
        (EventRangeEndpoint, "/api/v1/events"),
        (EventByIdEndpoint, "/api/v1/events/7f3c0a52-4b1e-4c5a-9d7e-2b9a6c1d0e11"),
        (EntityHistoryEndpoint, "/api/v1/entities/order/order-1"),
    ],
)
def test_a_wsgi_endpoint_names_the_route_template_of_its_views_url(endpoint: type[WsgiEndpoint], path: str) -> None:
    assert endpoint.route == route_template(resolve(path).route)


def test_route_templates_are_written_as_axum_writes_them() -> None:
    assert route_template("api/v1/agents/<str:agent_id>/api-keys/<str:key_prefix>") == (
        "/api/v1/agents/:agent_id/api-keys/:key_prefix"
    )
    assert route_template("health") == "/health"


def test_pool_timeouts_are_counted_and_a_full_pool_is_fully_utilized(admin_client: Any) -> None:
    pool = default_pool()
    _, before = scrape(admin_client)
    held: list[Any] = []
    try:
        hold_until(pool, 0, held)
        with pytest.raises(PoolTimeout):
            pool.getconn(timeout=0.05)
        _, during = scrape(admin_client)
        pool.putconn(held.pop())  # /ready pings on a pooled connection of its own
        ready = Client().get("/ready").json()
    finally:
        for conn in held:
            pool.putconn(conn)

    assert value(during, "sequencer_pool_utilization") == 1.0
    timeouts = "sequencer_pool_timed_out_acquisitions"
    assert value(during, timeouts) - value(before, timeouts) >= 1
    in_use = (pool.max_size - 1) / pool.max_size  # all but the ping's own, which it handed back
    assert ready["pool"]["utilization"] == f"{in_use:.1%}"
    assert ready["pool"]["status"] == ("critical" if in_use >= 0.95 else "stressed")  # the reference's levels


def test_health_is_compact_json() -> None:
    for content in (Client().get("/health").content, wsgi.call("GET", "/healthz").content):
        assert content.startswith(b'{"status":"healthy","service":"stateset-sequencer","version":"')
        assert b", " not in content
        assert b'": ' not in content
        assert re.search(rb'"timestamp":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3}|\.\d{6})?\+00:00"}$', content)


@pytest.mark.parametrize("path", ["/health", "/healthz", "/ready", "/readyz"])
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_a_probe_refuses_other_methods_with_a_problem(path: str, method: str) -> None:
    """Django's ``require_GET`` answered these with an empty HTML 405."""
    response = wsgi.call(method, path)
    assert response.status_code == 405
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["Allow"] == "GET, HEAD"
    body = orjson.loads(response.content)
    assert (body["code"], body["status"]) == ("method_not_allowed", 405)


def test_ready_has_the_references_members_and_types() -> None:
    for response in (Client().get("/ready"), wsgi.call("GET", "/readyz")):
        assert response.status_code == 200
        content = response.content
        assert content.startswith(b'{"database":{"connected":true,"response_time_ms":')  # serde's sorted map
        assert b", " not in content
        body = orjson.loads(content)
        assert list(body) == ["database", "pool", "status"]
        assert body["status"] == "ready"
        assert type(body["database"]["response_time_ms"]) is int
        assert body["database"]["response_time_ms"] >= 0
        pool = body["pool"]  # this test's database has a pool
        assert list(pool) == ["active", "idle", "status", "utilization"]
        assert pool["status"] in {"healthy", "moderate", "stressed", "critical"}
        assert re.fullmatch(r"\d{1,3}\.\d%", pool["utilization"]), pool["utilization"]
        assert type(pool["active"]) is int
        assert type(pool["idle"]) is int
        assert pool["active"] >= 0
        assert pool["idle"] >= 0


SECURITY_HEADERS = {"cache-control": "no-store", "x-content-type-options": "nosniff", "x-frame-options": "DENY"}
PROBE_PATHS = ["/health", "/healthz", "/ready", "/readyz", "/metrics", "/health/detailed", "/no-such-page"]


@pytest.mark.parametrize("path", PROBE_PATHS)
def test_ops_routes_and_root_404s_carry_the_references_security_headers(path: str, admin_client: Any) -> None:
    admin = {"HTTP_AUTHORIZATION": admin_client._credentials["HTTP_AUTHORIZATION"]}
    answers = [
        wsgi.call("GET", path),  # anonymous: a 401 problem on /metrics and /health/detailed
        wsgi.call("GET", path, **admin),
        Client().get(path),
        admin_client.get(path),
    ]

    for response in answers:
        headers = {name.lower(): value for name, value in response.items()}
        assert {name: headers.get(name) for name in SECURITY_HEADERS} == SECURITY_HEADERS, (path, response.status_code)


def test_the_admin_keeps_its_own_cache_control_and_still_serves() -> None:
    response = wsgi.call("GET", "/admin/login/")

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]  # never_cache's, not replaced
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_every_metric_declared_is_in_the_operations_doc() -> None:
    table = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text()
    exported = {
        metric._name + ("_total" if metric._type == "counter" else "")
        for metric in vars(metrics).values()
        if isinstance(metric, MetricWrapperBase)
    }

    assert {"sequencer_http_requests_total", "sequencer_pool_utilization"} <= exported
    assert {name for name in exported | {"sequencer_uptime_seconds"} if f"`{name}`" not in table} == set()


def test_a_requests_count_and_latency_tally_as_direct_updates_would() -> None:
    def made(registry: CollectorRegistry) -> tuple[Counter, Histogram]:
        labels = ["method", "path", "status"]
        counter = Counter("r", "r", labels, registry=registry)
        return counter, Histogram("r_seconds", "r", labels, buckets=metrics.LATENCY_BUCKETS, registry=registry)

    direct, tallied = CollectorRegistry(), CollectorRegistry()
    (direct_counter, direct_histogram), (counter, histogram) = made(direct), made(tallied)
    tally = metrics.Tally(flush_seconds=3600, flush_in_background=False)
    for latency in (0.0, 0.001, 0.0011, 0.05, 10.0, 12.5):
        direct_counter.labels("GET", "/health", "200").inc()
        direct_histogram.labels("GET", "/health", "200").observe(latency)
        tally.inc_observe(counter.labels("GET", "/health", "200"), histogram.labels("GET", "/health", "200"), latency)
    tally.flush()

    def samples(registry: CollectorRegistry) -> set[tuple[str, tuple[tuple[str, str], ...], float]]:
        return {
            (s.name, tuple(sorted(s.labels.items())), s.value)
            for family in registry.collect()
            for s in family.samples
            if not s.name.endswith("_created")
        }

    assert samples(tallied) == samples(direct)
