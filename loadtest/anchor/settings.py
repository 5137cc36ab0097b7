"""Settings of the anchor app: DRF and nothing else (no middleware, no auth, no ORM database)."""

import os

SECRET_KEY = os.environ.get("ANCHOR_SECRET_KEY", "loadtest-anchor-only")
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["rest_framework"]
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "loadtest.anchor.urls"
DATABASES: dict[str, dict[str, str]] = {}  # the views use their own psycopg pool
USE_TZ = True
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_THROTTLE_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_PARSER_CLASSES": ["loadtest.anchor.codecs.OrjsonParser"],
    "DEFAULT_RENDERER_CLASSES": ["loadtest.anchor.codecs.OrjsonRenderer"],
}
# ANCHOR_DATABASE_URL: where loadtest_anchor lives (the run's bench database).
# WEB_THREADS: the pool's size, the same variable docker/gunicorn.conf.py reads for threads.
