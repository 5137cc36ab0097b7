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

The pool gauges (``db_pool_*``, ``sequencer_pool_utilization``) and the pool's checkouts that
gave up (``sequencer_pool_timed_out_acquisitions``) are sampled in the process that ran a task,
after the task, at most once a second per process, as the web samples after its requests
(``sequencer_project.api.operations.sample_pool_gauges_when_due``); the main process serving the
scrape has no view of its children's pools. The sample is taken before
``sequencer_project.celery`` hands the task's connection back (Celery calls receivers in the
order they connected, and that module imports this one first), so a process busy with tasks
shows the connections they hold. A process about to exit samples once more, so the checkouts
that gave up in its last second are counted.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from celery import signals
from django.conf import settings
from prometheus_client import REGISTRY, CollectorRegistry, multiprocess, start_http_server
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)


class _ThisProcessSampled(Collector):
    """Writes the serving (main) process's own memory and CPU before the files are read: it runs
    no task, so its tally never flushes (it read 0 where ps showed 128 MB)."""

    def collect(self) -> Iterator[Metric]:
        # Imported here: this module is imported with the Celery app (sequencer_project/__init__),
        # before gunicorn's configuration has made the metrics directory the metrics write to.
        from sequencer_project.metrics import sample_process

        sample_process()
        return iter(())


class _DeadProcessesForgotten(Collector):
    """Drops the live gauges of pool children that died without exiting in order, before the
    files are read. A child marks itself dead in ``worker_process_shutdown``, which runs in the
    child: one killed (SIGKILL from the OOM killer or an operator) never does, and its last pool
    sample and memory stayed in the live gauges until the worker restarted. Its counters stay, as
    an exited child's do (gunicorn's master does the same for the web's: ``child_exit``)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def collect(self) -> Iterator[Metric]:
        for pid in _pids_with_files(self.directory) - {os.getpid()}:
            if not _running(pid):
                multiprocess.mark_process_dead(pid, str(self.directory))  # type: ignore[no-untyped-call]
        return iter(())


def _pids_with_files(directory: Path) -> set[int]:
    """The processes that wrote metrics here (files are ``<kind>_<pid>.db``)."""
    pids = set()
    for path in directory.glob("*.db"):
        _, _, pid = path.stem.rpartition("_")
        if pid.isdigit():
            pids.add(int(pid))
    return pids


def _running(pid: int) -> bool:
    """Whether a process of this id runs (an exited child not yet reaped counts: the next scrape
    sees it gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process took the id
        return True
    return True


def _registry() -> CollectorRegistry:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return REGISTRY
    registry = CollectorRegistry()
    registry.register(_ThisProcessSampled())  # first: collected before the files are read
    registry.register(_DeadProcessesForgotten(Path(directory)))
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


@signals.task_postrun.connect
def sample_pool_after_task(sender: Any = None, **kwargs: Any) -> None:
    """After a task, in the process that ran it: this process's psycopg pool into the pool gauges
    (at most once a second). Not for a task run eagerly (``.apply()``): its caller samples its own."""
    if getattr(getattr(sender, "request", None), "is_eager", False):
        return
    from sequencer_project.api.operations import sample_pool_gauges_when_due  # needs Django set up

    sample_pool_gauges_when_due()


@signals.worker_process_shutdown.connect
def forget_live_gauges(pid: int | None = None, **kwargs: Any) -> None:
    """A pool child that exits counts its pool's last checkouts that gave up, then stops counting
    in the live gauges (its counters stay)."""
    try:
        from sequencer_project.api.operations import sample_pool_gauges

        sample_pool_gauges()
    except Exception:  # an exiting process's last sample is best effort
        logger.warning("could not sample the pool of an exiting worker process", exc_info=True)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(pid or os.getpid())  # type: ignore[no-untyped-call]
