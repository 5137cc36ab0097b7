from django.urls import path

from schemas.api import views
from sequencer_project.api.segment_routes import segment_path, segment_routed

app_name = "schemas"

urlpatterns = [
    path("schemas", views.SchemaCollectionApi.as_view(), name="collection"),
    path("schemas/validate", views.SchemaValidateApi.as_view(), name="validate"),
    path("schemas/validation-mode", views.ValidationModeApi.as_view(), name="validation-mode"),
    # Event types may hold "/": routed on the segments sent (docs/api.md, "Path parameters holding a slash").
    *segment_routed(
        "schemas/event-type/",
        segment_path("<str:event_type>/latest", views.SchemaLatestApi.as_view(), name="latest"),
        segment_path("<str:event_type>", views.SchemaByTypeApi.as_view(), name="by-type"),
    ),
    path("schemas/<str:schema_id>/status", views.SchemaStatusApi.as_view(), name="status"),
    path("schemas/<str:schema_id>", views.SchemaDetailApi.as_view(), name="detail"),
]
