from django.urls import path

from tenants.api import agent_views, signing_key_views

app_name = "tenants"

urlpatterns = [
    path("agents/keys", signing_key_views.AgentKeyRegisterApi.as_view(), name="agent-key-register"),
    # Agent self-service (docs/auth.md "Agents").
    path("agents/register", agent_views.AgentRegisterApi.as_view(), name="agent-register"),
    path("agents/<str:agent_id>", agent_views.AgentDetailApi.as_view(), name="agent-detail"),
    path("agents/<str:agent_id>/api-keys", agent_views.AgentApiKeysApi.as_view(), name="agent-api-keys"),
    path(
        "agents/<str:agent_id>/api-keys/<str:key_prefix>",
        agent_views.AgentApiKeyRevokeApi.as_view(),
        name="agent-api-key-revoke",
    ),
    path("agents/<str:agent_id>/keys", signing_key_views.AgentKeyListApi.as_view(), name="agent-key-list"),
    path(
        "agents/<str:agent_id>/keys/<str:key_id>",
        signing_key_views.AgentKeyRevokeApi.as_view(),
        name="agent-key-revoke",
    ),
]
