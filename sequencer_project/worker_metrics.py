"""The Celery worker's own ``/metrics``: what its tasks count, served on ``WORKER_METRICS_PORT``.

The web's ``/metrics`` merges the files of the gunicorn workers only; the counters that tasks
move (``singleton_job_runs_total``, the breakers the worker trips, its psycopg pool) live in the
worker's processes, which no web process can read. With ``WORKER_METRICS_PORT`` set, the worker's
main process serves them, merged over its pool children from ``PROMETHEUS_MULTIPROC_DIR`` (the
launcher sets it to a directory of the worker's own, emptied at start: ``scripts/run.sh``,
``docker/compose.yml``) or from its own registry when tasks run in it (``--pool solo``).
Prometheus scrapes it as its own job (``docker/prometheus/prometheus.yml``). The port binds
``WORKER_METRICS_ADDRESS`` (loopback unless set), and carries no tenant id (label rules of
``sequencer_project.metrics``), as the web's does.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from celery import signals
from django.conf import settings
from prometheus_client import REGISTRY, CollectorRegistry, multiprocess, start_http_server

logger = logging.getLogger(__name__)


def _registry() -> CollectorRegistry:
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


def _forget_dead_processes(directory: Path) -> None:
    """Drop the live gauges of processes that no longer run (a restarted container keeps its
    files; their counters stay, as a dead gunicorn worker's do)."""
    for path in directory.glob("gauge_live*_*.db"):
        pid = int(path.stem.rsplit("_", 1)[1])
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            multiprocess.mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]
        except PermissionError:  # another user's process with that pid: alive
            continue


@signals.worker_init.connect
def serve_worker_metrics(**kwargs: Any) -> None:
    """In the worker's main process, before it starts its pool: serve the metrics endpoint."""
    if not settings.WORKER_METRICS_PORT:
        return
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        _forget_dead_processes(Path(directory))
    try:
        start_http_server(settings.WORKER_METRICS_PORT, addr=settings.WORKER_METRICS_ADDRESS, registry=_registry())
    except OSError as exc:  # the port is taken: the worker still works, only unobserved
        address, port = settings.WORKER_METRICS_ADDRESS, settings.WORKER_METRICS_PORT
        logger.error("worker metrics not served on %s:%d: %s", address, port, exc)
        return
    logger.info("worker metrics on %s:%d", settings.WORKER_METRICS_ADDRESS, settings.WORKER_METRICS_PORT)


@signals.worker_process_shutdown.connect
def forget_live_gauges(pid: int | None = None, **kwargs: Any) -> None:
    """A pool child that exits stops counting in the live gauges (its counters stay)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(pid or os.getpid())  # type: ignore[no-untyped-call]
