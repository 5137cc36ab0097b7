from django.urls import path

from events.api import admin_views, projection_views, ves_views, views
from sequencer_project.api.segment_routes import segment_path, segment_routed

app_name = "events"

urlpatterns = [
    path("ves/events/ingest", ves_views.VesEventIngestApi.as_view(), name="ves-ingest"),
    path("ves/events", ves_views.VesEventListApi.as_view(), name="ves-list"),
    path("ves/events/<str:event_id>", ves_views.VesEventDetailApi.as_view(), name="ves-detail"),
    path("events/ingest", views.EventIngestApi.as_view(), name="ingest"),
    path("events", views.EventListApi.as_view(), name="list"),
    path("events/<str:event_id>", views.EventDetailApi.as_view(), name="detail"),
    path("head", views.HeadApi.as_view(), name="head"),
    # Entity ids and types may hold "/": routed on the segments sent (docs/api.md, "Path parameters
    # holding a slash"). The state is a projection's (docs/projections.md).
    *segment_routed(
        "entities/",
        segment_path("<str:entity_type>/<str:entity_id>", views.EntityHistoryApi.as_view(), name="entity-history"),
        segment_path(
            "<str:entity_type>/<str:entity_id>/state", projection_views.EntityStateApi.as_view(), name="entity-state"
        ),
    ),
    # Projections and dead letters (docs/projections.md).
    path("projections/lag", projection_views.ProjectionLagApi.as_view(), name="projection-lag"),
    path("admin/dlq/<str:dead_letter_id>/retry", projection_views.DeadLetterRetryApi.as_view(), name="dlq-retry"),
    path("admin/dlq/<str:dead_letter_id>/discard", projection_views.DeadLetterDiscardApi.as_view(), name="dlq-discard"),
    # Admin JSON (docs/auth.md "Admin JSON").
    path("admin/overview", admin_views.AdminOverviewApi.as_view(), name="admin-overview"),
    path("admin/tenants", admin_views.AdminTenantsApi.as_view(), name="admin-tenants"),
    path("admin/stores", admin_views.AdminStoresApi.as_view(), name="admin-stores"),
    path("admin/agents", admin_views.AdminAgentsApi.as_view(), name="admin-agents"),
]
