"""Framework glue: settings, URLs, WSGI, Celery, API plumbing and database helpers."""

from sequencer_project.celery import app as celery_app

__all__ = ["celery_app"]
