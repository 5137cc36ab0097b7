"""Business metrics, declared once (``docs/operations.md`` lists them all).

Rules: Prometheus naming (``_total``, ``_seconds``, ``_bytes``); labels are bounded sets (an
endpoint name, a status code, an error code, a breaker name) and never a tenant, store or
key id. Under gunicorn the metrics live in ``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client
multiprocess mode, set up by ``docker/gunicorn.conf.py``) so ``/metrics`` sums every worker;
gauges declare how their per-process values combine.

Values that are read at scrape time (system CPU and memory, Celery queue depth, and the lag
and dead-letter gauges that other subsystems register with :func:`register_gauge_provider`)
are produced by :mod:`sequencer_project.metrics_export`, not declared here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
DB_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)

# --- Ingest (one observation per request, never per event) ------------------------------
API_REQUESTS = Counter(
    "api_requests",
    "Requests on the API path (sequencer_project/api_handler.py) by method and status.",
    ["method", "status"],
)
INGEST_REQUESTS = Counter("ingest_requests", "Ingest requests by endpoint and HTTP status.", ["endpoint", "status"])
INGEST_DURATION = Histogram(
    "ingest_duration_seconds", "Ingest request latency in the web process.", ["endpoint"], buckets=LATENCY_BUCKETS
)
INGEST_EVENTS = Counter(
    "ingest_events", "Events received by ingest, by outcome (accepted or rejected).", ["endpoint", "outcome"]
)
INGEST_ERRORS = Counter("ingest_errors", "Failed ingest requests by problem code.", ["endpoint", "code"])
INGEST_GROUP_REQUESTS = Histogram(
    "ingest_group_requests",
    "Requests served by one group-commit transaction (legacy ingest; one observation per transaction).",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)

# --- Database ------------------------------------------------------------------------------
DB_POOL_ACTIVE = Gauge(
    "db_pool_active_connections", "Pooled connections in use (sum of live processes).", multiprocess_mode="livesum"
)
DB_POOL_IDLE = Gauge(
    "db_pool_idle_connections", "Pooled connections idle (sum of live processes).", multiprocess_mode="livesum"
)
DB_POOL_WAITING = Gauge(
    "db_pool_waiting_requests", "Requests waiting for a pooled connection.", multiprocess_mode="livesum"
)
DB_POOL_MAX = Gauge("db_pool_max_connections", "Pool capacity (sum of live processes).", multiprocess_mode="livesum")
DB_QUERY_DURATION = Histogram(
    "db_query_duration_seconds", "Statement latency by leading SQL keyword.", ["statement"], buckets=DB_BUCKETS
)
DB_TRANSACTION_DURATION = Histogram(
    "db_transaction_duration_seconds", "Transaction latency by named unit of work.", ["name"], buckets=DB_BUCKETS
)

# --- Protection ------------------------------------------------------------------------------
RATE_LIMIT_DECISIONS = Counter(
    "rate_limit_requests", "Requests checked by the rate limiter, by scope and outcome.", ["scope", "outcome"]
)
RATE_LIMIT_FAIL_OPEN = Counter(
    "rate_limit_fail_open", "Requests let through because the limiter's Redis was unavailable.", ["reason"]
)
CIRCUIT_BREAKER_STATE = Gauge(
    "circuit_breaker_state",
    "Circuit breaker state: 0 closed, 1 half-open, 2 open (worst live process).",
    ["breaker"],
    multiprocess_mode="livemax",
)
CIRCUIT_BREAKER_TRANSITIONS = Counter(
    "circuit_breaker_transitions", "Circuit breaker state changes, by new state.", ["breaker", "state"]
)
CIRCUIT_BREAKER_REJECTIONS = Counter(
    "circuit_breaker_rejections", "Calls refused by an open circuit breaker.", ["breaker"]
)

# --- Periodic singletons ----------------------------------------------------------------------
SINGLETON_RUNS = Counter(
    "singleton_job_runs", "Periodic singleton jobs, by outcome (ran, skipped, failed).", ["job", "outcome"]
)


# --- Hooks for subsystems that report a value at scrape time ---------------------------------
@dataclass(frozen=True, slots=True)
class GaugeProvider:
    name: str
    documentation: str
    read: Callable[[], float | None]


_providers: dict[str, GaugeProvider] = {}
_providers_lock = threading.Lock()


def register_gauge_provider(name: str, documentation: str, read: Callable[[], float | None]) -> None:
    """Publish ``name`` on ``/metrics`` (and in ``/health/detailed``), read when scraped.

    For values that only the database knows (commitment lag, projection lag, dead-letter size,
    x402 pending batches): ``read`` runs one cheap query in the scraping process and returns
    ``None`` when it has no value. Registering the same name again replaces the provider.
    """
    with _providers_lock:
        _providers[name] = GaugeProvider(name, documentation, read)


def gauge_providers() -> list[GaugeProvider]:
    with _providers_lock:
        return list(_providers.values())


# --- x402 payments (issue 7) ------------------------------------------------------------------
X402_SEQUENCING_SECONDS = Histogram(
    "x402_intent_sequencing_seconds",
    "Intent submission transaction (counter lock to commit).",
    buckets=DB_BUCKETS,
)
X402_BATCH_ASSEMBLY_SECONDS = Histogram(
    "x402_batch_assembly_seconds", "Building and committing one x402 batch.", buckets=LATENCY_BUCKETS
)
X402_SETTLEMENT_SECONDS = Histogram(
    "x402_settlement_seconds",
    "Submitting one batch on chain until its confirmations.",
    buckets=(0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0),
)
X402_SETTLEMENTS = Counter("x402_settlements", "Settlement attempts by backend and outcome.", ["backend", "outcome"])
