"""The anchor's routes mirror the service's paths, so one wrk script drives both."""

from django.urls import path, re_path

from loadtest.anchor import views

urlpatterns = [
    path("ready", views.ReadyApi.as_view()),
    path("api/v1/events/ingest", views.IngestApi.as_view()),
    path("api/v1/ves/events/ingest", views.IngestApi.as_view()),
    path("api/v1/head", views.HeadApi.as_view()),
    path("api/v1/events", views.PageApi.as_view()),
    re_path(r"^api/v1/entities/[^/]+/(?P<entity_id>[^/]+)$", views.PageApi.as_view()),
    path("api/v1/events/<uuid:event_id>", views.EventApi.as_view()),
]
