"""Celery application. Queues, routes and the beat schedule live in settings (code, not rows).

Services enqueue their side effects with :func:`task_enqueue_on_commit`, by the task's stable
name (STYLE.md rules 10 and 31), so no service imports a ``tasks`` module (which imports the
services it calls).
"""

import os

from celery import Celery
from django.db import transaction

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sequencer_project.settings")

app = Celery("sequencer_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def task_enqueue_on_commit(name: str, *args: str | int) -> None:
    """Send the task registered as ``name`` once the caller's transaction commits.

    Outside a transaction it is sent at once (``transaction.on_commit``); a rolled-back
    transaction sends nothing. The message is routed by ``CELERY_TASK_ROUTES`` like ``.delay()``.
    A web process never imports the ``tasks`` modules, so the name is not checked here:
    ``tests/sequencer_project/test_task_enqueue_on_commit.py`` holds every name used in the
    source to a registered task.
    """
    transaction.on_commit(lambda: app.send_task(name, args=args))
