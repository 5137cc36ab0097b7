"""Admin JSON (``GET /api/v1/admin/{overview,tenants,stores,agents}``), camelCase as the reference's.

Admin permission required. A tenant admin sees its own tenant; the bootstrap admin sees all.
Every figure comes from counters and summaries (``sequence_counters``, ``stores``, ``api_keys``,
``agent_signing_keys``) in one statement per request, never from the event tables. Projection
and agent-sync fields of the reference are ``null``: those subsystems do not exist here yet.
"""

from __future__ import annotations

import uuid
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from sequencer_project.api.openapi import query
from sequencer_project.api.principal import Permission
from sequencer_project.api.tenancy import TenantApiMixin, query_int
from tenants.api import openapi as shapes
from tenants.api.serializers import permissions_flags_label
from tenants.selectors import admin_agents_list, admin_overview_get, admin_stores_list, admin_tenants_list

LIST_DEFAULT = 200
LIST_MAX = 1000
LIMIT = query("limit", {"type": "integer", "minimum": 1}, f"Default {LIST_DEFAULT}, at most {LIST_MAX} (capped).")


class _AdminApi(TenantApiMixin):
    def scope(self) -> uuid.UUID | None:
        """The tenant the caller administers, or ``None`` (all tenants) for the bootstrap admin."""
        principal = self.principal
        principal.require(Permission.ADMIN)
        return None if principal.is_superadmin else principal.tenant_id

    def limit(self, request: Request) -> int:
        return query_int(request, "limit", default=LIST_DEFAULT, minimum=1, maximum=LIST_MAX)


class AdminOverviewApi(_AdminApi):
    @extend_schema(
        operation_id="admin_overview",
        summary="Totals of the caller's tenant (all tenants for the bootstrap admin) (admin)",
        tags=["admin"],
        responses={200: shapes.ADMIN_OVERVIEW},
    )
    def get(self, request: Request) -> Response:
        o = admin_overview_get(tenant_id=self.scope())
        return Response(
            {
                "tenants": o.tenants,
                "stores": o.stores,
                "agents": o.agents,
                "apiKeys": o.api_keys,
                "activeApiKeys": o.active_api_keys,
                "totalHeadSequence": o.total_head_sequence,
                "totalVesHeadSequence": o.total_ves_head_sequence,
                "activeStores24h": o.active_stores_24h,
                "maxProjectionLag": None,
                "lastActivityAt": o.last_activity_at,
            }
        )


class AdminTenantsApi(_AdminApi):
    @extend_schema(
        operation_id="admin_tenants",
        summary="Tenants with their counters (admin)",
        tags=["admin"],
        parameters=[LIMIT],
        responses={200: shapes.ADMIN_TENANTS},
    )
    def get(self, request: Request) -> Response:
        rows = admin_tenants_list(tenant_id=self.scope(), limit=self.limit(request))
        return Response(
            [
                {
                    "tenantId": t.tenant_id,
                    "name": t.name,
                    "active": t.active,
                    "createdAt": t.created_at,
                    "stores": t.stores,
                    "agents": t.agents,
                    "apiKeys": t.api_keys,
                    "activeApiKeys": t.active_api_keys,
                    "headSequence": t.head_sequence,
                    "vesHeadSequence": t.ves_head_sequence,
                    "lastActivityAt": t.last_activity_at,
                }
                for t in rows
            ]
        )


class AdminStoresApi(_AdminApi):
    @extend_schema(
        operation_id="admin_stores",
        summary="Stores with their heads (admin)",
        tags=["admin"],
        parameters=[LIMIT],
        responses={200: shapes.ADMIN_STORES},
    )
    def get(self, request: Request) -> Response:
        rows = admin_stores_list(tenant_id=self.scope(), limit=self.limit(request))
        return Response(
            [
                {
                    "tenantId": s.tenant_id,
                    "storeId": s.store_id,
                    "headSequence": s.head_sequence or 0,
                    "vesHeadSequence": s.ves_head_sequence or 0,
                    "lastProjectedSequence": None,
                    "projectionLag": None,
                    "agentCount": s.agent_count,
                    "lastAgentSyncAt": None,
                    "createdAt": s.created_at,
                    "updatedAt": s.updated_at,
                }
                for s in rows
            ]
        )


class AdminAgentsApi(_AdminApi):
    @extend_schema(
        operation_id="admin_agents",
        summary="Agents with their keys (admin)",
        tags=["admin"],
        parameters=[LIMIT],
        responses={200: shapes.ADMIN_AGENTS},
    )
    def get(self, request: Request) -> Response:
        rows = admin_agents_list(tenant_id=self.scope(), limit=self.limit(request))
        out: list[dict[str, Any]] = [
            {
                "tenantId": a.tenant_id,
                "agentId": a.agent_id,
                "permissions": permissions_flags_label(a.can_write, a.can_admin),
                "storeScope": a.store_ids,
                "apiKeyCount": a.api_keys,
                "activeApiKeys": a.active_api_keys,
                "signingKeyCount": a.signing_keys,
                "firstKeyAt": a.first_key_at,
                "lastKeyAt": a.last_key_at,
                "storeId": None,
                "lastSyncAt": None,
                "lastPushedSequence": None,
                "lastPulledSequence": None,
            }
            for a in rows
        ]
        return Response(out)
