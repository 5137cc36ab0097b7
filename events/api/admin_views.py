"""Admin JSON (``GET /api/v1/admin/{overview,tenants,stores,agents}``), as the reference's dashboard reads it.

Admin permission required. A tenant admin sees its own tenant; the bootstrap admin sees all; a
store-scoped admin sees only its stores and the keys and agents scoped within them (in SQL,
counts and sums included; docs/auth.md).
Every member the reference's ``AdminOverviewResponse``/``Admin*Summary`` serialise is present with
its type and casing (counts are integers, never null; ``permissions`` and ``storeScope`` are
strings; timestamps are written as chrono's ``to_rfc3339``), followed by our extra members.
Every figure comes from counters and summaries (``sequence_counters``, ``projection_checkpoints``,
``stores``, ``api_keys``, ``agent_signing_keys``) in one set-based statement per request, never
from the event tables. Agent-sync fields are ``null``: this service has no agent sync state.
The lists take ``limit`` and, ours, ``offset``, which pages over a stable order
(``_AdminApi.page``; docs/auth.md).
They are events' endpoints, not tenants': the figures join tenancy with stream heads and the
registered projections (``events.projections.registry``), and tenants never imports events.
"""

from __future__ import annotations

import uuid
from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response

from events.admin_selectors import (
    AdminAgent,
    admin_agents_list,
    admin_overview_get,
    admin_stores_list,
    admin_tenants_list,
)
from events.api import openapi as shapes
from sequencer_project.api.fields import query_int, query_int_optional
from sequencer_project.api.openapi import operation, query
from sequencer_project.api.principal import Permission
from sequencer_project.api.tenancy import TenantApiMixin
from sequencer_project.api.timestamps import chrono_rfc3339, chrono_rfc3339_or_none
from tenants.api.serializers import permissions_flags_label

LIST_DEFAULT = 200
LIST_MAX = 1000
LIMIT = query("limit", {"type": "integer", "minimum": 1}, f"Default {LIST_DEFAULT}, at most {LIST_MAX} (capped).")
# Ours (the reference's lists take no paging parameter): without it, the first ``limit`` rows in
# the reference dashboard's order; with it, rows of a stable order (docs/auth.md, "Admin JSON").
OFFSET = query(
    "offset",
    {"type": "integer", "minimum": 0},
    "Skip this many rows of a stable order (tenants and stores: creation, then id; agents: "
    "tenant and agent id). Walk offset=0, limit, 2*limit, ... until a page holds fewer than limit "
    "rows. Without it: the first rows, newest activity first (stores, agents).",
)
PAGE = [LIMIT, OFFSET]


class _AdminApi(TenantApiMixin):
    def scope(self) -> tuple[uuid.UUID | None, frozenset[uuid.UUID] | None]:
        """The tenant and stores the caller administers: tenant ``None`` (all tenants) for the
        bootstrap admin, the only credential without a tenant; stores ``None`` (all of them)
        unless the credential is store-scoped, whose stores then limit every figure. An
        agent-scoped credential is refused: these list every agent's keys."""
        principal = self.principal
        principal.require(Permission.ADMIN)
        principal.refuse_agent_scope("read the operator's view of every agent and key")
        stores = None if principal.is_superadmin else principal.store_ids or None
        return principal.tenant_id, stores

    def page(self, request: Request) -> tuple[int, int | None]:
        """``limit`` and ``offset`` (``None`` when absent: the dashboard's first rows); 400
        ``invalid_parameter`` naming either when it is empty or not an integer in range."""
        limit = query_int(request, "limit", default=LIST_DEFAULT, minimum=1, maximum=LIST_MAX)
        offset = query_int_optional(request, "offset", minimum=0)
        return limit, offset


class AdminOverviewApi(_AdminApi):
    @operation(
        "admin",
        "admin_overview",
        "Totals of the caller's tenant (all tenants for the bootstrap admin) (admin)",
        ok=shapes.ADMIN_OVERVIEW,
    )
    def get(self, request: Request) -> Response:
        tenant_id, store_ids = self.scope()
        o = admin_overview_get(tenant_id=tenant_id, store_ids=store_ids)
        return Response(
            {
                # The reference's AdminOverviewResponse, in its order.
                "tenants": o.tenants,
                "stores": o.stores,
                "agents": o.agents,
                "apiKeys": o.api_keys,
                "activeApiKeys": o.active_api_keys,
                "totalHeadSequence": o.total_head_sequence,
                "activeStores24h": o.active_stores_24h,
                "maxProjectionLag": o.max_projection_lag,
                "lastActivityAt": chrono_rfc3339_or_none(o.last_activity_at),
                # Ours.
                "totalVesHeadSequence": o.total_ves_head_sequence,
            }
        )


