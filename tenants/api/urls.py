from django.urls import path

from tenants.api import admin_views, agent_views, views

app_name = "tenants"

urlpatterns = [
    path("agents/keys", views.AgentKeyRegisterApi.as_view(), name="agent-key-register"),
    # Agent self-service (docs/auth.md "Agents").
    path("agents/register", agent_views.AgentRegisterApi.as_view(), name="agent-register"),
    path("agents/<str:agent_id>", agent_views.AgentDetailApi.as_view(), name="agent-detail"),
    path("agents/<str:agent_id>/api-keys", agent_views.AgentApiKeysApi.as_view(), name="agent-api-keys"),
    path(
        "agents/<str:agent_id>/api-keys/<str:key_prefix>",
        agent_views.AgentApiKeyRevokeApi.as_view(),
        name="agent-api-key-revoke",
    ),
    path("agents/<str:agent_id>/keys", views.AgentKeyListApi.as_view(), name="agent-key-list"),
    path("agents/<str:agent_id>/keys/<str:key_id>", views.AgentKeyRevokeApi.as_view(), name="agent-key-revoke"),
    # Admin JSON (docs/auth.md "Admin JSON").
    path("admin/overview", admin_views.AdminOverviewApi.as_view(), name="admin-overview"),
    path("admin/tenants", admin_views.AdminTenantsApi.as_view(), name="admin-tenants"),
    path("admin/stores", admin_views.AdminStoresApi.as_view(), name="admin-stores"),
    path("admin/agents", admin_views.AdminAgentsApi.as_view(), name="admin-agents"),
]
