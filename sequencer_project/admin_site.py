"""The operator admin site (``/admin/``): Django's admin plus pages for tables it cannot list.

Django 5.2 refuses to register models with a composite primary key, and the event tables are
too big for a changelist (``COUNT(*)``, OFFSET paging). Those pages are plain admin views over
keyset selectors: events of one stream, the ingest rejections (ingest-side dead letters), and a
tenant's agent signing keys (register, revoke). They appear on the index under "Event store".
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar, cast

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.db import DataError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.urls import URLPattern, URLResolver, path, reverse

logger = logging.getLogger(__name__)

_ViewType = TypeVar("_ViewType", bound=Callable[..., Any])


def refusing_unstorable_input(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """An admin page answers 400, never 500, to input the database cannot hold: U+0000 anywhere
    in the path, a query or form parameter (PostgreSQL text refuses it), or a filter value out of
    its column's range (``DataError``)."""

    @functools.wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if "\x00" in request.path or any(
            "\x00" in name or any("\x00" in value for value in values)
            for params in (request.GET, request.POST)
            for name, values in params.lists()
        ):
            return HttpResponseBadRequest("A parameter holds U+0000 (NUL), which nothing here can store or match.")
        try:
            return view(request, *args, **kwargs)
        except DataError as exc:
            logger.info("admin page refused a value the database cannot hold: %s", exc)
            return HttpResponseBadRequest(
                "A parameter holds a value its column cannot hold (out of range or malformed)."
            )

    return guarded


class SequencerAdminSite(admin.AdminSite):
    site_header = "StateSet Sequencer operations"
    site_title = "Sequencer admin"
    index_title = "Operations"

    def admin_view(self, view: _ViewType, cacheable: bool = False) -> _ViewType:
        """Every page (the model admins' too: they wrap their views here) refuses unstorable input."""
        return super().admin_view(cast("_ViewType", refusing_unstorable_input(view)), cacheable)

    def get_urls(self) -> list[URLResolver | URLPattern]:
        from events.admin_pages import event_browser_view, rejected_event_browser_view
        from tenants.admin_pages import agent_key_register_view, agent_key_revoke_view, agent_key_view

        extra: list[URLResolver | URLPattern] = [
            path("event-store/events/", self.admin_view(event_browser_view), name="event_store_events"),
            path("event-store/rejected/", self.admin_view(rejected_event_browser_view), name="event_store_rejected"),
            path("event-store/agent-keys/", self.admin_view(agent_key_view), name="event_store_agent_keys"),
            path(
                "event-store/agent-keys/register/",
                self.admin_view(agent_key_register_view),
                name="event_store_agent_key_register",
            ),
            path(
                "event-store/agent-keys/revoke/",
                self.admin_view(agent_key_revoke_view),
                name="event_store_agent_key_revoke",
            ),
        ]
        return extra + super().get_urls()

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[Any]:
        app_list = super().get_app_list(request, app_label)
        if app_label is None and request.user.is_active and request.user.is_staff:
            app_list.append(
                {
                    "name": "Event store",
                    "app_label": "event_store",
                    "app_url": reverse("admin:event_store_events"),
                    "has_module_perms": True,
                    "models": [
                        {"name": name, "object_name": name, "admin_url": reverse(url), "view_only": True, "perms": {}}
                        for name, url in (
                            ("Events (by stream)", "admin:event_store_events"),
                            ("Rejected events (ingest dead letters)", "admin:event_store_rejected"),
                            ("Agent signing keys", "admin:event_store_agent_keys"),
                        )
                    ],
                }
            )
        return app_list


class SequencerAdminConfig(AdminConfig):
    default_site = "sequencer_project.admin_site.SequencerAdminSite"
