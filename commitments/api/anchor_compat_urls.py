"""Routes without the ``/api`` prefix for the separate anchor service (mounted at ``/v1/``)."""

from django.urls import path

from commitments.api import anchor_compat_views

app_name = "anchor-compat"

urlpatterns = [
    path("commitments/pending", anchor_compat_views.PendingAnchorsApi.as_view(), name="pending"),
    path("commitments/<str:batch_id>/anchored", anchor_compat_views.AnchoredNoticeApi.as_view(), name="anchored"),
]
