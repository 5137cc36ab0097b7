"""WSGI entry of the anchor: ``gunicorn -c docker/gunicorn.conf.py loadtest.anchor.wsgi``."""

import os

from django.core.wsgi import get_wsgi_application

os.environ["DJANGO_SETTINGS_MODULE"] = "loadtest.anchor.settings"

application = get_wsgi_application()
