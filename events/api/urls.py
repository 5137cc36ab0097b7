from django.urls import path

from events.api import views

app_name = "events"

urlpatterns = [
    path("events/ingest", views.EventIngestApi.as_view(), name="ingest"),
    path("events", views.EventListApi.as_view(), name="list"),
    path("events/<str:event_id>", views.EventDetailApi.as_view(), name="detail"),
    path("head", views.HeadApi.as_view(), name="head"),
    path("entities/<str:entity_type>/<str:entity_id>", views.EntityHistoryApi.as_view(), name="entity-history"),
]
