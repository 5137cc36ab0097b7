"""Admin pages for agent signing keys (composite key: not a ModelAdmin), one view per operation:
the list (``agent_key_view``), register and revoke.

Each POST is parsed by a Django form and calls one tenants service, which writes the audit log.
"""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from audit.services import admin_actor
from sequencer_project.api.errors import SequencerError
from sequencer_project.api.fields import field_value_error, hex_bytes
from tenants.errors import InvalidPublicKeyError
from tenants.forms import AsciiIntegerField, AsciiUUIDField
from tenants.selectors import agent_signing_key_recent_list
from tenants.services import AGENT_KEY_ID_MAX, agent_key_register, agent_key_revoke

LISTED_KEYS = 200


class AgentKeyListForm(forms.Form):
    """The list's filter: one tenant, or (empty) the newest keys of all."""

    tenant_id = AsciiUUIDField(required=False)


class AgentKeyRevokeForm(forms.Form):
    """One agent signing key, by its composite key."""

    tenant_id = AsciiUUIDField()
    agent_id = AsciiUUIDField()
    key_id = AsciiIntegerField(min_value=0, max_value=AGENT_KEY_ID_MAX)  # a u32 in ASCII digits, as the API's keyId


class AgentKeyRegisterForm(AgentKeyRevokeForm):
    """The key's composite key and its public key."""

    public_key = forms.CharField(max_length=66, help_text="32-byte Ed25519 public key, hex (0x optional).")

    def clean_public_key(self) -> bytes:
        """The API's hex reader (``sequencer_project.api.fields.hex_bytes``), its refusal as a form error."""
        try:
            return hex_bytes(
                self.cleaned_data["public_key"], "public_key", field_value_error(InvalidPublicKeyError), lengths=(32,)
            )
        except SequencerError as exc:
            raise forms.ValidationError(str(exc.detail)) from exc


def _list_url(tenant_id: uuid.UUID | None) -> str:
    url = reverse("admin:event_store_agent_keys")
    return f"{url}?tenant_id={tenant_id}" if tenant_id else url


@require_GET
def agent_key_view(request: HttpRequest) -> HttpResponse:
    """The keys of one tenant (``?tenant_id=``), or the 200 newest of all; the register form."""
    query = AgentKeyListForm(request.GET)
    shown: uuid.UUID | None = None
    if query.is_valid():
        shown = query.cleaned_data["tenant_id"]
    else:
        messages.error(request, "tenant_id is not a UUID.")
    keys = agent_signing_key_recent_list(tenant_id=shown, limit=LISTED_KEYS)
    context = {
        **admin.site.each_context(request),
        "title": "Agent signing keys",
        "keys": [(key, bytes(key.public_key).hex()) for key in keys],
        "form": AgentKeyRegisterForm(),
        "tenant_id": shown or "",
    }
    return TemplateResponse(request, "admin/event_store/agent_keys.html", context)


def agent_key_register_view(request: HttpRequest) -> HttpResponse:
    """GET: the register form. POST: register the key (audited), then back to the tenant's list;
    a refused form or key is shown again with its errors. The tenant must exist: an operator
    creates tenants on their own page (audited), never as a side effect of a key."""
    form = AgentKeyRegisterForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        data = form.cleaned_data
        try:
            agent_key_register(
                tenant_id=data["tenant_id"],
                agent_id=data["agent_id"],
                key_id=data["key_id"],
                public_key=data["public_key"],
                actor=admin_actor(request),
                create_missing_tenant=False,
            )
        except SequencerError as exc:  # an unknown tenant, a duplicate key id, a key no agent can hold
            field = exc.extensions.get("field")
            form.add_error(field if field in form.fields else None, str(exc.detail))
        else:
            messages.success(request, f"Registered key {data['key_id']} of agent {data['agent_id']}.")
            return HttpResponseRedirect(_list_url(data["tenant_id"]))
    context = {**admin.site.each_context(request), "title": "Register an agent signing key", "form": form}
    return TemplateResponse(request, "admin/event_store/agent_key_register.html", context)


@require_POST
def agent_key_revoke_view(request: HttpRequest) -> HttpResponse:
    """Revoke one key (audited), then back to its tenant's list; one revoked already is left as it
    is (no audit row) and said so."""
    form = AgentKeyRevokeForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Bad request: {form.errors.as_text()}")
        return HttpResponseRedirect(_list_url(None))
    data = form.cleaned_data
    named = f"key {data['key_id']} of agent {data['agent_id']}"
    asked_at = timezone.now()
    try:
        key = agent_key_revoke(
            tenant_id=data["tenant_id"], agent_id=data["agent_id"], key_id=data["key_id"], actor=admin_actor(request)
        )
    except SequencerError as exc:
        messages.error(request, str(exc.detail))
    else:
        if key.revoked_at is not None and key.revoked_at < asked_at:  # revoked before this request
            messages.info(request, f"The {named} was already revoked.")
        else:
            messages.success(request, f"Revoked {named}.")
    return HttpResponseRedirect(_list_url(data["tenant_id"]))
