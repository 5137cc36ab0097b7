"""Root URLs: versioned API under /api/v1/, probes and the operator admin at the root."""

from django.contrib import admin
from django.urls import include, path

from sequencer_project import health

urlpatterns = [
    path("health", health.health, name="health"),
    path("healthz", health.health, name="healthz"),
    path("ready", health.ready, name="ready"),
    path("readyz", health.ready, name="readyz"),
    path("api/v1/", include("events.api.urls")),
    path("api/v1/", include("tenants.api.urls")),
    path("admin/", admin.site.urls),
]
