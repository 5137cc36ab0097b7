"""WSGI entry point for gunicorn (``docker/gunicorn.conf.py``): the lean API path beside the site."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sequencer_project.settings")

site = get_wsgi_application()  # sets Django up

from django.conf import settings  # noqa: E402
from django.urls import get_resolver  # noqa: E402

from events.api import entity_history, event_by_id, event_range, head, ingest_endpoint  # noqa: E402
from sequencer_project.api_handler import ApiWSGIHandler, route_by_path  # noqa: E402  (after setup)
from sequencer_project.collector import leave_started_heap_out  # noqa: E402

api = ApiWSGIHandler()
# The hottest operations skip Django's and DRF's request layers (ADR 0021); the rest of the API
# takes the lean handler (ADR 0019), the admin and static files the site's.
endpoints = (
    {
        ingest_endpoint.PATH: ingest_endpoint.LegacyIngestEndpoint(api),
        head.PATH: head.HeadEndpoint(api),
        event_range.PATH: event_range.EventRangeEndpoint(api),
    }
    if settings.API_WSGI_ENDPOINTS
    else {}
)
prefixed = (
    {
        event_by_id.PREFIX: event_by_id.EventByIdEndpoint(api),
        entity_history.PREFIX: entity_history.EntityHistoryEndpoint(api),
    }
    if settings.API_WSGI_ENDPOINTS
    else {}
)
application = route_by_path(api=api, site=site, endpoints=endpoints, prefixed=prefixed)
# Last, once everything it serves is imported (the URL table imports every view now rather than
# on the first request): the started heap leaves every collection (WEB_GC_GEN0_THRESHOLD).
get_resolver().url_patterns  # noqa: B018  (loads the URL table)
leave_started_heap_out(settings.WEB_GC_GEN0_THRESHOLD)
