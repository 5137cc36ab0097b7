from django.urls import path

from payments.api import views

app_name = "payments"

urlpatterns = [
    path("x402/payments", views.PaymentListCreateApi.as_view(), name="payments"),
    path("x402/payments/<str:intent_id>", views.PaymentDetailApi.as_view(), name="payment-detail"),
    path("x402/payments/<str:intent_id>/receipt", views.PaymentReceiptApi.as_view(), name="payment-receipt"),
    path("x402/batches", views.BatchCreateApi.as_view(), name="batches"),
    path("x402/batches/settle", views.BatchSettleApi.as_view(), name="batch-settle"),
    path("x402/batches/<str:batch_id>", views.BatchDetailApi.as_view(), name="batch-detail"),
]
