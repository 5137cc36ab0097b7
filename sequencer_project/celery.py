"""Celery application. Queues, routes and the beat schedule live in settings (code, not rows).

Services enqueue their side effects with :func:`task_enqueue_on_commit`, by the task's stable
name (STYLE.md rules 10 and 31), so no service imports a ``tasks`` module (which imports the
services it calls).

Database connections: Celery's Django fixup would close every connection around each task and,
in a prefork child, the whole psycopg pool, so every task opened a new PostgreSQL backend and
lost its prepared statements. ``CELERY_DB_REUSE_MAX`` (settings) stops that; after each task
:func:`_hand_connections_back` returns the task's connection to the pool, which checks it is
alive before the next checkout (ADR 0025).
"""

import os
from typing import Any

from celery import Celery, signals
from django.conf import settings
from django.db import close_old_connections, transaction

from sequencer_project import worker_metrics  # noqa: F401  (its signal handlers: the worker's /metrics)
from sequencer_project.collector import leave_started_heap_out

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sequencer_project.settings")

app = Celery("sequencer_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.task_postrun.connect
def _hand_connections_back(sender: Any = None, **kwargs: Any) -> None:
    """Return the task's database connections to the pool (or close a broken one).

    With pooling and ``CONN_MAX_AGE = 0`` every open connection is "obsolete" here, so
    ``close_old_connections`` hands it back to this process's pool, which keeps the PostgreSQL
    backend (and its prepared statements) for the next task; a connection that failed is
    discarded by the pool. Not for a task run eagerly (``.apply()``): it runs in its caller's
    connection and maybe transaction, as Celery's own fixup assumes.
    """
    if not getattr(getattr(sender, "request", None), "is_eager", False):
        close_old_connections()


@signals.worker_process_init.connect
def _tune_garbage_collector(**kwargs: Any) -> None:
    """In each worker process, once it has started: leave the started heap (Django, the tasks'
    modules) out of every collection from now on, and collect the youngest generation less
    often (``WORKER_GC_GEN0_THRESHOLD``; 0 leaves Python's defaults). A projection batch makes
    thousands of short-lived objects; with Python's defaults the full collections they trigger
    walked the whole started process (docs/performance.md, "The worker's garbage collector")."""
    leave_started_heap_out(settings.WORKER_GC_GEN0_THRESHOLD)


def task_enqueue_on_commit(name: str, *args: str | int) -> None:
    """Send the task registered as ``name`` once the caller's transaction commits.

    Outside a transaction it is sent at once (``transaction.on_commit``); a rolled-back
    transaction sends nothing. The message is routed by ``CELERY_TASK_ROUTES`` like ``.delay()``.
    A web process never imports the ``tasks`` modules, so the name is not checked here:
    ``tests/sequencer_project/test_task_enqueue_on_commit.py`` holds every name used in the
    source to a registered task.
    """
    transaction.on_commit(lambda: app.send_task(name, args=args))