class AdminTenantsApi(_AdminApi):
    @operation(
        "admin", "admin_tenants", "Tenants with their counters (admin)", parameters=PAGE, ok=shapes.ADMIN_TENANTS
    )
    def get(self, request: Request) -> Response:
        tenant_id, store_ids = self.scope()
        limit, offset = self.page(request)
        rows = admin_tenants_list(tenant_id=tenant_id, store_ids=store_ids, limit=limit, offset=offset)
        return Response(
            [
                {
                    # The reference's AdminTenantSummary, in its order.
                    "tenantId": t.tenant_id,
                    "agentCount": t.agents,
                    "apiKeyCount": t.api_keys,
                    "activeApiKeys": t.active_api_keys,
                    "storeCount": t.stores,
                    "totalHeadSequence": t.head_sequence,
                    "activeStores24h": t.active_stores_24h,
                    "maxProjectionLag": t.max_projection_lag,
                    "lastKeyAt": chrono_rfc3339_or_none(t.last_key_at),
                    "lastActivityAt": chrono_rfc3339_or_none(t.last_activity_at),
                    # Ours (the first four name the same figures as above, kept for our clients).
                    "stores": t.stores,
                    "agents": t.agents,
                    "apiKeys": t.api_keys,
                    "headSequence": t.head_sequence,
                    "name": t.name,
                    "active": t.active,
                    "createdAt": chrono_rfc3339(t.created_at),
                    "vesHeadSequence": t.ves_head_sequence,
                }
                for t in rows
            ]
        )


class AdminStoresApi(_AdminApi):
    @operation("admin", "admin_stores", "Stores with their heads (admin)", parameters=PAGE, ok=shapes.ADMIN_STORES)
    def get(self, request: Request) -> Response:
        tenant_id, store_ids = self.scope()
        limit, offset = self.page(request)
        rows = admin_stores_list(tenant_id=tenant_id, store_ids=store_ids, limit=limit, offset=offset)
        return Response(
            [
                {
                    # The reference's AdminStoreSummary, in its order.
                    "tenantId": s.tenant_id,
                    "storeId": s.store_id,
                    "headSequence": s.head_sequence,
                    "lastProjectedSequence": s.last_projected_sequence,
                    "projectionLag": s.projection_lag,
                    "agentCount": s.agent_count,
                    "lastAgentSyncAt": None,
                    "updatedAt": chrono_rfc3339(s.updated_at),
                    # Ours.
                    "vesHeadSequence": s.ves_head_sequence,
                    "createdAt": chrono_rfc3339(s.created_at),
                }
                for s in rows
            ]
        )


def _permissions(agent: AdminAgent) -> str:
    """The reference's label of an agent's widest key; ``none`` for an agent without an API key."""
    if agent.has_admin is None:
        return "none"
    return permissions_flags_label(bool(agent.has_write), bool(agent.has_admin)) or "none"


class AdminAgentsApi(_AdminApi):
    @operation("admin", "admin_agents", "Agents with their keys (admin)", parameters=PAGE, ok=shapes.ADMIN_AGENTS)
    def get(self, request: Request) -> Response:
        tenant_id, store_ids = self.scope()
        limit, offset = self.page(request)
        rows = admin_agents_list(tenant_id=tenant_id, store_ids=store_ids, limit=limit, offset=offset)
        out: list[dict[str, Any]] = [
            {
                # The reference's AdminAgentSummary, in its order.
                "tenantId": a.tenant_id,
                "agentId": a.agent_id,
                "permissions": _permissions(a),
                "storeScope": "all" if a.all_stores else "scoped",
                "apiKeyCount": a.api_keys,
                "activeApiKeys": a.active_api_keys,
                "firstKeyAt": chrono_rfc3339_or_none(a.first_key_at),
                "lastKeyAt": chrono_rfc3339_or_none(a.last_key_at),
                "storeId": None,
                "lastSyncAt": None,
                "lastPushedSequence": None,
                "lastPulledSequence": None,
                # Ours.
                "storeIds": a.store_ids,
                "signingKeyCount": a.signing_keys,
            }
            for a in rows
        ]
        return Response(out)
