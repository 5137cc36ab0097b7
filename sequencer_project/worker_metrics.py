"""The Celery worker's own ``/metrics``: what its tasks count, served on ``WORKER_METRICS_PORT``.

The web's ``/metrics`` merges the files of the gunicorn workers only; the counters that tasks
move (``singleton_job_runs_total``, the breakers the worker trips, its psycopg pool) live in the
worker's processes, which no web process can read. With ``WORKER_METRICS_PORT`` set, the worker's
main process serves them, merged over its pool children from ``PROMETHEUS_MULTIPROC_DIR`` (the
launcher sets it to a directory of the worker's own: ``scripts/run.sh``, ``docker/compose.yml``;
the worker empties it of earlier processes' files as it starts) or from its own registry when
tasks run in it (``--pool solo``).
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


def _forget_earlier_processes(directory: Path) -> None:
    """Empty the directory of every process but this one, before the pool forks: a restarted
    container keeps its files, and a pid reused there would have kept a dead process's live
    gauges (this process's own files, written since it imported the metrics, stay)."""
    own = f"_{os.getpid()}.db"
    for path in directory.glob("*.db"):
        if not path.name.endswith(own):
            path.unlink(missing_ok=True)


@signals.worker_init.connect
def serve_worker_metrics(**kwargs: Any) -> None:
    """In the worker's main process, before it starts its pool: serve the metrics endpoint."""
    if not settings.WORKER_METRICS_PORT:
        return
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        _forget_earlier_processes(Path(directory))
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
