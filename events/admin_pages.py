"""Django admin pages over the event tables (read-only, keyset paging): events and ingest rejections.

Not the admin JSON API (``events.api.admin_views``). The site wires them in
``sequencer_project.admin_site``.
"""

from __future__ import annotations

import uuid

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from events.admin_selectors import SCAN_WINDOW, AdminEventPage, admin_event_page, admin_rejection_page
from events.envelopes import FIELD_LIMITS, uuid_field
from events.field_errors import FieldErrors
from sequencer_project.api.fields import BIGINT_MAX, ascii_int


def _uuid(request: HttpRequest, name: str, errors: list[str]) -> uuid.UUID | None:
    raw = request.GET.get(name, "").strip()
    if not raw:
        return None
    parsed = uuid_field(raw, name, FieldErrors(), required=False)
    if parsed is None:
        errors.append(f"{name} is not a UUID.")
    return parsed


def _int(request: HttpRequest, name: str, default: int) -> int:
    value = ascii_int(request.GET.get(name, ""))
    return value if value is not None and 0 <= value <= BIGINT_MAX else default


def _text(request: HttpRequest, name: str, errors: list[str]) -> str | None:
    """A filter on an envelope field; one longer than the field can hold is an error, not cut
    (a cut filter would match the events whose value it begins)."""
    value = request.GET.get(name, "").strip()
    if len(value) > FIELD_LIMITS[name]:
        errors.append(f"{name} is longer than {FIELD_LIMITS[name]} characters.")
        return None
    return value or None


def _keyset_context(
    request: HttpRequest, *, errors: list[str], has_more: bool, cursor: tuple[str, int] | None
) -> dict[str, object]:
    """The context every keyset page shares; ``next_query`` is this page's query with ``cursor``
    (the parameter and the key of the page's last row; ``None`` when it has no rows) set."""
    query = request.GET.copy()
    if cursor is not None:
        name, key = cursor
        query[name] = str(key)
    return {
        **admin.site.each_context(request),
        "errors": errors,
        "has_more": has_more,
        "next_query": query.urlencode(),
    }


def event_browser_view(request: HttpRequest) -> HttpResponse:
    """Events of one stream (tenant and store required), filtered by entity and type."""
    errors: list[str] = []
    tenant_id, store_id = _uuid(request, "tenant_id", errors), _uuid(request, "store_id", errors)
    filters = {name: _text(request, name, errors) for name in ("entity_type", "entity_id", "event_type")}
    after = _int(request, "after", 0)
    page = AdminEventPage([], None, None)
    if tenant_id and store_id and not errors:
        page = admin_event_page(tenant_id=tenant_id, store_id=store_id, after=after, **filters)
    elif not errors and request.GET:
        errors.append("Pick a tenant and a store: events are browsed one stream at a time.")
    cursor = ("after", page.next_after) if page.next_after is not None else None
    context = {
        **_keyset_context(request, errors=errors, has_more=cursor is not None, cursor=cursor),
        "title": "Events (by stream)",
        "events": page.events,
        "searched_through": page.searched_through,
        "scan_window": SCAN_WINDOW,
        "values": {
            "tenant_id": tenant_id or "",
            "store_id": store_id or "",
            **{k: v or "" for k, v in filters.items()},
        },
    }
    return TemplateResponse(request, "admin/event_store/events.html", context)


def rejected_event_browser_view(request: HttpRequest) -> HttpResponse:
    """The ingest-side dead letters, newest first, for all tenants or one."""
    errors: list[str] = []
    tenant_id = _uuid(request, "tenant_id", errors)
    before = _int(request, "before", BIGINT_MAX)
    rows, has_more = ([], False) if errors else admin_rejection_page(tenant_id=tenant_id, before=before)
    context = {
        **_keyset_context(
            request, errors=errors, has_more=has_more, cursor=("before", rows[-1].rejection_id) if rows else None
        ),
        "title": "Rejected events (ingest dead letters)",
        "rows": rows,
        "tenant_id": tenant_id or "",
    }
    return TemplateResponse(request, "admin/event_store/rejected.html", context)
