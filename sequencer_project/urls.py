"""Root URLs: versioned API under /api/v1/ (and the anchor service's /v1/), probes and the operator admin."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.request import Request

from sequencer_project import health
from sequencer_project.health_detailed import DetailedHealthApi
from sequencer_project.metrics_export import MetricsApi


class OpenApiSchemaApi(SpectacularAPIView):
    """drf-spectacular's schema view without its ``?version=`` parameter: the document is the same
    for every request. drf-spectacular took the parameter as the API version and wrote it into
    the ``Content-Disposition`` file name, unchecked (``ALLOWED_VERSIONS`` is empty): a newline
    in it was a 500 (``BadHeaderError``), markup was echoed into the document's response."""

    def _get_version_parameter(self, request: Request) -> None:
        return None


urlpatterns = [
    path("health", health.health, name="health"),
    path("healthz", health.health, name="healthz"),
    path("ready", health.ready, name="ready"),
    path("readyz", health.ready, name="readyz"),
    # Operations (docs/operations.md): admin credential required.
    path("health/detailed", DetailedHealthApi.as_view(), name="health-detailed"),
    path("metrics", MetricsApi.as_view(), name="metrics"),
    path("api/v1/", include("events.api.urls")),
    path("api/v1/", include("tenants.api.urls")),
    # x402 payments (docs/payments.md).
    path("api/v1/", include("payments.api.urls")),
    # Schema registry (docs/schemas.md).
    path("api/v1/", include("schemas.api.urls")),
    # Commitments and proofs (docs/commitments.md).
    path("api/v1/", include("commitments.api.urls")),
    # The separate anchor service's root-level routes (the reference's anchor_compat_router).
    path("v1/", include("commitments.api.anchor_compat_urls")),
    # OpenAPI schema and its docs page (docs/api.md, ADR 0009).
    path("api/schema/", OpenApiSchemaApi.as_view(), name="openapi-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="openapi-schema"), name="openapi-docs"),
    path("admin/", admin.site.urls),
]

# Django's error answers outside the views: problem+json on every path but the admin's, which
# keeps its HTML pages; unknown paths without Django's template search (ADR 0041).
handler400 = "sequencer_project.api.middleware.bad_request"
handler403 = "sequencer_project.api.middleware.permission_denied"
handler404 = "sequencer_project.api.middleware.not_found"
handler500 = "sequencer_project.api.middleware.server_error"
