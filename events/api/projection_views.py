"""Projection endpoints: entity state, projection lag, dead-letter retry/discard (``docs/projections.md``)."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response

from audit.services import api_actor
from events.api import openapi as shapes
from events.api.entity_history import entity_path
from events.api.projection_serializers import dead_letter_output, entity_state_output, lag_output
from events.api.views import ENTITY_PATH
from events.errors import EntityStateNotFoundError
from events.projections.selectors import entity_state_with_lag_get, projection_lag_list
from events.services.dead_letters import dead_letter_discard, dead_letter_retry
from sequencer_project.api.fields import path_int, query_uuid_optional
from sequencer_project.api.openapi import QUERIED_TENANT, UUID, operation, path_param, query, stream_query
from sequencer_project.api.paging import query_page
from sequencer_project.api.principal import Permission, Principal
from sequencer_project.api.tenancy import TenantApiMixin

_MAX_DEAD_LETTER_ID = 10**18 - 1
LAG_LIMIT_DEFAULT = 100
LAG_LIMIT_MAX = 1000
LAG_PAGE = [
    query(
        "limit", {"type": "integer", "minimum": 1}, f"Default {LAG_LIMIT_DEFAULT}, at most {LAG_LIMIT_MAX} (capped)."
    ),
    query("offset", {"type": "integer", "minimum": 0}, "Skip this many streams of the order (worst lag first)."),
]
DEAD_LETTER_ID = path_param(
    "dead_letter_id", {"type": "integer", "minimum": 0, "maximum": _MAX_DEAD_LETTER_ID}, "Dead-letter entry id."
)


class EntityStateApi(TenantApiMixin):
    """``GET /api/v1/entities/{type}/{id}/state?tenant_id&store_id``: the projected state."""

    @operation(
        "projections",
        "entity_state_get",
        "An entity's projected state",
        parameters=[*ENTITY_PATH, *stream_query()],
        ok=shapes.ENTITY_STATE,
    )
    def get(self, request: Request, entity_type: str, entity_id: str) -> Response:
        entity_path(entity_type, entity_id)
        tenant_id, store_id = self.queried_stream(Permission.READ)
        found = entity_state_with_lag_get(
            tenant_id=tenant_id, store_id=store_id, entity_type=entity_type, entity_id=entity_id
        )
        if found is None:
            raise EntityStateNotFoundError(
                f"No projected state for {entity_type}/{entity_id}: no event of it, or not projected yet."
            )
        return Response(entity_state_output(found.state, found.lag))


class ProjectionLagApi(TenantApiMixin):
    """``GET /api/v1/projections/lag?tenant_id[&store_id][&limit][&offset]``: head, checkpoint and
    lag per projection and stream, worst lag first, a page at a time."""

    @operation(
        "projections",
        "projections_lag",
        "Head, checkpoint and lag of each projection per stream, worst lag first",
        parameters=[QUERIED_TENANT, query("store_id", UUID, "One store only."), *LAG_PAGE],
        ok=shapes.LAG_LIST,
    )
    def get(self, request: Request) -> Response:
        principal = self.principal
        tenant_id = self.queried_tenant()
        store_id = query_uuid_optional(request, "store_id")
        page = query_page(request, default=LAG_LIMIT_DEFAULT, maximum=LAG_LIMIT_MAX)
        principal.check_stream(tenant_id, store_id, Permission.READ)
        lags, next_offset = page.cut(
            projection_lag_list(
                tenant_id=tenant_id,
                store_ids=[store_id] if store_id else principal.store_scope,
                limit=page.rows_to_read,
                offset=page.offset,
            )
        )
        return Response({"streams": [lag_output(lag) for lag in lags], "next_offset": next_offset})


class _DeadLetterActionApi(TenantApiMixin):
    def admin_and_entry(self, raw_id: str) -> tuple[Principal, int]:
        """This admin credential, not agent-scoped, and the entry id it names (the service answers
        404 for an entry outside the credential's tenant and stores)."""
        principal = self.principal
        principal.require(Permission.ADMIN)
        principal.refuse_agent_scope("retry or discard a stream's dead letters")
        return principal, path_int(raw_id, "dead_letter_id", maximum=_MAX_DEAD_LETTER_ID)


class DeadLetterRetryApi(_DeadLetterActionApi):
    """``POST /api/v1/admin/dlq/{id}/retry``: apply the event again now (admin keys)."""

    @operation(
        "projections",
        "dead_letter_retry",
        "Apply a dead-lettered event again now (admin)",
        parameters=[DEAD_LETTER_ID],
        request=None,
        ok=shapes.DEAD_LETTER_RETRY,
    )
    def post(self, request: Request, dead_letter_id: str) -> Response:
        admin, entry_id = self.admin_and_entry(dead_letter_id)
        outcome = dead_letter_retry(
            tenant_id=self.tenant_scope, store_ids=admin.store_scope, dead_letter_id=entry_id, actor=api_actor(admin)
        )
        return Response({"succeeded": outcome.succeeded, "entry": dead_letter_output(outcome.entry)})


class DeadLetterDiscardApi(_DeadLetterActionApi):
    """``POST /api/v1/admin/dlq/{id}/discard``: never retry this entry again (admin keys)."""

    @operation(
        "projections",
        "dead_letter_discard",
        "Never retry a dead-lettered event again (admin)",
        parameters=[DEAD_LETTER_ID],
        request=None,
        ok=shapes.DEAD_LETTER_DISCARD,
    )
    def post(self, request: Request, dead_letter_id: str) -> Response:
        admin, entry_id = self.admin_and_entry(dead_letter_id)
        entry = dead_letter_discard(
            tenant_id=self.tenant_scope, store_ids=admin.store_scope, dead_letter_id=entry_id, actor=api_actor(admin)
        )
        return Response({"entry": dead_letter_output(entry)})
