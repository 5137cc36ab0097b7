"""Operator admin for tenancy. Changes go through services, which write the audit log."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from audit.services import admin_actor
from sequencer_project.api.errors import SequencerError
from sequencer_project.api.fields import parse_uuid_text
from tenants.admin_credential_ids import CredentialIdPages
from tenants.forms import AsciiIntegerField
from tenants.limits import STORE_IDS_MAX
from tenants.models import ApiKey, Tenant
from tenants.services import API_KEY_RATE_LIMIT_MAX, api_key_create, api_key_revoke, tenant_create, tenant_update


class TenantAdmin(admin.ModelAdmin[Tenant]):
    """The tenant pages: its stores and API keys on the change page.

    Registered by ``events/admin.py``, whose subclass adds the tenant's streams and projection
    lag (events' to read; tenants never imports events).
    """

    list_display = ("name", "id", "is_active", "created_at")
    search_fields = ("=id", "name")
    readonly_fields = ("id", "created_at")
    change_form_template = "admin/tenants/tenant/change_form.html"

    def has_delete_permission(self, request: HttpRequest, obj: Tenant | None = None) -> bool:
        return False  # a tenant owns sequenced events: deactivate it instead

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """Django's form view without its ``transaction.atomic`` wrapper: the save calls a service,
        which is the transaction boundary (durable, audit row included) and cannot nest in one."""
        # Django's own body of this view (private, so django-stubs leave it out).
        response: HttpResponse = self._changeform_view(request, object_id, form_url, extra_context)  # type: ignore[attr-defined]
        return response

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        tenant = self.get_object(request, object_id)
        panels = self.panels(tenant) if tenant is not None else {}
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **panels})

    def panels(self, tenant: Tenant) -> dict[str, Any]:
        """The change page's context below the form; a subclass adds its own."""
        return {
            "stores": list(tenant.stores.order_by("created_at")[:200]),
            "api_keys": list(tenant.api_keys.order_by("-created_at")[:50]),
        }

    def save_model(self, request: HttpRequest, obj: Tenant, form: Any, change: bool) -> None:
        """Through the services: an unchanged tenant writes nothing; a change records the old and
        new values (``tenant_update``)."""
        if change:
            tenant_update(tenant=obj, changed=form.changed_data, actor=admin_actor(request))
        else:
            tenant_create(name=obj.name, tenant_id=obj.id, is_active=obj.is_active, actor=admin_actor(request))
            obj.refresh_from_db()  # the admin goes on with this instance (its log entry, the redirect)


_STORE_SEPARATORS = re.compile(r"[\s,]+")


def _shown(text: str) -> str:
    """A refused value as a form error quotes it: at most 40 characters."""
    return repr(text if len(text) <= 40 else f"{text[:40]}…")


class ApiKeyCreateForm(forms.Form):
    """What ``create_api_key`` offers: tenant, name, permissions, store and agent scope, rate
    limit and expiry, passed to the same service (``api_key_create``)."""

    tenant = forms.ModelChoiceField(queryset=Tenant.objects.order_by("name"))
    name = forms.CharField(max_length=200, required=False)
    can_read = forms.BooleanField(required=False, initial=True)
    can_write = forms.BooleanField(required=False)
    can_admin = forms.BooleanField(required=False)
    rate_limit = AsciiIntegerField(
        required=False,
        min_value=1,
        max_value=API_KEY_RATE_LIMIT_MAX,  # the column's range (tenants.services)
        help_text="Requests per minute (empty: none).",
    )
    expires_at = forms.DateTimeField(required=False, help_text="UTC, e.g. 2030-01-01 00:00 (empty: never).")
    store_ids = forms.CharField(
        label="Stores",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 40}),
        help_text=f"Store UUIDs the key is limited to, one a line or comma-separated, at most {STORE_IDS_MAX}"
        " (empty: every store).",
    )
    agent_id = forms.CharField(
        label="Agent",
        required=False,
        max_length=64,
        help_text="The agent UUID the key acts as (empty: no agent scope).",
    )

    def clean(self) -> dict[str, Any] | None:
        """A key grants at least one permission (as ``create_api_key`` and the service require)."""
        data = super().clean()
        if data is not None and not (data.get("can_read") or data.get("can_write") or data.get("can_admin")):
            raise forms.ValidationError("Tick at least one permission: read, write or admin.")
        return data

    def clean_store_ids(self) -> list[uuid.UUID]:
        """The store scope: UUIDs in ASCII (as the API's ``storeIds``), each once, at most
        ``STORE_IDS_MAX``; anything else is a form error naming what it refused."""
        texts = [text for text in _STORE_SEPARATORS.split(self.cleaned_data["store_ids"]) if text]
        parsed = {text: parse_uuid_text(text) for text in texts}
        refused = [text for text, store in parsed.items() if store is None]
        if refused:
            named = ", ".join(_shown(text) for text in refused[:3]) + (" …" if len(refused) > 3 else "")
            raise forms.ValidationError(f"Not a store UUID: {named}.")
        stores = list(dict.fromkeys(store for store in parsed.values() if store is not None))
        if len(stores) > STORE_IDS_MAX:
            raise forms.ValidationError(f"At most {STORE_IDS_MAX} stores ({len(stores)} given).")
        return stores

    def clean_agent_id(self) -> uuid.UUID | None:
        """The agent scope: one UUID in ASCII (Django's ``UUIDField`` also reads Arabic-Indic digits)."""
        text = self.cleaned_data["agent_id"].strip()
        if not text:
            return None
        agent = parse_uuid_text(text)
        if agent is None:
            raise forms.ValidationError(f"Not an agent UUID: {_shown(text)}.")
        return agent

    def clean_expires_at(self) -> datetime | None:
        value: datetime | None = self.cleaned_data["expires_at"]
        if value is not None and value <= timezone.now():
            raise forms.ValidationError("Must be in the future.")
        return value


