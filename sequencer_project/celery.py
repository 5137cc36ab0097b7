"""Celery application. Queues, routes and the beat schedule live in settings (code, not rows)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sequencer_project.settings")

app = Celery("sequencer_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
