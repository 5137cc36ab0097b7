"""Admin page for agent signing keys (composite key: not a ModelAdmin): list, register, revoke.

Register and revoke call the tenants services, which write the audit log.
"""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse

from sequencer_project.api.errors import SequencerError
from tenants.selectors import agent_signing_key_recent_list
from tenants.services import agent_key_register, agent_key_revoke

LISTED_KEYS = 200


def admin_actor(request: HttpRequest) -> str:
    return f"admin:{request.user.get_username()}"


class AgentKeyRegisterForm(forms.Form):
    tenant_id = forms.UUIDField()
    agent_id = forms.UUIDField()
    key_id = forms.IntegerField(min_value=0, max_value=2**32 - 1)
    public_key = forms.CharField(max_length=66, help_text="32-byte Ed25519 public key, hex.")

    def clean_public_key(self) -> bytes:
        text = self.cleaned_data["public_key"].strip().removeprefix("0x")
        try:
            key = bytes.fromhex(text)
        except ValueError as exc:
            raise forms.ValidationError("Not hex.") from exc
        if len(key) != 32:
            raise forms.ValidationError(f"Must be 32 bytes, not {len(key)}.")
        return key


def agent_key_view(request: HttpRequest) -> HttpResponse:
    """GET: keys (one tenant, or the 200 newest). POST: register or revoke (audited)."""
    form = AgentKeyRegisterForm()
    if request.method == "POST":
        try:
            if request.POST.get("action") == "revoke":
                tenant_id = uuid.UUID(request.POST["tenant_id"])
                agent_id = uuid.UUID(request.POST["agent_id"])
                key_id = int(request.POST["key_id"])
                agent_key_revoke(tenant_id=tenant_id, agent_id=agent_id, key_id=key_id, actor=admin_actor(request))
                messages.success(request, f"Revoked key {key_id} of agent {agent_id}.")
                return HttpResponseRedirect(f"?tenant_id={tenant_id}")
            form = AgentKeyRegisterForm(request.POST)
            if form.is_valid():
                data = form.cleaned_data
                agent_key_register(
                    tenant_id=data["tenant_id"],
                    agent_id=data["agent_id"],
                    key_id=data["key_id"],
                    public_key=data["public_key"],
                    actor=admin_actor(request),
                )
                messages.success(request, f"Registered key {data['key_id']} of agent {data['agent_id']}.")
                return HttpResponseRedirect(f"?tenant_id={data['tenant_id']}")
        except (KeyError, ValueError) as exc:
            messages.error(request, f"Bad request: {exc}")
        except SequencerError as exc:
            messages.error(request, str(exc.detail))
    raw_tenant = request.GET.get("tenant_id", "").strip()
    shown: uuid.UUID | None = None
    try:
        shown = uuid.UUID(raw_tenant) if raw_tenant else None
    except ValueError:
        messages.error(request, "tenant_id is not a UUID.")
    keys = agent_signing_key_recent_list(tenant_id=shown, limit=LISTED_KEYS)
    context = {
        **admin.site.each_context(request),
        "title": "Agent signing keys",
        "keys": [(key, bytes(key.public_key).hex()) for key in keys],
        "form": form,
        "tenant_id": shown or "",
    }
    return TemplateResponse(request, "admin/event_store/agent_keys.html", context)
