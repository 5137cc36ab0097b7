from django.urls import path

from tenants.api import views

app_name = "tenants"

urlpatterns = [
    path("agents/keys", views.AgentKeyRegisterApi.as_view(), name="agent-key-register"),
    path("agents/<str:agent_id>/keys", views.AgentKeyListApi.as_view(), name="agent-key-list"),
    path("agents/<str:agent_id>/keys/<str:key_id>", views.AgentKeyRevokeApi.as_view(), name="agent-key-revoke"),
]
