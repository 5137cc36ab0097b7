"""The operator admin site (``/admin/``): Django's admin plus pages for tables it cannot list.

Django 5.2 refuses to register models with a composite primary key, and the event tables are
too big for a changelist (``COUNT(*)``, OFFSET paging). Those pages are plain admin views over
keyset selectors: events of one stream, the ingest rejections (ingest-side dead letters), and a
tenant's agent signing keys (register, revoke). They appear on the index under "Event store".

Each of those pages needs one Django permission, as a model admin's page does: the model
permission of the table it reads or writes (:data:`EVENT_STORE_PERMISSIONS`). Staff status alone
opens the index and the operator's own password page, nothing else; a page the operator may not
use is left off the index and answers 403 (docs/projections.md, "Operator admin").
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.core.exceptions import PermissionDenied
from django.db import DataError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.http.response import HttpResponseBase
from django.urls import URLPattern, URLResolver, path, reverse

if TYPE_CHECKING:  # the auth views import the user model: not at app-loading time
    from django.contrib.auth.views import PasswordChangeView

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


def requiring_permission(permission: str, view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The view, for users holding ``permission`` (``app_label.codename``; superusers hold every
    one); anyone else gets the admin's 403 page, as from a model admin's view."""

    @functools.wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.has_perm(permission):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return guarded


# The permission each event-store page needs, by URL name: the model permission of the table the
# page reads ("view") or writes ("add": register, "change": revoke). Events and rejections are
# shown decrypted, so "view" there means the payloads and bodies themselves.
EVENT_STORE_PERMISSIONS: dict[str, str] = {
    "event_store_events": "events.view_event",
    "event_store_rejected": "events.view_rejectedevent",
    "event_store_agent_keys": "tenants.view_agentsigningkey",
    "event_store_agent_key_register": "tenants.add_agentsigningkey",
    "event_store_agent_key_revoke": "tenants.change_agentsigningkey",
}


@dataclass(frozen=True, slots=True)
class _IndexRow:
    """One "Event store" row of the index: its list page and, if it has one, its add page."""

    name: str
    object_name: str
    list_url_name: str
    add_url_name: str | None = None


_INDEX_ROWS = (
    _IndexRow("Events (by stream)", "Event", "event_store_events"),
    _IndexRow("Rejected events (ingest dead letters)", "RejectedEvent", "event_store_rejected"),
    _IndexRow("Agent signing keys", "AgentSigningKey", "event_store_agent_keys", "event_store_agent_key_register"),
)


class SequencerAdminSite(admin.AdminSite):
    site_header = "StateSet Sequencer operations"
    site_title = "Sequencer admin"
    index_title = "Operations"
    # The operator's own password page (``password_change``; ``None``: Django's). The audit app
    # installs its audited view here (``audit/admin.py``), as it installs the audited user and
    # group pages.
    password_change_view: type[PasswordChangeView] | None = None

    def admin_view(self, view: _ViewType, cacheable: bool = False) -> _ViewType:
        """Every page (the model admins' too: they wrap their views here) refuses unstorable input."""
        return super().admin_view(cast("_ViewType", refusing_unstorable_input(view)), cacheable)

    def get_urls(self) -> list[URLResolver | URLPattern]:
        from events.admin_pages import event_browser_view, rejected_event_browser_view
        from tenants.admin_pages import agent_key_register_view, agent_key_revoke_view, agent_key_view

        pages: list[tuple[str, Callable[..., HttpResponse], str]] = [
            ("event-store/events/", event_browser_view, "event_store_events"),
            ("event-store/rejected/", rejected_event_browser_view, "event_store_rejected"),
            ("event-store/agent-keys/", agent_key_view, "event_store_agent_keys"),
            ("event-store/agent-keys/register/", agent_key_register_view, "event_store_agent_key_register"),
            ("event-store/agent-keys/revoke/", agent_key_revoke_view, "event_store_agent_key_revoke"),
        ]
        extra: list[URLResolver | URLPattern] = [
            path(route, self.admin_view(requiring_permission(EVENT_STORE_PERMISSIONS[name], view)), name=name)
            for route, view, name in pages
        ]
        return extra + super().get_urls()

    def password_change(  # type: ignore[override]  # the stubs say TemplateResponse; a saved form redirects
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponseBase:
        """Django's own ``AdminSite.password_change``, through :attr:`password_change_view`."""
        from django.contrib.admin.forms import AdminPasswordChangeForm
        from django.contrib.auth.views import PasswordChangeView

        defaults: dict[str, Any] = {
            "form_class": AdminPasswordChangeForm,
            "success_url": reverse("admin:password_change_done", current_app=self.name),
            "extra_context": {**self.each_context(request), **(extra_context or {})},
        }
        if self.password_change_template is not None:
            defaults["template_name"] = self.password_change_template
        request.current_app = self.name
        return (self.password_change_view or PasswordChangeView).as_view(**defaults)(request)

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[Any]:
        app_list = super().get_app_list(request, app_label)
        rows = self._event_store_rows(request) if app_label is None else []
        if rows:
            app_list.append(
                {
                    "name": "Event store",
                    "app_label": "event_store",
                    "app_url": next(row["admin_url"] or row["add_url"] for row in rows),
                    "has_module_perms": True,
                    "models": rows,
                }
            )
        return app_list

    def _event_store_rows(self, request: HttpRequest) -> list[dict[str, Any]]:
        """The index rows of the event-store pages this user may open (none for a non-staff user)."""
        user = request.user
        if not (user.is_active and user.is_staff):
            return []
        rows = []
        for row in _INDEX_ROWS:
            may_list = user.has_perm(EVENT_STORE_PERMISSIONS[row.list_url_name])
            may_add = row.add_url_name is not None and user.has_perm(EVENT_STORE_PERMISSIONS[row.add_url_name])
            if not (may_list or may_add):
                continue
            rows.append(
                {
                    "name": row.name,
                    "object_name": row.object_name,
                    "admin_url": reverse(f"admin:{row.list_url_name}") if may_list else None,
                    "add_url": reverse(f"admin:{row.add_url_name}") if may_add else None,
                    "view_only": True,
                    "perms": {"view": may_list, "add": may_add, "change": False, "delete": False},
                }
            )
        return rows


class SequencerAdminConfig(AdminConfig):
    default_site = "sequencer_project.admin_site.SequencerAdminSite"
