from django.urls import path

from schemas.api import views

app_name = "schemas"

urlpatterns = [
    path("schemas", views.SchemaCollectionApi.as_view(), name="collection"),
    path("schemas/validate", views.SchemaValidateApi.as_view(), name="validate"),
    path("schemas/validation-mode", views.ValidationModeApi.as_view(), name="validation-mode"),
    path("schemas/event-type/<str:event_type>/latest", views.SchemaLatestApi.as_view(), name="latest"),
    path("schemas/event-type/<str:event_type>", views.SchemaByTypeApi.as_view(), name="by-type"),
    path("schemas/<str:schema_id>/status", views.SchemaStatusApi.as_view(), name="status"),
    path("schemas/<str:schema_id>", views.SchemaDetailApi.as_view(), name="detail"),
]
