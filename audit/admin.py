"""The audit log in the operator admin (read-only, for staff holding ``audit.view_auditlogentry``),
and the audited staff pages: users, groups and the operator's own password page."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.forms import PasswordChangeForm
from django.contrib.auth.models import Group, User
from django.contrib.auth.views import PasswordChangeView
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.http import HttpRequest, HttpResponse

from audit.models import AuditLogEntry
from audit.services import admin_actor, staff_change_record
from sequencer_project.admin_base import ReadOnlyAdmin, refuse_malformed_selection
from sequencer_project.admin_lists import IndexedSearch, indexed_values_filter
from sequencer_project.admin_site import SequencerAdminSite


@admin.register(AuditLogEntry)
class AuditLogEntryAdmin(IndexedSearch, ReadOnlyAdmin):
    """The log is never pruned: every list, filter and search is served by an index (migration
    ``audit/0002_audit_log_search_indexes``; ``sequencer_project/admin_lists.py``)."""

    list_display = ("at", "actor", "action", "target_type", "target_id", "tenant_id")
    list_filter = (indexed_values_filter("action", "action"), indexed_values_filter("target_type", "target type"))
    uuid_search_fields = ("tenant_id",)
    prefix_search_fields = ("actor", "target_id")
    search_help_text = "A tenant id (whole), or the start of an actor or a target id, as written."
    ordering = ("-at",)
    date_hierarchy = None
    # Viewing needs Django's own ``audit.view_auditlogentry`` (ModelAdmin's default check): the
    # log names every tenant and operator, so staff status alone does not open it.


class AuditedStaffAdminMixin(admin.ModelAdmin[Any]):
    """Staff users and groups (Django's own pages): every change the admin logs in
    ``django_admin_log`` also writes an ``audit_log`` row naming the operator, in the change's
    transaction (``audit.services.staff_change_record``). Making or removing an operator is the
    admin's most powerful act; it was the one change the audit log never saw.
    """

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        staff_change_record(actor=admin_actor(request), verb="create", target=obj, message=message)
        return super().log_addition(request, obj, message)

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        staff_change_record(actor=admin_actor(request), verb="update", target=obj, message=message)
        return super().log_change(request, obj, message)

    def log_deletions(self, request: HttpRequest, queryset: Any) -> Any:
        for obj in queryset:
            staff_change_record(actor=admin_actor(request), verb="delete", target=obj, message=[])
        return super().log_deletions(request, queryset)

    def response_action(self, request: HttpRequest, queryset: Any) -> Any:
        refused = refuse_malformed_selection(self, request)
        if refused is not None:
            return refused
        with transaction.atomic():  # "delete selected": the rows, Django's log and ours together
            return super().response_action(request, queryset)


admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class StaffUserAdmin(AuditedStaffAdminMixin, UserAdmin[User]):
    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> Any:
        with transaction.atomic():  # Django saves the password, then logs it: one transaction
            return super().user_change_password(request, id, form_url)


@admin.register(Group)
class StaffGroupAdmin(AuditedStaffAdminMixin, GroupAdmin):
    pass


class AuditedPasswordChangeView(PasswordChangeView):
    """The operator's own password page (``/admin/password_change/``): the new password and its
    ``user.update`` audit row (``changed: ["password"]``, as the user admin's password page
    writes) commit in one transaction."""

    def form_valid(self, form: PasswordChangeForm) -> HttpResponse:
        with transaction.atomic():  # Django saves the password (and the session's hash), then we log it
            response = super().form_valid(form)
            staff_change_record(
                actor=admin_actor(self.request),
                verb="update",
                target=form.user,
                message=[{"changed": {"fields": ["password"]}}],
            )
        return response


if not isinstance(admin.site, SequencerAdminSite):
    raise ImproperlyConfigured("The audited staff pages need the project's admin site (SequencerAdminConfig).")
admin.site.password_change_view = AuditedPasswordChangeView
