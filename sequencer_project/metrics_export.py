"""``GET /metrics`` (an admin credential with no store or agent scope): Prometheus text for every
web worker.

With ``PROMETHEUS_MULTIPROC_DIR`` set (gunicorn, see ``docker/gunicorn.conf.py``) the
counters and histograms of all live and dead workers are merged from their files; without it
(tests, a single process) the default registry is exported. Values only the scraping moment
knows (uptime, system CPU, memory and disk I/O, Celery queue depth, providers registered with
:func:`sequencer_project.metrics.register_gauge_provider`) are appended by
:class:`LiveCollector`. Every remote read here goes through a circuit breaker.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from typing import Any

import psutil
import redis
from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import GaugeMetricFamily, Metric, UnknownMetricFamily
from prometheus_client.registry import Collector
from rest_framework.request import Request
from rest_framework.views import APIView

from sequencer_project import metrics
from sequencer_project.api.errors import AgentScopeDeniedError, StoreAccessDeniedError
from sequencer_project.api.openapi import operation
from sequencer_project.api.operations import sample_pool_gauges
from sequencer_project.api.permissions import IsAdminPrincipal
from sequencer_project.api.principal import Principal
from sequencer_project.metrics import gauge_providers
from sequencer_project.redis_client import REDIS_UNAVAILABLE, process_redis_client, redis_breaker
from sequencer_project.resilience import CircuitBreaker, CircuitOpenError

logger = logging.getLogger(__name__)

# kombu's Redis transport keeps one list per queue and priority step (0 is the bare name).
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")
# When this process started (a gunicorn worker: its fork; workers are not recycled by default).
_STARTED = psutil.Process().create_time()


def celery_queue_names() -> list[str]:
    names = {settings.CELERY_TASK_DEFAULT_QUEUE}
    names.update(route["queue"] for route in settings.CELERY_TASK_ROUTES.values() if "queue" in route)
    return sorted(names)


def broker_breaker() -> CircuitBreaker:
    return redis_breaker("celery_broker")


def _connect_broker() -> redis.Redis[bytes]:
    timeout = max(settings.REDIS_SOCKET_TIMEOUT_MS / 1000, 0.2)
    return redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=timeout, socket_connect_timeout=timeout)


_broker = process_redis_client(_connect_broker)
_broker_client = _broker.get
reset_broker_client = _broker.reset


def celery_queue_depths() -> dict[str, int]:
    """Messages waiting per Celery queue (raises ``CircuitOpenError`` or a Redis error)."""
    names = celery_queue_names()

    def read() -> list[Any]:
        pipe = _broker_client().pipeline(transaction=False)
        for name in names:
            for suffix in _PRIORITY_SUFFIXES:
                pipe.llen(name + suffix)
        return pipe.execute()

    lengths = broker_breaker().call(read, failure_types=REDIS_UNAVAILABLE)
    step = len(_PRIORITY_SUFFIXES)
    return {name: sum(int(n) for n in lengths[i * step : (i + 1) * step]) for i, name in enumerate(names)}


class LiveCollector(Collector):
    """Values read when scraped, in the scraping process."""

    def collect(self) -> Iterator[Metric]:
        uptime = GaugeMetricFamily("sequencer_uptime_seconds", "Seconds since the scraped process started.")
        uptime.add_metric([], float(int(time.time() - _STARTED)))  # whole seconds, as the reference
        yield uptime
        cpu = GaugeMetricFamily("system_cpu_usage_percent", "Machine CPU use since the previous scrape, percent.")
        cpu.add_metric([], psutil.cpu_percent(interval=None))
        yield cpu
        memory = GaugeMetricFamily("system_memory_usage_bytes", "Machine memory in use, bytes.")
        memory.add_metric([], float(psutil.virtual_memory().used))
        yield memory
        disk = psutil.disk_io_counters()  # /proc/diskstats; None when no disk is visible
        if disk is not None:
            # The seed lists `system_disk_io_bytes` as a histogram, but nothing observes disk I/O
            # per event: it is a running total. A counter would be exported as
            # `system_disk_io_bytes_total`, so it is untyped under the seed's exact name; it only
            # grows (until a reboot), so rate() of it is the disk throughput.
            io = UnknownMetricFamily(
                "system_disk_io_bytes", "Bytes the machine's disks read and wrote since boot.", labels=["direction"]
            )
            io.add_metric(["read"], float(disk.read_bytes))
            io.add_metric(["write"], float(disk.write_bytes))
            yield io
        try:
            depths = celery_queue_depths()
        except (CircuitOpenError, redis.RedisError, OSError) as exc:
            logger.warning("celery queue depth unavailable: %s", exc)
        else:
            depth = GaugeMetricFamily("celery_queue_depth", "Messages waiting in each Celery queue.", labels=["queue"])
            for name, waiting in depths.items():
                depth.add_metric([name], waiting)
            yield depth
        for provider in gauge_providers():
            try:
                value = provider.read()
            except Exception:  # a provider's failure must not break the scrape
                logger.exception("metric provider %s failed", provider.name)
                continue
            if value is not None:
                family = GaugeMetricFamily(provider.name, provider.documentation)
                family.add_metric([], value)
                yield family


def render_metrics() -> bytes:
    metrics.TALLY.flush()  # this process's last second of hot-path counts
    sample_pool_gauges()  # and its pool now, not as of its last request's sample
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        base = generate_latest(registry)
    else:
        base = generate_latest(REGISTRY)
    live = CollectorRegistry(auto_describe=False)
    live.register(LiveCollector())
    return base + generate_latest(live)


class IsServiceWideAdmin(IsAdminPrincipal):
    """``/metrics`` and ``/health/detailed`` report on the whole service, every tenant's figures
    included: an admin credential with no store or agent scope (a tenant admin, the bootstrap
    admin). A scoped admin is refused with its scope's code (403 ``store_access_denied``,
    ``agent_scope_denied``); a credential without admin keeps ``permission_denied``."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not super().has_permission(request, view):
            return False
        principal = request.user
        assert isinstance(principal, Principal)  # IsAdminPrincipal checked it
        if principal.store_scope is not None:
            raise StoreAccessDeniedError("A store-scoped credential cannot read service-wide figures.")
        if principal.agent_id is not None:
            raise AgentScopeDeniedError("An agent-scoped credential cannot read service-wide figures.")
        return True


class MetricsApi(APIView):
    permission_classes = [IsServiceWideAdmin]

    @operation(
        "operations",
        "metrics",
        "Prometheus metrics of every worker (admin)",
        responses={(200, "text/plain"): OpenApiResponse(OpenApiTypes.STR, description="Prometheus text format")},
    )
    def get(self, request: Request) -> HttpResponse:
        return HttpResponse(render_metrics(), content_type=CONTENT_TYPE_LATEST)
