"""WSGI entry point for gunicorn (``docker/gunicorn.conf.py``): the lean API path beside the site."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sequencer_project.settings")

site = get_wsgi_application()  # sets Django up

from sequencer_project.api_handler import ApiWSGIHandler, route_by_path  # noqa: E402  (after setup)

application = route_by_path(api=ApiWSGIHandler(), site=site)
