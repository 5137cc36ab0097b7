"""Business metrics, declared once (``docs/operations.md`` lists them all).

Rules: Prometheus naming (``_total``, ``_seconds``, ``_bytes``); labels are bounded sets (an
endpoint name, a status code, an error code, a breaker name) and never a tenant, store or
key id. Under gunicorn the metrics live in ``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client
multiprocess mode, set up by ``docker/gunicorn.conf.py``) so ``/metrics`` sums every worker;
gauges declare how their per-process values combine.

Values that are read at scrape time (system CPU and memory, Celery queue depth, and the lag
and dead-letter gauges that other subsystems register with :func:`register_gauge_provider`)
are produced by :mod:`sequencer_project.metrics_export`, not declared here.

The hot path's counts and observations go through :data:`TALLY` (see :class:`Tally`): summed in
the process and written to the metric values at most once a second.
"""

from __future__ import annotations

import atexit
import bisect
import functools
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psutil
from prometheus_client import GC_COLLECTOR, PLATFORM_COLLECTOR, PROCESS_COLLECTOR, REGISTRY, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
DB_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)

# --- Requests (the reference's names: its alert rules and dashboards read them) ---------------
# ``path`` is the matched route template as the reference's axum ``MatchedPath`` spells it
# ("/api/v1/events/:event_id"), or ``UNMATCHED_ROUTE`` (sequencer_project/api/operations.py).
HTTP_REQUESTS = Counter(
    "sequencer_http_requests",
    "Requests on the API path (API, probes, /metrics) by method, route template and status.",
    ["method", "path", "status"],
)
HTTP_REQUEST_LATENCY = Histogram(
    "sequencer_http_request_latency_seconds",
    "Request latency in the web process by method, route template and status.",
    ["method", "path", "status"],
    buckets=LATENCY_BUCKETS,
)

# --- Ingest (one observation per request, never per event) ------------------------------
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
INGEST_HEAD_GUESSES = Counter(
    "ingest_head_guesses",
    "Streams the optimistic append wrote from a guessed head (legacy ingest), by outcome: right, or "
    "moved (another process had written the stream; the events were planned and sealed again).",
    ["outcome"],
)
HEAD_GUESS_RIGHT = INGEST_HEAD_GUESSES.labels("right")
HEAD_GUESS_MOVED = INGEST_HEAD_GUESSES.labels("moved")