@admin.register(ApiKey)
class ApiKeyAdmin(CredentialIdPages):
    """Keys are minted (the add page) and revoked (the list's action) through the services; a
    key's page is view-only: no form saves it (a save rewrote the row and could undo a revocation
    committed meanwhile, with no audit row)."""

    list_display = (
        "display_prefix",
        "tenant",
        "name",
        "can_read",
        "can_write",
        "can_admin",
        "active",
        "expires_at",
        "last_used_at",
    )
    list_filter = ("active", "can_admin")
    list_select_related = ("tenant",)
    raw_id_fields = ("tenant",)
    search_fields = ("=tenant__id", "display_prefix", "name")
    exclude = ("key_hash",)  # named by its credential id instead (tenants/admin_credential_ids.py)
    readonly_fields = (  # every field: a key is minted and revoked through the services, never edited
        "credential_id",
        "tenant",
        "name",
        "display_prefix",
        "store_ids",
        "agent_id",
        "can_read",
        "can_write",
        "can_admin",
        "rate_limit",
        "shared_rate_limits",
        "expires_at",
        "active",
        "created_at",
        "updated_at",
        "last_used_at",
        "revoked_at",
    )
    actions = ["revoke_keys"]

    @admin.display(description="Credential id")
    def credential_id(self, obj: ApiKey) -> str:
        return obj.hash_prefix

    def has_delete_permission(self, request: HttpRequest, obj: ApiKey | None = None) -> bool:
        return False  # revoke instead: the row is the record of the key

    def has_change_permission(self, request: HttpRequest, obj: ApiKey | None = None) -> bool:
        return False  # its page is shown read-only, and a POST to it is refused (403)

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        """The revoke action: staff who may change API keys (Django's ``tenants.change_apikey``)."""
        return bool(request.user.has_perm(f"{self.opts.app_label}.change_{self.opts.model_name}"))

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if request.method == "POST" and not self.has_revoke_permission(request):
            raise PermissionDenied  # the list's only POST is its action, which writes: 403, as the others
        return super().changelist_view(request, extra_context)

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """Mint a key through the service; the plaintext is shown once, on the next page."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ApiKeyCreateForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                issued = api_key_create(
                    tenant=data["tenant"],
                    name=data["name"],
                    can_read=data["can_read"],
                    can_write=data["can_write"],
                    can_admin=data["can_admin"],
                    store_ids=data["store_ids"],
                    agent_id=data["agent_id"],
                    rate_limit=data["rate_limit"],
                    expires_at=data["expires_at"],
                    actor=admin_actor(request),
                )
            except SequencerError as exc:  # what the form let through and the service refuses
                form.add_error(None, str(exc.detail))
                return self._create_page(request, form)
            context = {
                **self.admin_site.each_context(request),
                "title": "API key created",
                "key": issued.key,
                "api_key": issued.api_key,
                "opts": self.opts,
            }
            return TemplateResponse(request, "admin/tenants/apikey/created.html", context)
        return self._create_page(request, form)

    def _create_page(self, request: HttpRequest, form: ApiKeyCreateForm) -> HttpResponse:
        context = {**self.admin_site.each_context(request), "title": "Create API key", "form": form, "opts": self.opts}
        return TemplateResponse(request, "admin/tenants/apikey/create.html", context)

    @admin.action(description="Revoke selected API keys", permissions=["revoke"])
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        """Revoke each selected key (audited); one revoked already is left as it is, unrecorded."""
        revoked = already = 0
        for api_key in queryset:
            if api_key.active:
                api_key_revoke(api_key=api_key, actor=admin_actor(request))
                revoked += 1
            else:
                already += 1
        note = f"; {already} already revoked" if already else ""
        self.message_user(request, f"Revoked {revoked} API key(s){note}.", messages.SUCCESS)
