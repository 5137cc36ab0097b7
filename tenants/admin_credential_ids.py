"""API key pages of the admin addressed by the key's credential id, never by its hash.

A key's row is keyed by the SHA-256 of the key (``api_keys.key_hash``), and Django's admin puts
an object's primary key in its URLs, its list's checkboxes and its history page: every page an
operator's browser, proxy or access log sees would carry the whole hash. The service names a key
elsewhere only by its credential id, the hash's first 16 hex digits (``keyHashPrefix``, audit
rows, rate-limit counters; ``docs/auth.md``), so the key pages do too (``docs/reliability.md``,
"Secrets"). A credential id that matches no key, or more than one, is a key that does not exist.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.admin.views.main import ChangeList
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from tenants.models import ApiKey

CREDENTIAL_ID = re.compile(r"[0-9a-f]{16}")


def key_by_credential_id(queryset: QuerySet[ApiKey], credential_id: str) -> ApiKey | None:
    """The one key of ``queryset`` whose credential id is ``credential_id``, else ``None``."""
    if not CREDENTIAL_ID.fullmatch(credential_id):
        return None
    matches = list(queryset.filter(key_hash__startswith=credential_id)[:2])
    return matches[0] if len(matches) == 1 else None


class _KeyChangeList(ChangeList):
    def url_for_result(self, result: Model) -> str:
        assert isinstance(result, ApiKey)
        return reverse(
            "admin:tenants_apikey_change", args=(result.hash_prefix,), current_app=self.model_admin.admin_site.name
        )


class CredentialIdPages(admin.ModelAdmin[ApiKey]):
    """Links, checkboxes and page URLs of API keys carry :attr:`ApiKey.hash_prefix`."""

    change_form_template = "admin/tenants/apikey/change_form.html"
    object_history_template = "admin/tenants/apikey/object_history.html"

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> ApiKey | None:
        return key_by_credential_id(self.get_queryset(request), object_id)

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return _KeyChangeList

    def action_checkbox(self, obj: ApiKey) -> SafeString:
        """The list's checkbox (its header is the admin's own: it renders this column by name)."""
        attrs = {"class": "action-select", "aria-label": f"API key {obj}: choose for an action"}
        checkbox = forms.CheckboxInput(attrs, lambda value: False)
        # The widget's template escapes every attribute; Django's stubs type its output as str.
        return mark_safe(checkbox.render(helpers.ACTION_CHECKBOX_NAME, obj.hash_prefix))  # noqa: S308

    def response_action(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> HttpResponse | None:
        """The list's action on the keys its checkboxes name by credential id."""
        post: QueryDict = request.POST.copy()
        chosen = [key_by_credential_id(queryset, value) for value in post.getlist(helpers.ACTION_CHECKBOX_NAME)]
        post.setlist(helpers.ACTION_CHECKBOX_NAME, [key.pk for key in chosen if key is not None])
        request.POST = post  # type: ignore[assignment]  # Django reads the action's choice from it
        return super().response_action(request, queryset)