# --- Web server ------------------------------------------------------------------------------
WEB_REQUESTS_KEPT = Counter(
    "web_requests_kept",
    "Requests a gunicorn thread read from the keep-alive connection it had just answered, without "
    "handing the connection back to its worker's main thread (WEB_CONNECTION_LINGER_SECONDS).",
)
WEB_REQUESTS_SHED = Counter(
    "web_requests_shed",
    "Requests refused unserved (503 server_overloaded) after waiting for a server thread longer "
    "than WEB_QUEUE_TIMEOUT_SECONDS.",
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
POOL_UTILIZATION = Gauge(
    "sequencer_pool_utilization",
    "Pooled connections in use / pool capacity, 0..1 (the most used live process's pool).",
    multiprocess_mode="livemax",
)
# A running total exported under the reference's exact name: a prometheus_client Counter would be
# renamed ``…_total``, which its alert rule does not read. "sum" keeps a dead process's count.
POOL_TIMED_OUT_ACQUISITIONS = Gauge(
    "sequencer_pool_timed_out_acquisitions",
    "Pool checkouts that gave up (psycopg_pool requests_errors: timed out or too many waiting), "
    "since start, every process.",
    multiprocess_mode="sum",
)
SESSION_LOCK_VIOLATIONS = Counter(
    "session_lock_violations",
    "Signs that session-level advisory locks run through a pooler in transaction mode, by check"
    " (unlock: an unlock found its lock not held; startup_probe: a worker's start found statements"
    " on changing server backends).",
    ["check"],
)
for _check in ("unlock", "startup_probe"):  # at 0 from the start: the first one shows in rate()
    SESSION_LOCK_VIOLATIONS.labels(check=_check)
DB_REPLICA_LAG_SECONDS = Gauge(
    "db_replica_lag_seconds",
    "How stale the read replica's data is (0 while it has replayed all the primary wrote), as last "
    "sampled by each process (sequencer_project/db/replica.py); the worst live process.",
    multiprocess_mode="livemax",
)
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
for _reason in ("redis_error", "circuit_open"):  # at 0 from the start: the first one shows in rate()
    RATE_LIMIT_FAIL_OPEN.labels(reason=_reason)
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


# --- x402 payments (docs/payments.md) --------------------------------------------------------------
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


@functools.cache
def labelled(metric: Any, *values: str) -> Any:
    """``metric.labels(*values)`` (in label-name order), looked up once per process.

    ``labels`` takes the metric's lock and builds the key on every call; the hot path's label
    values are bounded sets (an endpoint, a status, a problem code), so each child is cached.
    """
    return metric.labels(*values)


# --- The processes themselves ---------------------------------------------------------------
# prometheus_client's process_* and python_* collectors do not work in multiprocess mode (each
# scrape would read whichever worker answered it), so each process writes its own figures, by
# pid, whenever its tally flushes (at most once a second while it has traffic, and when it
# renders /metrics); a dead worker's series go with its files (gunicorn's child_exit). The
# library's own collectors leave the default registry, so a single process exports these names.
for _collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
    REGISTRY.unregister(_collector)
PROCESS_RESIDENT_MEMORY = Gauge(
    "process_resident_memory_bytes",
    "Resident memory of each live process, by pid, as of its last second with traffic.",
    multiprocess_mode="liveall",
)
PROCESS_CPU_SECONDS = Gauge(
    "process_cpu_seconds",
    "CPU time (user and system) each live process has used since it started, by pid, as of its last"
    " second with traffic.",
    multiprocess_mode="liveall",
)
_process: dict[int, psutil.Process] = {}


def sample_process() -> None:
    """Write this process's resident memory and CPU time (``/proc``, ~20 µs)."""
    pid = os.getpid()
    process = _process.get(pid)
    if process is None:  # a new process, or a forked worker: its own handle
        _process.clear()
        process = _process[pid] = psutil.Process(pid)
    with process.oneshot():
        PROCESS_RESIDENT_MEMORY.set(process.memory_info().rss)
        times = process.cpu_times()
        PROCESS_CPU_SECONDS.set(times.user + times.system)


class Tally:
    """Counts and observations of the hot path, summed in the process and written in bulk.

    Under gunicorn every ``inc`` or ``observe`` of a metric is a write to a memory-mapped file
    under prometheus_client's one process-wide lock, after a process-id check (multiprocess
    mode); a single-event ingest request made nine of them, about 7 % of its GIL time. The hot
    path adds to this tally instead: a dictionary update under one lock. The sums reach the
    metric values at most ``flush_seconds`` later (one write per counter, histogram bucket and
    sum): on the next count after that, from a daemon thread of the process when no count
    follows (an idle worker's last requests are not held back until its next one), whenever
    this process renders ``/metrics``, and at exit. A scrape may see the last second of another
    process's counts one scrape later.

    A histogram child is tallied by its bucket index and sum exactly as ``Histogram.observe``
    does (``tests/sequencer_project/test_metrics.py`` holds the two equal), which reads the
    child's ``_upper_bounds``, ``_buckets`` and ``_sum`` (prometheus_client, pinned).
    """

    def __init__(self, flush_seconds: float = 1.0, *, flush_in_background: bool = True) -> None:
        self.flush_seconds = flush_seconds
        self._lock = threading.Lock()
        self._counts: dict[Any, float] = {}
        self._buckets: dict[tuple[Any, int], int] = {}
        self._sums: dict[Any, float] = {}
        self._due = time.monotonic() + flush_seconds
        # True also stands for "never start one" (a tally a test flushes by hand).
        self._flusher_running = not flush_in_background

    def forget_flusher(self) -> None:
        """After a fork: the child (a gunicorn worker) has the parent's memory, not its threads."""
        self._flusher_running = False

    def inc(self, child: Any, amount: float = 1.0) -> None:
        """``child.inc(amount)``, tallied (``child``: a counter with its labels applied)."""
        with self._lock:
            self._counts[child] = self._counts.get(child, 0.0) + amount
        self._flush_when_due()

    def observe(self, child: Any, value: float) -> None:
        """``child.observe(value)``, tallied (``child``: a histogram with its labels applied)."""
        bucket = (child, bisect.bisect_left(child._upper_bounds, value))  # first bound >= value
        with self._lock:
            self._buckets[bucket] = self._buckets.get(bucket, 0) + 1
            self._sums[child] = self._sums.get(child, 0.0) + value
        self._flush_when_due()

    def inc_observe(self, counter: Any, histogram: Any, value: float) -> None:
        """``counter.inc()`` and ``histogram.observe(value)`` under one lock (a request's count
        and latency)."""
        bucket = (histogram, bisect.bisect_left(histogram._upper_bounds, value))
        with self._lock:
            self._counts[counter] = self._counts.get(counter, 0.0) + 1.0
            self._buckets[bucket] = self._buckets.get(bucket, 0) + 1
            self._sums[histogram] = self._sums.get(histogram, 0.0) + value
        self._flush_when_due()

    def _flush_when_due(self) -> None:
        if time.monotonic() >= self._due:
            self.flush()
        elif not self._flusher_running:
            self._start_flusher()

    def _start_flusher(self) -> None:
        with self._lock:
            if self._flusher_running:
                return
            self._flusher_running = True
        threading.Thread(target=self._flush_periodically, name="metrics-tally", daemon=True).start()

    def _flush_periodically(self) -> None:
        # Runs while counts keep coming; ends after an idle period (the next count starts another).
        while True:
            time.sleep(self.flush_seconds)
            with self._lock:
                if not (self._counts or self._buckets or self._sums):
                    self._flusher_running = False
                    return
            self.flush()

    def flush(self) -> None:
        """Write every sum to its metric now."""
        with self._lock:
            counts, buckets, sums = self._counts, self._buckets, self._sums
            self._counts, self._buckets, self._sums = {}, {}, {}
            self._due = time.monotonic() + self.flush_seconds
        for counter, amount in counts.items():
            counter.inc(amount)
        for histogram, total in sums.items():
            histogram._sum.inc(total)
        for (histogram, index), count in buckets.items():
            histogram._buckets[index].inc(count)
        sample_process()


TALLY = Tally()
atexit.register(TALLY.flush)
os.register_at_fork(after_in_child=TALLY.forget_flusher)

sample_process()  # from the start: a process that never flushes (a server's master) reads true, not 0
