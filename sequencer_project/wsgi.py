"""WSGI entry point for gunicorn (``docker/gunicorn.conf.py``)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sequencer_project.settings")

application = get_wsgi_application()
