"""Base classes of the operator admin (STYLE.md rule 40: read-mostly, actions call services)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from sequencer_project.admin_lists import EstimatedCountPaginator


def hex_bytes_shown(model: type[models.Model], names: Sequence[str]) -> list[Any]:
    """``names`` as read-only admin fields, each ``BinaryField`` of ``model`` among them shown as
    ``0x`` and lower-case hex (the API's and the docs' spelling of roots, hashes and signatures)
    instead of Python's ``b'...'`` text, which no operator can compare with a proof or a receipt."""
    binary = {f.name: f for f in model._meta.fields if isinstance(f, models.BinaryField)}
    return [_hex_field(name, str(binary[name].verbose_name)) if name in binary else name for name in names]


def _hex_field(name: str, label: str) -> Any:
    def shown(obj: Any) -> str:
        value = getattr(obj, name)
        return "—" if value is None else "0x" + bytes(value).hex()

    shown.__name__ = name
    return admin.display(description=label)(shown)


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    """No add, change or delete; no full count, and an unfiltered list of a large table sized by
    the planner's estimate (tables can be large: :mod:`sequencer_project.admin_lists`)."""

    show_full_result_count = False
    paginator = EstimatedCountPaginator

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class OperatorActionsAdmin(ReadOnlyAdmin):
    """Read-only pages whose list actions (dead-letter retry, re-drive, discard) call services.

    Every action writes, so it needs the model's "change" permission (Django's own check, e.g.
    ``events.change_projectiondeadletter``): without it the list offers no action and a posted
    one is refused with 403. "view" alone shows the list. A row's page is view-only for everyone
    (no Save button; a posted change is 403), since nothing on it is edited.
    """

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None:  # a row's page only shows it: no Save, a posted change is 403
            return False
        return admin.ModelAdmin.has_change_permission(self, request, obj)  # not ReadOnlyAdmin's "never"

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        return super().get_actions(request) if self.has_change_permission(request) else {}

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if request.method == "POST" and not self.has_change_permission(request):
            raise PermissionDenied  # the list's only POST is an action
        return super().changelist_view(request, extra_context)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in self.model._meta.fields]

    def response_action(self, request: HttpRequest, queryset: Any) -> HttpResponse | None:
        return refuse_malformed_selection(self, request) or super().response_action(request, queryset)


def refuse_malformed_selection(model_admin: admin.ModelAdmin[Any], request: HttpRequest) -> HttpResponse | None:
    """Back to the list with a message when a selected id is not one of the model's keys (a
    posted ``_selected_action=abc`` reached the query and answered 500); ``None`` when all are."""
    key = model_admin.model._meta.pk
    try:
        for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME):
            key.run_validators(key.to_python(value))
    except ValidationError:
        model_admin.message_user(request, "The selection holds an id that is not one of these rows.", messages.ERROR)
        return HttpResponseRedirect(request.get_full_path())
    return None
