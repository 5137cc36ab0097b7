"""``/metrics``: admin only, the seed's names after traffic, bounded labels, cheap hot path."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import pytest
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram

from sequencer_project.metrics import LATENCY_BUCKETS, TALLY, Tally
from tests.conftest import IngestPoster, Persona, legacy_event

pytestmark = pytest.mark.django_db

SEED_NAMES = [
    "ingest_requests_total",
    "ingest_duration_seconds_bucket",
    "ingest_events_total",
    "ingest_errors_total",
    "db_pool_active_connections",
    "db_pool_idle_connections",
    "db_query_duration_seconds_bucket",
    "db_transaction_duration_seconds_bucket",
    "system_cpu_usage_percent",
    "system_memory_usage_bytes",
    "celery_queue_depth",
]


def scrape(admin_client: Any) -> str:
    response = admin_client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    return str(response.content.decode())


def test_metrics_need_an_admin_credential(owner: Persona, member: Persona) -> None:
    anonymous = Client().get("/metrics")
    reader = member.client.get("/metrics")

    assert anonymous.status_code == 401
    assert anonymous["Content-Type"] == "application/problem+json"
    assert reader.status_code == 403
    assert owner.client.get("/metrics").status_code == 200  # tenant admin key


def test_seed_metric_names_are_present_after_traffic(
    owner: Persona, admin_client: Any, post_ingest: IngestPoster
) -> None:
    event = legacy_event(owner.tenant_id, owner.store_id)
    assert (
        post_ingest(owner.client, {"events": [event, legacy_event(owner.tenant_id, owner.store_id)]}).status_code == 200
    )
    assert post_ingest(owner.client, {"events": [event]}).status_code == 200  # replay: accepted again
    assert post_ingest(owner.client, b"{not json").status_code == 400

    text = scrape(admin_client)

    for name in SEED_NAMES:
        assert re.search(rf"^{name}[{{ ]", text, re.MULTILINE), f"{name} missing"
    assert 'ingest_errors_total{code="malformed_json",endpoint="legacy"}' in text
    assert 'ingest_requests_total{endpoint="legacy",status="200"}' in text
    assert "django_http_requests_total_by_view_transport_method_total" in text  # django-prometheus


def test_ingest_counters_count_requests_and_events_not_per_event_calls(
    owner: Persona, post_ingest: IngestPoster
) -> None:
    def sample(metric: str, **labels: str) -> float:
        TALLY.flush()
        return REGISTRY.get_sample_value(metric, labels) or 0.0

    before_events = sample("ingest_events_total", endpoint="legacy", outcome="accepted")
    before_requests = sample("ingest_requests_total", endpoint="legacy", status="200")
    before_tx = sample("db_transaction_duration_seconds_count", name="legacy_ingest")
    events = [legacy_event(owner.tenant_id, owner.store_id) for _ in range(5)]
    dup = dict(events[0], event_id=events[0]["event_id"], payload={"other": True})

    assert post_ingest(owner.client, {"events": events}).status_code == 200
    assert post_ingest(owner.client, {"events": [dup]}).status_code == 200  # rejected: same id, new body

    assert sample("ingest_events_total", endpoint="legacy", outcome="accepted") - before_events == 5
    assert sample("ingest_events_total", endpoint="legacy", outcome="rejected") >= 1
    assert sample("ingest_requests_total", endpoint="legacy", status="200") - before_requests == 2
    assert sample("db_transaction_duration_seconds_count", name="legacy_ingest") - before_tx == 2


def test_no_label_carries_a_tenant_or_store_id(owner: Persona, admin_client: Any, post_ingest: IngestPoster) -> None:
    post_ingest(owner.client, {"events": [legacy_event(owner.tenant_id, owner.store_id)]})
    owner.client.get(f"/api/v1/head?tenant_id={owner.tenant_id}&store_id={owner.store_id}")

    text = scrape(admin_client)

    assert str(owner.tenant_id) not in text
    assert str(owner.store_id) not in text
    assert not re.search(r'="[0-9a-f]{8}-[0-9a-f]{4}-', text)


def test_a_made_up_http_method_adds_no_series(admin_client: Any) -> None:
    # django-prometheus labels its latency histogram with the raw method: each made-up method
    # (no credential needed) added 19 series. Every method label is one of a fixed set.
    methods = {f"Q{uuid.uuid4().hex[:10].upper()}" for _ in range(5)}
    for method in methods:
        Client().generic(method, "/favicon.ico")
        Client().generic(method, "/admin/login/")

    text = scrape(admin_client)

    assert not any(method in text for method in methods)
    labelled = set(re.findall(r'method="([^"]*)"', text))
    assert labelled <= {
        "GET",
        "HEAD",
        "POST",
        "PUT",
        "DELETE",
        "TRACE",
        "OPTIONS",
        "CONNECT",
        "PATCH",
        "<invalid method>",
        "OTHER",
    }


def test_counters_of_rare_events_are_scraped_at_zero_before_the_first(admin_client: Any) -> None:
    # A series absent until its first increment hides that increment from rate() and from
    # alerts written on it (SequencerRateLimiterFailingOpen reads rate_limit_fail_open_total).
    text = scrape(admin_client)
    for series in (
        'rate_limit_fail_open_total{reason="redis_error"}',
        'rate_limit_fail_open_total{reason="circuit_open"}',
        'session_lock_violations_total{check="unlock"}',
        'session_lock_violations_total{check="startup_probe"}',
        'circuit_breaker_rejections_total{breaker="redis"}',
        'circuit_breaker_transitions_total{breaker="redis",state="open"}',
    ):
        assert series in text, series


def test_the_scraped_process_reports_its_own_memory_and_cpu(admin_client: Any) -> None:
    text = scrape(admin_client)
    memory = re.search(r"^process_resident_memory_bytes(?:\{[^}]*\})? ([0-9.e+]+)$", text, re.M)
    cpu = re.search(r"^process_cpu_seconds(?:\{[^}]*\})? ([0-9.e+]+)$", text, re.M)
    assert memory is not None, text[-2000:]
    assert cpu is not None, text[-2000:]
    assert 10 * 2**20 < float(memory.group(1)) < 8 * 2**30  # a Python process with Django loaded
    assert float(cpu.group(1)) > 0


def test_registered_gauge_providers_are_scraped_and_a_failing_one_is_skipped(admin_client: Any) -> None:
    from sequencer_project import metrics

    def broken() -> float:
        raise RuntimeError("provider bug")

    name = f"test_provider_{uuid.uuid4().hex[:8]}"
    metrics.register_gauge_provider(name + "_lag_seconds", "A test gauge.", lambda: 12.5)
    metrics.register_gauge_provider(name + "_broken", "A broken gauge.", broken)
    try:
        text = scrape(admin_client)
    finally:
        metrics._providers.pop(name + "_lag_seconds")
        metrics._providers.pop(name + "_broken")

    assert f"{name}_lag_seconds 12.5" in text
    assert f"{name}_broken" not in text


@settings(max_examples=60, deadline=None)
@given(
    observations=st.lists(
        st.one_of(
            st.sampled_from([0.0, 0.001, 0.0025, 0.05, 10.0, 10.000001, -1.0]),  # the bounds and past them
            st.floats(min_value=-5, max_value=50, allow_nan=False),
        ),
        max_size=40,
    ),
    increments=st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), max_size=10),
)
def test_a_tally_exposes_what_direct_updates_would(observations: list[float], increments: list[float]) -> None:
    """The hot path's tally (``sequencer_project.metrics.Tally``) writes the same buckets, sums and
    counts as ``observe`` and ``inc`` called one by one would, and nothing before it flushes."""

    def metrics(registry: CollectorRegistry) -> tuple[Histogram, Counter]:
        histogram = Histogram("t_seconds", "t", ["e"], buckets=LATENCY_BUCKETS, registry=registry)
        return histogram, Counter("t_events", "t", ["e"], registry=registry)

    direct, tallied = CollectorRegistry(), CollectorRegistry()
    direct_histogram, direct_counter = metrics(direct)
    tallied_histogram, tallied_counter = metrics(tallied)
    tally = Tally(flush_seconds=3600, flush_in_background=False)
    for value in observations:
        direct_histogram.labels(e="x").observe(value)
        tally.observe(tallied_histogram.labels(e="x"), value)
    for amount in increments:
        direct_counter.labels(e="x").inc(amount)
        tally.inc(tallied_counter.labels(e="x"), amount)

    assert tallied.get_sample_value("t_seconds_count", {"e": "x"}) in (None, 0.0)
    tally.flush()

    def samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in registry.collect()
            for s in family.samples
            if not s.name.endswith("_created")
        }

    expected, got = samples(direct), samples(tallied)
    assert expected.keys() == got.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-9), key


def test_an_idle_process_writes_its_last_counts_without_another_request() -> None:
    """Counts tallied just before a process goes idle reach the metric from the tally's own
    thread (an idle gunicorn worker's last requests would otherwise wait for its next one)."""
    registry = CollectorRegistry()
    counter = Counter("idle_events", "t", ["e"], registry=registry)
    tally = Tally(flush_seconds=0.05)
    tally.inc(counter.labels(e="x"), 3)
    deadline = time.monotonic() + 10
    while registry.get_sample_value("idle_events_total", {"e": "x"}) != 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert registry.get_sample_value("idle_events_total", {"e": "x"}) == 3
    tally.inc(counter.labels(e="x"), 2)  # the thread ended when idle; a new count starts another
    while registry.get_sample_value("idle_events_total", {"e": "x"}) != 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert registry.get_sample_value("idle_events_total", {"e": "x"}) == 5


def test_the_worker_scrape_samples_its_serving_process_first() -> None:
    # The Celery main process serves the worker's scrape but runs no task, so its tally never
    # flushed: it read 0 MB while ps showed 128. Its scrape now samples it before reading files.
    from sequencer_project.metrics import PROCESS_CPU_SECONDS, PROCESS_RESIDENT_MEMORY
    from sequencer_project.worker_metrics import _ThisProcessSampled

    PROCESS_RESIDENT_MEMORY.set(0)
    PROCESS_CPU_SECONDS.set(0)

    assert list(_ThisProcessSampled().collect()) == []

    assert PROCESS_RESIDENT_MEMORY._value.get() > 10 * 2**20
    assert PROCESS_CPU_SECONDS._value.get() > 0
